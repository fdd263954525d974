"""HTTP/1.1 and WebSocket (RFC 6455) wire format for the reference servers.

Only what the controls need: request heads and bodies (by Content-Length or chunked;
the server decides keep-alive and writes chunked responses itself), and WebSocket frames with
client masking, fragmentation and control frames; and the HTTP/2 preface, which tells the
server to hand the connection to _h2.py. Standard library only: the reference servers run
in a virtualenv that has nothing but anyio installed (and h2 for those that speak HTTP/2).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote

#: Largest request body or WebSocket message we accept; a control never needs more.
MAX_BODY = 16 * 1024 * 1024

# RFC 6455 section 1.3; clients check the accept key against exactly this value.
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#: What an HTTP/2 client sends first (RFC 9113 section 3.4); its first line parses as a
#: request head "PRI * HTTP/2.0", which is how an HTTP/1.1 reader recognises it.
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
CONTROL_OPCODES = frozenset({OP_CLOSE, OP_PING, OP_PONG})
DATA_OPCODES = frozenset({OP_CONTINUATION, OP_TEXT, OP_BINARY})


class ProtocolError(Exception):
    """The peer sent bytes we cannot make sense of: answer 400 or close with 1002."""


@dataclass(frozen=True)
class RequestHead:
    """A parsed request line and header block."""

    method: str
    target: bytes
    http_version: str
    #: Names lower-cased, values as sent, in order (ASGI wants exactly this).
    headers: list[tuple[bytes, bytes]]

    def header(self, name: bytes) -> bytes | None:
        """The first value of a header, or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_tokens(self, name: bytes) -> set[bytes]:
        """Comma-separated tokens of every occurrence of a header, lower-cased."""
        return {
            token.strip().lower()
            for key, value in self.headers
            if key == name
            for token in value.split(b",")
            if token.strip()
        }

    @property
    def raw_path(self) -> bytes:
        path = self.target.partition(b"?")[0]
        if path.startswith((b"http://", b"https://")):  # absolute-form (proxies)
            path = b"/" + path.split(b"/", 3)[3] if path.count(b"/") >= 3 else b"/"
        return path

    @property
    def path(self) -> str:
        # ASGI wants the percent-decoded path as str; undecodable bytes must not kill us.
        return unquote(self.raw_path.decode("latin-1"), encoding="utf-8", errors="replace")

    @property
    def query_string(self) -> bytes:
        return self.target.partition(b"?")[2]

    def is_websocket_upgrade(self) -> bool:
        return (
            self.method == "GET"
            and b"websocket" in self.header_tokens(b"upgrade")
            and b"upgrade" in self.header_tokens(b"connection")
        )


async def read_request_head(reader: asyncio.StreamReader) -> RequestHead | None:
    """Read a request head; None if the peer closed before sending anything."""
    try:
        block = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise ProtocolError("connection closed inside the request head") from exc
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError("request head too large") from exc
    lines = block[:-4].split(b"\r\n")
    while lines and not lines[0]:  # RFC 9112 2.2: ignore empty lines before the request line
        lines.pop(0)
    if not lines:
        raise ProtocolError("empty request")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        raise ProtocolError(f"bad request line {lines[0][:100]!r}")
    method, target, version = parts
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise ProtocolError(f"bad header line {line[:100]!r}")
        headers.append((name.lower(), value.strip()))
    return RequestHead(
        method=method.decode("ascii", "replace").upper(),
        target=target,
        http_version=version[5:].decode("ascii", "replace"),
        headers=headers,
    )


def starts_http2_preface(head: RequestHead) -> bool:
    """Whether a connection's first request head is the start of the HTTP/2 preface."""
    return (head.method == "PRI" and head.target == b"*" and head.http_version == "2.0"
            and not head.headers)


async def read_rest_of_http2_preface(reader: asyncio.StreamReader) -> None:
    """Read the preface's last six bytes after its head; ProtocolError if they differ."""
    rest = HTTP2_PREFACE[HTTP2_PREFACE.index(b"\r\n\r\n") + 4:]
    try:
        got = await reader.readexactly(len(rest))
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("connection closed inside the HTTP/2 preface") from exc
    if got != rest:
        raise ProtocolError(f"not an HTTP/2 preface: {got!r} after 'PRI * HTTP/2.0'")


async def read_body(reader: asyncio.StreamReader, head: RequestHead) -> bytes:
    """Read the whole request body the head announces (none if it announces none)."""
    try:
        if b"chunked" in head.header_tokens(b"transfer-encoding"):
            return await _read_chunked(reader)
        length = head.header(b"content-length")
        if length is None:
            return b""
        if not length.isdigit() or int(length) > MAX_BODY:
            raise ProtocolError(f"bad content-length {length[:40]!r}")
        return await reader.readexactly(int(length))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise ProtocolError("connection closed inside the request body") from exc


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError as exc:
            raise ProtocolError(f"bad chunk size {size_line[:40]!r}") from exc
        if size == 0:
            break
        if len(body) + size > MAX_BODY:
            raise ProtocolError("request body too large")
        body += await reader.readexactly(size)
        await reader.readexactly(2)  # the CRLF after each chunk
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers: read and ignore
        pass
    return bytes(body)


def response_head(status: int, headers: list[tuple[bytes, bytes]]) -> bytes:
    """A status line and header block, ending with the blank line."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP/1.1 {status} {reason}".encode("latin-1")]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def simple_response(status: int, text: str = "") -> bytes:
    """A complete small plain-text response for errors the app never sees."""
    body = (text or HTTPStatus(status).phrase).encode() + b"\n"
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    return response_head(status, headers) + body


def websocket_accept_key(key: bytes) -> bytes:
    """Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.strip() + WS_GUID).digest())


def websocket_handshake(
    key: bytes, subprotocol: str | None = None, headers: list[tuple[bytes, bytes]] | None = None
) -> bytes:
    """The 101 Switching Protocols response that accepts a WebSocket."""
    all_headers = [
        (b"upgrade", b"websocket"),
        (b"connection", b"Upgrade"),
        (b"sec-websocket-accept", websocket_accept_key(key)),
    ]
    if subprotocol:
        all_headers.append((b"sec-websocket-protocol", subprotocol.encode("latin-1")))
    all_headers += headers or []
    return response_head(101, all_headers)


@dataclass(frozen=True)
class Frame:
    fin: bool
    opcode: int
    payload: bytes


async def read_frame(reader: asyncio.StreamReader, max_size: int = MAX_BODY) -> Frame:
    """Read one client frame and unmask it.

    Raises asyncio.IncompleteReadError at EOF and ProtocolError on a malformed frame.
    """
    first, second = await reader.readexactly(2)
    fin, rsv, opcode = bool(first & 0x80), first & 0x70, first & 0x0F
    masked, length = bool(second & 0x80), second & 0x7F
    if rsv:
        raise ProtocolError("reserved bits set without a negotiated extension")
    if opcode not in CONTROL_OPCODES | DATA_OPCODES:
        raise ProtocolError(f"unknown opcode {opcode:#x}")
    if not masked:
        raise ProtocolError("client frames must be masked")
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    if opcode in CONTROL_OPCODES and (length > 125 or not fin):
        raise ProtocolError("control frames must be short and unfragmented")
    if length > max_size:
        raise ProtocolError(f"frame of {length} bytes is too large")
    mask = await reader.readexactly(4)
    payload = await reader.readexactly(length)
    return Frame(fin=fin, opcode=opcode, payload=_unmask(payload, mask))


def _unmask(payload: bytes, mask: bytes) -> bytes:
    # XOR as one big integer: far faster than a per-byte loop, still stdlib only.
    if not payload:
        return payload
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(len(payload), "big")


def encode_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """One server frame: servers never mask (RFC 6455 section 5.1)."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, 126, length)
    else:
        header = struct.pack("!BBQ", first, 127, length)
    return header + payload


def encode_close(code: int, reason: str = "") -> bytes:
    """A close frame; code 1005 means "no status" and is sent as an empty payload."""
    if code == 1005:
        return encode_frame(OP_CLOSE, b"")
    return encode_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode()[:123])


def decode_close(payload: bytes) -> tuple[int, str]:
    """The code and reason of a close frame's payload (1005 when it carries none)."""
    if not payload:
        return 1005, ""
    if len(payload) == 1:
        raise ProtocolError("close frame payload of one byte")
    (code,) = struct.unpack("!H", payload[:2])
    try:
        return code, payload[2:].decode()
    except UnicodeDecodeError as exc:
        raise ProtocolError("close reason is not UTF-8") from exc
