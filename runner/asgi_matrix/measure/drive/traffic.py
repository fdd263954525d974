"""The traffic every configuration gets, over real HTTP and WebSocket on loopback.

Fresh connections (one per request) let servers with several workers or loops spread
them; reused connections show bugs that live in a connection: several requests on one
keep-alive HTTP/1.1 connection (one with a body over 64 KiB sent in chunks), pipelined
requests on a raw socket, and several streams on one HTTP/2 cleartext connection (prior
knowledge). Every request is tagged (``?tag=``) so the probe's records can be matched to
it, and the client notes the connection (its local port) and HTTP/2 stream that carried it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from websockets.sync.client import connect as ws_connect

SEQUENTIAL = 6
CONCURRENT = 8
KEEPALIVE = 4  #: requests on one keep-alive connection; the second carries the large body
PIPELINED = 3
HTTP2_STREAMS = 3
LARGE_BODY = 96 * 1024  #: over 64 KiB, the size past which servers stream bodies in parts
BODY_CHUNK = 16 * 1024
_TIMEOUT = httpx.Timeout(5.0)


#: The probe is served over cleartext HTTP only: no client needs TLS, and a verifying
#: one loads the CA bundle each time it is made (39 ms of CPU under load, against 0.3 ms;
#: with a client per request, more of the runner's CPU than anything else it did).
NO_TLS = False


def _client(timeout: httpx.Timeout = _TIMEOUT) -> httpx.Client:
    return httpx.Client(timeout=timeout, limits=httpx.Limits(max_keepalive_connections=0),
                        headers={"connection": "close"}, verify=NO_TLS)


def get(base_url: str, path: str, tag: str,
        timeout: httpx.Timeout = _TIMEOUT) -> dict[str, Any]:
    """One request; the outcome, never an exception."""
    sent = time.monotonic()
    record: dict[str, Any] = {"tag": tag, "path": path, "t_sent": sent}
    try:
        with _client(timeout) as client:
            response = client.get(f"{base_url}{path}", params={"tag": tag})
        record["status"] = response.status_code
        try:
            record["body"] = response.json()
        except ValueError:
            record["body"] = response.text[:500]
    except httpx.HTTPError as err:
        record["status"] = None
        record["error"] = f"{type(err).__name__}: {err}"
    record["t_done"] = time.monotonic()
    return record


def _outcome(record: dict[str, Any], response: httpx.Response) -> None:
    """Status, connection and stream of a streamed response, then its body."""
    record["status"] = response.status_code
    record["http_version"] = response.http_version
    stream = response.extensions.get("network_stream")
    try:  # before the body is read: a "Connection: close" answer closes the socket then
        client_addr = stream.get_extra_info("client_addr") if stream is not None else None
    except OSError:
        client_addr = None
    if client_addr:
        record["local_port"] = client_addr[1]  # the connection, as the server sees it
    if "stream_id" in response.extensions:
        record["stream_id"] = response.extensions["stream_id"]
    response.read()
    try:
        record["body"] = response.json()
    except ValueError:
        record["body"] = response.text[:500]


def _chunks(size: int, chunk: int) -> Any:
    sent = 0
    while sent < size:
        part = min(chunk, size - sent)
        yield b"x" * part
        sent += part


def send(client: httpx.Client, base_url: str, path: str, tag: str, large: bool = False,
         tag_header: str | None = None) -> dict[str, Any]:
    """One request through ``client``: its status, body, connection (local port) and
    HTTP/2 stream; ``large``: a POST with a body over 64 KiB sent in chunks;
    ``tag_header``: the tag in that header too, for apps that check theirs. The outcome,
    never an exception."""
    record: dict[str, Any] = {"tag": tag, "path": path, "t_sent": time.monotonic()}
    try:
        if large:
            record["body_sent"] = LARGE_BODY
        with client.stream("POST" if large else "GET", f"{base_url}{path}",
                           params={"tag": tag},
                           headers={tag_header: tag} if tag_header else None,
                           content=_chunks(LARGE_BODY, BODY_CHUNK) if large else None
                           ) as response:
            _outcome(record, response)
    except httpx.HTTPError as err:
        record["status"] = None
        record["error"] = f"{type(err).__name__}: {err}"
    record["t_done"] = time.monotonic()
    return record


def reused(base_url: str, prefix: str, count: int, client: httpx.Client,
           large_body_at: int | None = None, path: str = "/fast",
           tag_header: str | None = None) -> list[dict[str, Any]]:
    """``count`` requests one after another on the client's one connection (to ``path``)."""
    return [{**send(client, base_url, path, f"{prefix}-{i}", i == large_body_at, tag_header),
             "reused": prefix} for i in range(count)]


def keepalive(base_url: str, count: int = KEEPALIVE) -> list[dict[str, Any]]:
    """Requests on one keep-alive HTTP/1.1 connection; the second sends a large body."""
    with one_connection() as client:
        return reused(base_url, "ka", count, client, large_body_at=1)


def one_connection(http2: bool = False, **options: Any) -> httpx.Client:
    """A client that keeps one connection: HTTP/1.1 keep-alive, or HTTP/2 cleartext with
    prior knowledge (its requests are streams of that connection)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.Client(timeout=_TIMEOUT, limits=limits, http1=not http2, http2=http2,
                        **{"verify": NO_TLS, **options})


def http2(base_url: str, count: int = HTTP2_STREAMS) -> list[dict[str, Any]]:
    """Streams on one HTTP/2 cleartext connection (prior knowledge), one after another."""
    with one_connection(http2=True) as client:
        return reused(base_url, "h2", count, client)


def pipelined(base_url: str, count: int = PIPELINED, timeout_s: float = 5.0,
              path: str = "/fast", tag_header: str | None = None) -> dict[str, Any]:
    """``count`` requests written at once on one raw socket, then their answers read.

    The last request asks to close, so the read ends when the server has answered all
    of them (or closed early, or the bounded wait ran out).
    """
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    tags = [f"pipe-{i}" for i in range(count)]
    wire = b"".join((
        f"GET {path}?tag={tag} HTTP/1.1\r\nHost: {host}\r\n"
        + (f"{tag_header}: {tag}\r\n" if tag_header else "")
        + f"{'Connection: close' if i == count - 1 else 'Connection: keep-alive'}\r\n\r\n"
    ).encode() for i, tag in enumerate(tags))
    record: dict[str, Any] = {"tags": tags, "t_sent": time.monotonic()}
    data = b""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
            record["local_port"] = sock.getsockname()[1]
            sock.sendall(wire)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                part = sock.recv(65536)
                if not part:
                    break
                data += part
                if len(_responses(data)) >= count:
                    break
    except OSError as err:
        record["error"] = f"{type(err).__name__}: {err}"
    answers = _responses(data)
    record["statuses"] = [status for status, _ in answers]
    record["requests"] = [{"tag": tag, "path": path,
                           "status": answers[i][0] if i < len(answers) else None,
                           "local_port": record.get("local_port"), "reused": "pipe"}
                          for i, tag in enumerate(tags)]
    record["t_done"] = time.monotonic()
    return record


def _responses(data: bytes) -> list[tuple[int, bytes]]:
    """Complete HTTP/1.1 responses (status, body) framed by Content-Length or chunked, in
    order (an app that sets no length gets a chunked answer from most servers)."""
    found = []
    while b"\r\n\r\n" in data:
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            break
        length, chunked = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip() or 0)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            parsed = _dechunk(rest)
            if parsed is None:
                break
            body, data = parsed
            found.append((status, body))
            continue
        if len(rest) < length:
            break
        found.append((status, rest[:length]))
        data = rest[length:]
    return found


def _dechunk(data: bytes) -> tuple[bytes, bytes] | None:
    """A complete chunked body and what follows it; None while it is incomplete."""
    body = b""
    while b"\r\n" in data:
        size_line, rest = data.split(b"\r\n", 1)
        try:
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return None
        if size == 0:  # the last chunk, then (no trailers here) the empty line
            return (body, rest[2:]) if rest.startswith(b"\r\n") else None
        if len(rest) < size + 2:
            return None
        body += rest[:size]
        data = rest[size + 2:]
    return None


def wait_ready(base_url: str, alive: Callable[[], bool], timeout_s: float) -> dict[str, Any]:
    """Poll until the server answers; stop early if its process exits. Never a fixed sleep."""
    start = time.monotonic()
    attempts = 0
    last = ""
    delay = 0.01
    while time.monotonic() - start < timeout_s:
        attempts += 1
        got = get(base_url, "/fast", "ready", httpx.Timeout(2.0, connect=0.5))
        if got["status"] is not None:
            return {"ok": True, "status": got["status"], "attempts": attempts,
                    "seconds": round(time.monotonic() - start, 3)}
        last = got.get("error", "")
        if not alive():
            return {"ok": False, "attempts": attempts, "exited": True, "last_error": last,
                    "seconds": round(time.monotonic() - start, 3)}
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)  # a late poll is time the floor does not have
    return {"ok": False, "attempts": attempts, "exited": False, "last_error": last,
            "seconds": round(time.monotonic() - start, 3)}


def sequential(base_url: str, count: int = SEQUENTIAL) -> list[dict[str, Any]]:
    return [get(base_url, "/fast", f"seq-{i}") for i in range(count)]


def concurrent(base_url: str, count: int = CONCURRENT) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda i: get(base_url, "/fast", f"conc-{i}"), range(count)))


def websocket(base_url: str) -> dict[str, Any]:
    """Connect, send one message, read the echo."""
    url = base_url.replace("http://", "ws://") + "/ws?tag=ws"
    record: dict[str, Any] = {"attempted": True, "t_sent": time.monotonic()}
    try:
        with ws_connect(url, open_timeout=5, close_timeout=2) as ws:
            ws.send("hello")
            reply = ws.recv(timeout=5)
        record["ok"] = True
        record["reply"] = json.loads(reply) if isinstance(reply, str) else repr(reply)
    except Exception as err:  # any failure of the exchange is an observation
        record["ok"] = False
        record["error"] = f"{type(err).__name__}: {err}"
    record["t_done"] = time.monotonic()
    return record


class InFlight:
    """A slow request running in a thread while the server is being stopped."""

    def __init__(self, base_url: str) -> None:
        self.result: dict[str, Any] = {}
        self._thread = threading.Thread(
            target=lambda: self.result.update(
                get(base_url, "/slow", "slow", httpx.Timeout(15.0))),
            name="asgi-matrix-slow", daemon=True)
        self._thread.start()

    def done(self) -> bool:
        """The request already ended (answered, refused or cut)."""
        return not self._thread.is_alive()

    def join(self, timeout_s: float) -> dict[str, Any]:
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            return {"tag": "slow", "status": None, "error": f"no answer within {timeout_s} s"}
        return self.result
