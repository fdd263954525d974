"""Cleartext HTTP/2 with prior knowledge (h2c) for the reference server, on the h2 package.

Only what the controls need: requests with bodies (flow control acknowledged as they
arrive), responses as HEADERS and DATA frames sent within the client's flow-control
window, streams reset by either side, GOAWAY at the end. No server push, no priorities,
no WebSockets over HTTP/2 (RFC 8441). The server imports this module only with --http2,
so without it the reference server stays standard library only.

A ``Connection`` turns frames into ``Stream`` objects and hands each complete request
to the server; an ``Exchange`` is one stream's ASGI ``http`` exchange, with the same
contract as the HTTP/1.1 one (``started``, ``complete``, ``gone``).
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

if TYPE_CHECKING or __package__:
    from . import _wire
    from ._exchange import App, Message, ResponseState, first_of
else:  # run as a script's sibling: its directory is sys.path[0]
    import _wire
    from _exchange import App, Message, ResponseState, first_of

#: Headers of one connection's framing, which HTTP/2 forbids (RFC 9113 section 8.2.2).
CONNECTION_HEADERS = frozenset({b"connection", b"keep-alive", b"proxy-connection",
                                b"transfer-encoding", b"upgrade"})
READ_SIZE = 65536


class Stream:
    """One request stream: what the client sent, and the way to answer it."""

    def __init__(self, connection: Connection, stream_id: int,
                 headers: list[tuple[bytes, bytes]]) -> None:
        self.connection = connection
        self.id = stream_id
        pseudo = {name: value for name, value in headers if name.startswith(b":")}
        regular = [(name, value) for name, value in headers if not name.startswith(b":")]
        if b":authority" in pseudo:  # ASGI: :authority becomes the first host header
            regular = [(b"host", pseudo[b":authority"]),
                       *((n, v) for n, v in regular if n != b"host")]
        self.head = _wire.RequestHead(
            method=pseudo.get(b":method", b"GET").decode("ascii", "replace").upper(),
            target=pseudo.get(b":path", b"/"), http_version="2", headers=regular)
        self.body = bytearray()
        #: the client reset the stream, or the connection is gone
        self.reset = asyncio.Event()

    async def respond(self, status: int, headers: list[tuple[bytes, bytes]],
                      end: bool = False) -> None:
        await self.connection.send_headers(self.id, status, headers, end)

    async def send_body(self, chunk: bytes, end: bool) -> None:
        await self.connection.send_data(self.id, chunk, end)

    def cancel(self) -> None:
        """Reset the stream: the response will not be completed."""
        self.connection.reset_stream(self.id)


class Connection:
    """One HTTP/2 connection whose preface the server already read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 on_request: Callable[[Stream], None]) -> None:
        self.reader, self.writer = reader, writer
        self.on_request = on_request
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.streams: dict[int, Stream] = {}  #: opened and not yet answered in full
        self.closed = False
        self._window = asyncio.Event()  # set when the peer may have opened a window

    def idle(self) -> bool:
        return not self.streams

    async def serve(self) -> None:
        """Read frames until the client or we close the connection."""
        self.h2.initiate_connection()
        self.h2.receive_data(_wire.HTTP2_PREFACE)  # read by the server to recognise h2c
        try:
            await self._flush()
            while not self.closed:
                data = await self.reader.read(READ_SIZE)
                if not data:
                    break
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError:
                    await self._flush()  # h2 queued the GOAWAY that says why
                    break
                for event in events:
                    self._on_event(event)
                await self._flush()
        finally:
            self.closed = True
            for stream in self.streams.values():
                stream.reset.set()
            self._window.set()

    def _on_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            headers = [(bytes(n), bytes(v)) for n, v in event.headers or []]
            self.streams[event.stream_id] = Stream(self, event.stream_id, headers)
        elif isinstance(event, h2.events.DataReceived):
            stream = self.streams.get(event.stream_id)
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if stream is not None:
                stream.body += event.data or b""
                if len(stream.body) > _wire.MAX_BODY:
                    self.reset_stream(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
        elif isinstance(event, h2.events.StreamEnded):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                self.on_request(stream)
        elif isinstance(event, h2.events.StreamReset):
            stream = self.streams.pop(event.stream_id, None)
            if stream is not None:
                stream.reset.set()
            self._window.set()
        elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
            self._window.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.closed = True

    async def _flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.writer.write(data)
            await self.writer.drain()

    def _open(self, stream_id: int) -> Stream:
        stream = self.streams.get(stream_id)
        if self.closed or stream is None or stream.reset.is_set():
            raise ConnectionResetError(f"HTTP/2 stream {stream_id} is closed")
        return stream

    async def send_headers(self, stream_id: int, status: int,
                           headers: list[tuple[bytes, bytes]], end: bool) -> None:
        self._open(stream_id)
        fields = [(b":status", str(status).encode())]
        fields += [(name, value) for name, value in headers if name not in CONNECTION_HEADERS]
        self.h2.send_headers(stream_id, fields, end_stream=end)
        if end:
            self.streams.pop(stream_id, None)
        await self._flush()

    async def send_data(self, stream_id: int, data: bytes, end: bool) -> None:
        """Send within the peer's flow-control window, waiting for it to open as needed."""
        if not data and not end:
            return
        view = memoryview(data)
        while True:
            self._open(stream_id)
            size = min(self.h2.local_flow_control_window(stream_id),
                       self.h2.max_outbound_frame_size)
            if size <= 0 and view:
                self._window.clear()
                await self._window.wait()  # a WINDOW_UPDATE, a reset or the end
                continue
            part, view = view[:size], view[size:]
            self.h2.send_data(stream_id, bytes(part), end_stream=end and not view)
            await self._flush()
            if not view:
                break
        if end:
            self.streams.pop(stream_id, None)

    def reset_stream(self, stream_id: int,
                     code: int = h2.errors.ErrorCodes.INTERNAL_ERROR) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream is not None:
            stream.reset.set()
        if not self.closed:
            try:
                self.h2.reset_stream(stream_id, code)
            except h2.exceptions.ProtocolError:  # already closed on the wire
                return
            self.writer.write(self.h2.data_to_send())

    def go_away(self) -> None:
        """GOAWAY (no error) and close: the server stops, or the client is done."""
        if not self.closed:
            self.closed = True
            self.h2.close_connection()
            self.writer.write(self.h2.data_to_send())
        self.writer.close()


class Exchange(ResponseState):
    """One stream's ASGI ``http`` exchange: the response state HTTP/1.1 has too
    (_exchange.py), sent as HEADERS and DATA frames."""

    carrier = "stream"
    where = "an HTTP/2 stream"

    def __init__(self, app: App, scope: dict[str, Any], stream: Stream,
                 log: Callable[[str], None]) -> None:
        super().__init__(app, scope, stream.head.method)
        self.stream = stream
        self.log = log

    async def run(self) -> None:
        try:
            await self.app(self.scope, self.receive, self.send)
        except Exception:
            self.log(f"http/2: the app raised:\n{traceback.format_exc()}")
        if not self.started and not self.stream.reset.is_set():
            self.log("http/2: no response from the app; answering 500")
            body = b"Internal Server Error\n"
            await self.stream.respond(500, [(b"content-type", b"text/plain; charset=utf-8"),
                                            (b"content-length", str(len(body)).encode())])
            await self.stream.send_body(body, end=True)
        elif not self.complete.is_set():
            self.stream.cancel()  # an unfinished response: reset, never a truncated "200"

    async def receive(self) -> Message:
        if (request := self.request(bytes(self.stream.body))) is not None:
            return request
        await first_of(self.complete.wait(), self.gone.wait(), self.stream.reset.wait())
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.accept(message) == "http.response.start":
            headers = [(bytes(name).lower(), bytes(value))
                       for name, value in message.get("headers", [])]
            await self.stream.respond(int(message["status"]), headers)
        else:  # http.response.body
            more = bool(message.get("more_body", False))
            chunk = b"" if self.head_only else bytes(message.get("body", b""))
            await self.stream.send_body(chunk, end=not more)
            if not more:
                self.complete.set()
