"""HTTP/1.1 for the reference server: one request and its response on a connection,
kept alive when the client asks and the server is not draining. The response state is
the one HTTP/2 shares (_exchange.py); what is HTTP/1.1's own is the framing (a body
with Content-Length, chunked when more is to come, HEAD without one).
"""

from __future__ import annotations

import asyncio
import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING or __package__:
    from . import _wire
    from ._exchange import App, Message, ResponseState, Scope, first_of
    from ._options import log
else:  # run as the reference server's sibling: its directory is sys.path[0]
    import _wire
    from _exchange import App, Message, ResponseState, Scope, first_of
    from _options import log

if TYPE_CHECKING:
    from .reference_server import Worker


class HttpExchange(ResponseState):
    """One HTTP request and its response; the connection is kept alive when the client
    asks for it and the server is not draining (or ``--keepalive-at-stop keep``)."""

    def __init__(self, app: App, head: _wire.RequestHead, scope: Scope, body: bytes,
                 writer: asyncio.StreamWriter, worker: Worker) -> None:
        super().__init__(app, scope, head.method)
        self.worker = worker
        self.keep_alive = (head.http_version == "1.1"
                           and b"close" not in head.header_tokens(b"connection"))
        self._chunked = False  # no Content-Length and more to come: Transfer-Encoding
        self.body = body
        self.writer = writer
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._streaming = False  # the app gave a Content-Length: write chunks as they come
        self._buffer = bytearray()

    async def run(self) -> None:
        try:
            await self.app(self.scope, self.receive, self.send)
        except Exception:
            log(f"http: the app raised:\n{traceback.format_exc()}")
            if not self.started:
                self.writer.write(_wire.simple_response(500))
            return
        if not self.started:
            log("http: the app returned without a response")
            self.writer.write(_wire.simple_response(500))
        elif not self.complete.is_set():
            log("http: the app returned mid-response; cutting the connection")

    async def receive(self) -> Message:
        if (request := self.request(self.body)) is not None:
            return request
        # We never read more, so "disconnect" is after the response or when we let go.
        await first_of(self.complete.wait(), self.gone.wait())
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = self.accept(message)
        if kind == "http.response.start":
            self._status = int(message["status"])
            # We own the connection's framing: drop the app's Connection/Transfer-Encoding.
            self._headers = [
                (bytes(name).lower(), bytes(value))
                for name, value in message.get("headers", [])
                if bytes(name).lower() not in (b"connection", b"transfer-encoding")
            ]
            self._streaming = any(name == b"content-length" for name, _ in self._headers)
            if self._streaming:
                self._write_head()
        else:  # http.response.body
            chunk = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if not self._streaming and more and not self._buffer:
                self._streaming = self._chunked = True  # an open-ended stream (SSE, ...)
                self._write_head()
            if self._streaming:
                if not self.head_only and chunk:
                    self.writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if self._chunked
                                      else chunk)
                if not more and self._chunked and not self.head_only:
                    self.writer.write(b"0\r\n\r\n")
            else:
                self._buffer += chunk
            if not more:
                if not self._streaming:
                    self._headers.append((b"content-length", str(len(self._buffer)).encode()))
                    self._write_head()
                    if not self.head_only:
                        self.writer.write(bytes(self._buffer))
                self.complete.set()
            await self.writer.drain()

    def _write_head(self) -> None:
        headers = list(self._headers)
        if self._chunked:
            headers.append((b"transfer-encoding", b"chunked"))
        if self.worker.draining and self.worker.options.keepalive_at_stop == "close":
            self.keep_alive = False
        if not self.keep_alive:
            headers.append((b"connection", b"close"))
        self.writer.write(_wire.response_head(self._status, headers))
