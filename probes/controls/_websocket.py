"""WebSockets for the reference server: the handshake, and a reader task turning frames
into ASGI events (RFC 6455 framing in _wire.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING or __package__:
    from . import _wire
    from ._exchange import App, Message, Scope
    from ._options import WS_CLOSE_TIMEOUT_S, log
else:  # run as the reference server's sibling: its directory is sys.path[0]
    import _wire
    from _exchange import App, Message, Scope
    from _options import WS_CLOSE_TIMEOUT_S, log


class WebSocketSession:
    """One WebSocket: the handshake, a reader task turning frames into ASGI events."""

    def __init__(self, app: App, head: _wire.RequestHead, scope: Scope,
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        protocols = head.header(b"sec-websocket-protocol") or b""
        self.app = app
        self.scope = {
            **scope,
            "type": "websocket",
            "scheme": "ws",
            "subprotocols": [p.strip().decode("latin-1") for p in protocols.split(b",")
                             if p.strip()],
        }
        self.key = head.header(b"sec-websocket-key") or b""
        self.reader = reader
        self.writer = writer
        self.state = "connecting"  # -> open -> closed
        self._connect_sent = False
        self._events: asyncio.Queue[Message] = asyncio.Queue()
        self._disconnect: Message | None = None
        self._reader_task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            await self.app(self.scope, self.receive, self.send)
        except Exception:
            log(f"websocket: the app raised:\n{traceback.format_exc()}")
            if self.state == "connecting":
                self.writer.write(_wire.simple_response(500))
            elif self.state == "open":
                await self._close(1011, "")
        else:
            if self.state == "connecting":  # returned without accepting: reject it
                self.writer.write(_wire.simple_response(403))
            elif self.state == "open":
                await self._close(1000, "")
        finally:
            if self._reader_task is not None:
                self._reader_task.cancel()

    async def receive(self) -> Message:
        if not self._connect_sent:
            self._connect_sent = True
            return {"type": "websocket.connect"}
        if self._disconnect is not None and self._events.empty():
            return self._disconnect  # keep answering "disconnect" once gone
        return await self._events.get()

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            if self.state != "connecting":
                raise RuntimeError("websocket.accept sent twice or after close")
            headers = [(bytes(n).lower(), bytes(v)) for n, v in message.get("headers", [])]
            self.writer.write(_wire.websocket_handshake(self.key, message.get("subprotocol"),
                                                        headers))
            self.state = "open"
            self._reader_task = asyncio.get_running_loop().create_task(self._read_frames())
        elif kind == "websocket.send":
            if self.state != "open":
                raise ConnectionResetError("websocket.send on a closed WebSocket")
            if message.get("text") is not None:
                self.writer.write(_wire.encode_frame(_wire.OP_TEXT, message["text"].encode()))
            else:
                self.writer.write(_wire.encode_frame(_wire.OP_BINARY,
                                                     bytes(message.get("bytes") or b"")))
        elif kind == "websocket.close":
            if self.state == "connecting":
                self.writer.write(_wire.simple_response(403))
                self.state = "closed"
            elif self.state == "open":
                await self._close(int(message.get("code", 1000)),
                                  str(message.get("reason") or ""))
        else:
            raise RuntimeError(f"unexpected message {kind!r} on a websocket")
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    async def going_away(self) -> None:
        """The server stops: close frame 1001 to the client, websocket.disconnect to the app."""
        if self.state == "open":
            await self._close(1001, "")
            self._gone(1001)

    async def _close(self, code: int, reason: str) -> None:
        """Send our close frame, give the client a moment to answer, then hang up."""
        self.state = "closed"
        with contextlib.suppress(ConnectionError):
            self.writer.write(_wire.encode_close(code, reason))
            await self.writer.drain()
        if self._reader_task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reader_task), WS_CLOSE_TIMEOUT_S)
        self.writer.close()

    def _gone(self, code: int, reason: str = "") -> None:
        self.state = "closed"
        self._disconnect = {"type": "websocket.disconnect", "code": code, "reason": reason}
        self._events.put_nowait(self._disconnect)

    async def _read_frames(self) -> None:
        opcode, parts = 0, bytearray()  # a fragmented message being reassembled
        try:
            while True:
                frame = await _wire.read_frame(self.reader)
                if frame.opcode == _wire.OP_PING:
                    self.writer.write(_wire.encode_frame(_wire.OP_PONG, frame.payload))
                elif frame.opcode == _wire.OP_CLOSE:
                    code, reason = _wire.decode_close(frame.payload)
                    if self.state == "open":  # echo the close (RFC 6455 section 5.5.1)
                        self.writer.write(_wire.encode_close(1000 if code == 1005 else code))
                    self._gone(code, reason)
                    return
                elif frame.opcode in (_wire.OP_TEXT, _wire.OP_BINARY, _wire.OP_CONTINUATION):
                    if (frame.opcode == _wire.OP_CONTINUATION) != bool(opcode):
                        raise _wire.ProtocolError("unexpected continuation state")
                    opcode = opcode or frame.opcode
                    parts += frame.payload
                    if len(parts) > _wire.MAX_BODY:
                        raise _wire.ProtocolError("message too large")
                    if frame.fin:
                        self._events.put_nowait(self._message_event(opcode, bytes(parts)))
                        opcode, parts = 0, bytearray()
        except _wire.ProtocolError as exc:
            log(f"websocket: protocol error from the client: {exc}")
            with contextlib.suppress(ConnectionError):
                self.writer.write(_wire.encode_close(1002))
            self._gone(1002)
        except (asyncio.IncompleteReadError, ConnectionError):
            self._gone(1006)  # closed without a close frame

    @staticmethod
    def _message_event(opcode: int, payload: bytes) -> Message:
        if opcode == _wire.OP_TEXT:
            try:
                return {"type": "websocket.receive", "text": payload.decode()}
            except UnicodeDecodeError as exc:
                raise _wire.ProtocolError("text message is not UTF-8") from exc
        return {"type": "websocket.receive", "bytes": payload}
