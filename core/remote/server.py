"""`EnvServer`: the WebSocket endpoint of `warl serve`.

The bearer token is checked during the HTTP upgrade (401 without it, constant-time). Once
connected, the server sends its ``hello`` first (the openpi pattern: metadata before any
request), then answers each request frame with one response frame carrying the same ``id``.
Requests: ``reset``, ``step`` (up to ``chunk_max`` actions), ``ack`` (the learner made steps
durable up to (epoch, seq)), ``pending`` (unacknowledged steps after (epoch, seq), in pages),
``render`` (the served env's ``render()`` frame, for videos), ``ping``. A malformed,
oversized or unknown frame gets an ``error`` response naming what was wrong, and the
connection stays usable; frames beyond the rate limit are refused the same way.
WebSocket pings are the heartbeat: a learner silent past ``heartbeat`` seconds is dropped and
the robot holds position.

The ``control`` stream has no env: a learner acknowledges and reads back any stream's outbox
rows through it (``ack`` and ``pending`` with a ``stream`` field), so that the process that
makes steps durable (the learner, writing checkpoints) need not be the one that collects them
(a rollout worker).

Streams: the URL's path names the learner-side env a connection serves (``/train``,
``/eval``; ``/`` is ``default``), each with its own `ServedEnv` made on first use by
``make_stream`` (a simulator gives each its own env; a robot driver shares its one arm), up to
``max_streams``. One connection per stream: a new authenticated connection replaces the
previous one of its stream (the learner reconnecting after a network fault).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from warl.core.remote.auth import authorized
from warl.core.remote.outbox import Outbox
from warl.core.remote.serving import ServedEnv
from warl.core.remote.wire import (
    DEFAULT_MAX_MESSAGE,
    PROTOCOL,
    STREAM_PATTERN,
    VERSION,
    ProtocolError,
    decode,
    encode,
    field,
)

log = logging.getLogger("warl.serve")
PENDING_PAGE = 64


class RateLimit:
    """A token bucket: ``rate`` messages per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate, self.capacity = rate, burst or max(rate, 1.0)
        self.tokens, self.stamp = self.capacity, time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


CONTROL = "control"


class Control:
    """The ``control`` stream: the outbox without an env."""

    stream = CONTROL

    def __init__(self, outbox: Outbox, env_id: str) -> None:
        self.outbox, self.env_id = outbox, env_id

    def hello(self, max_message: int) -> dict[str, Any]:
        return {"type": "hello", "protocol": PROTOCOL, "version": VERSION, "stream": CONTROL,
                "env_id": self.env_id, "max_message": max_message}

    def link_lost(self) -> None:
        pass


def stream_of(path: str) -> str | None:
    """The stream a request path names (``/`` is ``default``), or None when malformed."""
    name = path.split("?", 1)[0].strip("/") or "default"
    return name if STREAM_PATTERN.match(name) else None


class EnvServer:
    """Serves `ServedEnv` streams on ``host:port`` (port 0 picks a free one: see `port`).

    ``make_stream(name)`` builds the `ServedEnv` of a new stream; a `ServedEnv` given instead
    serves the ``default`` stream only.
    """

    def __init__(self, make_stream: Callable[[str], ServedEnv] | ServedEnv, token: str, *,
                 host: str = "127.0.0.1", port: int = 8765, ssl: Any = None,
                 max_message: int = DEFAULT_MAX_MESSAGE, rate: float = 2000.0,
                 heartbeat: float = 5.0, max_streams: int = 8,
                 outbox: Outbox | None = None, env_id: str = "") -> None:
        if isinstance(make_stream, ServedEnv):
            single = make_stream
            self.streams: dict[str, ServedEnv] = {single.stream: single}
            max_streams = 1
            outbox, env_id = single.outbox, single.env_id
        else:
            self.streams = {}
        # Without the outbox (a factory given none), there is no control stream.
        self.control = Control(outbox, env_id) if outbox is not None else None
        self._make_stream = make_stream
        self.max_streams = max_streams
        self.token, self.max_message = token, max_message
        self.rate = rate
        self.connections = 0
        self.errors = 0
        self._current: dict[str, ServerConnection] = {}
        self._lock = threading.Lock()
        self._server: Server = serve(
            self._handle, host, port, ssl=ssl, process_request=self._authorize,
            max_size=max_message, compression=None, ping_interval=heartbeat,
            ping_timeout=heartbeat, logger=log)
        self.host, self.port = self._server.socket.getsockname()[:2]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "wss" if self._server.socket.__class__.__name__ == "SSLSocket" else "ws"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def served(self) -> ServedEnv:
        """The ``default`` stream (single-stream use)."""
        return self.streams["default"]

    def _authorize(self, connection: ServerConnection, request: Any) -> Any:
        if not authorized(request.headers.get("Authorization"), self.token):
            log.warning("refused a connection from %s: missing or wrong token",
                        connection.remote_address)
            return connection.respond(HTTPStatus.UNAUTHORIZED,
                                      "a valid bearer token is required\n")
        stream = stream_of(request.path)
        if stream is None:
            return connection.respond(HTTPStatus.BAD_REQUEST, "the path must name a stream: "
                                      "letters, digits, '.', '_', '-' (at most 64)\n")
        if stream == CONTROL:
            return None if self.control is not None else connection.respond(
                HTTPStatus.BAD_REQUEST, "this server has no control stream\n")
        with self._lock:
            if stream not in self.streams and len(self.streams) >= self.max_streams:
                return connection.respond(
                    HTTPStatus.TOO_MANY_REQUESTS,
                    f"this server serves at most {self.max_streams} stream(s): "
                    f"{sorted(self.streams)}\n")
            if stream not in self.streams:
                assert callable(self._make_stream)
                self.streams[stream] = self._make_stream(stream)
        return None

    def _handle(self, connection: ServerConnection) -> None:
        stream = stream_of(connection.request.path if connection.request else "/") or "default"
        served: Any = self.control if stream == CONTROL else self.streams[stream]
        with self._lock:
            previous = self._current.get(stream)
            self._current[stream] = connection
            self.connections += 1
        if previous is not None:
            previous.close(4000, "replaced by a new connection")
        limit = RateLimit(self.rate)
        try:
            connection.send(encode(served.hello(self.max_message)))
            for frame in connection:
                reply = self._answer(served, frame) if limit.allow() else self._error(
                    None, f"rate limit: more than {self.rate:g} messages per second")
                connection.send(reply)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                mine = self._current.get(stream) is connection
                if mine:
                    del self._current[stream]
            if mine:  # nobody drives this stream's env now
                served.link_lost()

    def _answer(self, served: Any, frame: Any) -> bytes:
        request_id = None
        try:
            message = decode(frame, max_size=self.max_message)
            request_id = message.get("id")
            reply = self._dispatch(served, message)
            reply["id"] = request_id
            return encode(reply, compress=message.get("compress"), max_size=self.max_message)
        except ProtocolError as exc:
            return self._error(request_id, str(exc))
        except Exception as exc:  # the env itself failed: report it, keep serving
            log.exception("request failed")
            return self._error(request_id, f"the served env failed: {type(exc).__name__}: {exc}")

    def _error(self, request_id: Any, text: str) -> bytes:
        self.errors += 1
        return encode({"type": "error", "id": request_id if isinstance(request_id, int) else None,
                       "error": text})

    def _dispatch(self, served: Any, message: dict[str, Any]) -> dict[str, Any]:
        kind = message["type"]
        if kind in ("ack", "pending"):
            stream = field(message, "stream", str) if served.stream == CONTROL else served.stream
            return self._durability(served.outbox, stream, message)
        if kind == "ping":
            return {"type": "pong", "time": time.time()}
        if served.stream == CONTROL:
            raise ProtocolError(f"the control stream answers ack, pending and ping, not "
                                f"{kind!r}")
        if kind == "reset":
            seed = message.get("seed")
            if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
                raise ProtocolError("'reset' message: seed must be an integer or null")
            return served.reset(seed)
        if kind == "step":
            return served.step(message.get("actions"))
        if kind == "render":
            return served.render()
        raise ProtocolError(f"unknown message type {kind!r} (expected reset, step, ack, "
                            f"pending, render or ping)")

    def _durability(self, outbox: Outbox, stream: str, message: dict[str, Any]
                    ) -> dict[str, Any]:
        """``ack`` (drop ``stream``'s rows up to (epoch, seq)) or ``pending`` (its rows after
        ``after``, in pages under half the message limit)."""
        if message["type"] == "ack":
            dropped = outbox.ack(stream, field(message, "epoch", int), field(message, "seq", int))
            return {"type": "ack", "dropped": dropped}
        after = field(message, "after", list)
        if len(after) != 2 or not all(isinstance(v, int) for v in after):
            raise ProtocolError("'pending' message: after must be [epoch, seq]")
        rows: list[dict[str, Any]] = []
        size, more, budget = 0, False, self.max_message // 2
        for _, _, frame in outbox.pending(stream, (after[0], after[1])):
            if rows and (len(rows) == PENDING_PAGE or size + len(frame) > budget):
                more = True
                break
            rows.append(decode(frame, max_size=self.max_message))
            size += len(frame)
        return {"type": "pending", "steps": rows, "more": more}

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start(self) -> EnvServer:
        """Serve in a background thread (tests, in-process use); idempotent."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> EnvServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
