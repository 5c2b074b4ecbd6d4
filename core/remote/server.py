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
the robot holds position. One learner at a time: a new authenticated connection replaces the
previous one (the learner reconnecting after a network fault).
"""

from __future__ import annotations

import logging
import threading
import time
from http import HTTPStatus
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from warl.core.remote.auth import authorized
from warl.core.remote.serving import ServedEnv
from warl.core.remote.wire import DEFAULT_MAX_MESSAGE, ProtocolError, decode, encode, field

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


class EnvServer:
    """Serves one `ServedEnv` on ``host:port`` (port 0 picks a free one: see `port`)."""

    def __init__(self, served: ServedEnv, token: str, *, host: str = "127.0.0.1",
                 port: int = 8765, ssl: Any = None, max_message: int = DEFAULT_MAX_MESSAGE,
                 rate: float = 2000.0, heartbeat: float = 5.0) -> None:
        self.served, self.token, self.max_message = served, token, max_message
        self.rate = rate
        self.connections = 0
        self.errors = 0
        self._current: ServerConnection | None = None
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

    def _authorize(self, connection: ServerConnection, request: Any) -> Any:
        if authorized(request.headers.get("Authorization"), self.token):
            return None
        log.warning("refused a connection from %s: missing or wrong token",
                    connection.remote_address)
        return connection.respond(HTTPStatus.UNAUTHORIZED, "a valid bearer token is required\n")

    def _handle(self, connection: ServerConnection) -> None:
        with self._lock:
            previous, self._current = self._current, connection
            self.connections += 1
        if previous is not None:
            previous.close(4000, "replaced by a new connection")
        limit = RateLimit(self.rate)
        try:
            connection.send(encode(self.served.hello(self.max_message)))
            for frame in connection:
                reply = self._answer(frame) if limit.allow() else self._error(
                    None, f"rate limit: more than {self.rate:g} messages per second")
                connection.send(reply)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                mine = self._current is connection
                if mine:
                    self._current = None
            if mine:  # nobody drives the robot now
                self.served.link_lost()

    def _answer(self, frame: Any) -> bytes:
        request_id = None
        try:
            message = decode(frame, max_size=self.max_message)
            request_id = message.get("id")
            reply = self._dispatch(message)
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

    def _dispatch(self, message: dict[str, Any]) -> dict[str, Any]:
        kind = message["type"]
        if kind == "reset":
            seed = message.get("seed")
            if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
                raise ProtocolError("'reset' message: seed must be an integer or null")
            return self.served.reset(seed)
        if kind == "step":
            return self.served.step(message.get("actions"))
        if kind == "ack":
            dropped = self.served.outbox.ack(field(message, "epoch", int),
                                             field(message, "seq", int))
            return {"type": "ack", "dropped": dropped}
        if kind == "pending":
            after = field(message, "after", list)
            if len(after) != 2 or not all(isinstance(v, int) for v in after):
                raise ProtocolError("'pending' message: after must be [epoch, seq]")
            rows: list[dict[str, Any]] = []
            size, more, budget = 0, False, self.max_message // 2
            for _, _, frame in self.served.outbox.pending((after[0], after[1])):
                # A page stays under half the message limit, whatever the cameras weigh.
                if rows and (len(rows) == PENDING_PAGE or size + len(frame) > budget):
                    more = True
                    break
                rows.append(decode(frame, max_size=self.max_message))
                size += len(frame)
            return {"type": "pending", "steps": rows, "more": more}
        if kind == "render":
            return self.served.render()
        if kind == "ping":
            return {"type": "pong", "time": time.time()}
        raise ProtocolError(f"unknown message type {kind!r} (expected reset, step, ack, "
                            f"pending, render or ping)")

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
