"""`RemoteLink`: the learner side of one connection to `warl serve`.

It connects with the bearer token, reads the ``hello`` (refusing another protocol version with
one line saying which side to upgrade), then sends one request at a time and waits for the
response with the same ``id`` (a response to an earlier, abandoned request is skipped). A
closed connection or a timeout is `LinkDown`; the caller decides whether to reconnect. An
``error`` response is `RemoteError`, with the server's own line.
"""

from __future__ import annotations

import contextlib
import itertools
import ssl as ssl_module
import time
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from warl.core.errors import WarlError
from warl.core.remote.auth import bearer
from warl.core.remote.wire import (
    DEFAULT_MAX_MESSAGE,
    PROTOCOL,
    VERSION,
    ProtocolError,
    decode,
    encode,
)


class LinkDown(WarlError, ConnectionError):
    """The connection closed, failed or timed out."""


class RemoteError(WarlError, RuntimeError):
    """The serving side answered with an error."""


class Unauthorized(WarlError, PermissionError):
    """The serving side refused the token (HTTP 401)."""


class RemoteLink:
    """One authenticated connection; `hello` holds the serving side's handshake."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0,
                 max_message: int = DEFAULT_MAX_MESSAGE, compress: str | None = None,
                 ca_file: str | None = None, heartbeat: float = 5.0) -> None:
        self.url, self.timeout, self.max_message, self.compress = url, timeout, max_message, \
            compress
        context = None
        if url.startswith("wss://"):
            context = ssl_module.create_default_context(cafile=ca_file)
        try:
            self.connection: ClientConnection = connect(
                url, additional_headers=bearer(token), open_timeout=timeout, ssl=context,
                max_size=max_message, compression=None, ping_interval=heartbeat,
                ping_timeout=heartbeat, proxy=None)
            # Entered as a context manager would be: this object owns it and closes it.
            self.connection.__enter__()
        except InvalidStatus as exc:
            status, body = exc.response.status_code, exc.response.body or b""
            if status == 401:
                raise Unauthorized(f"{url} refused the token (401): check the token file or "
                                   f"WARL_REMOTE_TOKEN against the server's") from None
            if status in (400, 429):
                raise RemoteError(f"{url} refused the connection ({status}): "
                                  f"{body.decode(errors='replace').strip()}") from None
            raise LinkDown(f"{url}: {exc}") from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise LinkDown(f"cannot connect to {url}: {exc}; is `warl serve` running there?") \
                from None
        self._ids = itertools.count(1)
        try:
            self.hello = self._receive(None)
        except BaseException:
            self.close()
            raise
        if self.hello.get("type") != "hello" or self.hello.get("protocol") != PROTOCOL:
            self.close()
            raise ProtocolError(f"{url} is not a warl remote env (no {PROTOCOL} hello)")
        if self.hello.get("version") != VERSION:
            self.close()
            raise ProtocolError(f"{url} speaks {PROTOCOL} version {self.hello.get('version')}; "
                                f"this warl speaks version {VERSION}: upgrade the older side")

    def request(self, message: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send ``message`` and return its response (`RemoteError` for an error response)."""
        request_id = next(self._ids)
        frame = encode({**message, "id": request_id,
                        **({"compress": self.compress} if self.compress else {})},
                       max_size=self.max_message)
        try:
            self.connection.send(frame)
        except (ConnectionClosed, OSError) as exc:
            raise LinkDown(f"{self.url}: the connection closed ({exc})") from None
        reply = self._receive(request_id, timeout)
        if reply.get("type") == "error":
            raise RemoteError(f"{self.url}: {reply.get('error')}")
        return reply

    def _receive(self, request_id: int | None, timeout: float | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LinkDown(f"{self.url}: no response within "
                               f"{self.timeout if timeout is None else timeout:g} s")
            try:
                frame = self.connection.recv(timeout=left)
            except TimeoutError:
                continue
            except (ConnectionClosed, OSError) as exc:
                raise LinkDown(f"{self.url}: the connection closed ({exc})") from None
            reply = decode(frame, max_size=self.max_message)
            if request_id is None or reply.get("id") in (request_id, None):
                return reply

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection must not raise
            self.connection.close()


class ControlLink:
    """The ``control`` stream of a server: acknowledge, or read back, any stream's outbox rows
    (what a learner does at its checkpoints and on resume)."""

    def __init__(self, url: str, token: str, **kwargs: Any) -> None:
        self.link = RemoteLink(f"{url.rstrip('/')}/control", token, **kwargs)

    def ack(self, stream: str, epoch: int, seq: int) -> int:
        reply = self.link.request({"type": "ack", "stream": stream, "epoch": epoch, "seq": seq})
        return int(reply["dropped"])

    def pending(self, stream: str, after: tuple[int, int] = (0, -1)) -> list[dict[str, Any]]:
        """Every row of ``stream`` after ``after``, in order, all pages."""
        rows: list[dict[str, Any]] = []
        while True:
            reply = self.link.request({"type": "pending", "stream": stream,
                                       "after": list(after)})
            rows += reply["steps"]
            if not reply.get("more") or not reply["steps"]:
                return rows
            after = (int(rows[-1]["epoch"]), int(rows[-1]["seq"]))

    def close(self) -> None:
        self.link.close()
