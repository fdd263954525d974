"""Connections held open across a stop signal, each watched by a thread of its own.

What a user's clients have open when a server is stopped: a WebSocket, an endless
streaming response (server-sent events), an idle keep-alive connection, and a request
in flight on a keep-alive connection (its response comes during the drain). Each
records what the client saw, with ``time.monotonic()`` stamps, so the scenario can
say it relative to the signal. Raw sockets with h11 for HTTP: a client library would
hide exactly the framing we measure (close frames, a cut chunked body, headers).
Every wait ends at ``deadline`` or as soon as the connection ends.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import h11
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

_POLL_S = 0.05
NO_CLOSE_FRAME = 1006  #: RFC 6455 7.1.5: closed without a close frame


def quick_get(base_url: str, path: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """One GET on a new connection, raw: a client library costs more CPU than the server
    it measures when requests go back to back. The status, or the error; never raises."""
    parts = urlsplit(base_url)
    sent = time.monotonic()
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                         "Connection: close\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        status_line = data.split(b"\r\n", 1)[0].split()
        if len(status_line) < 2 or not status_line[1].isdigit():
            return {"status": None, "error": f"no status line in {data[:60]!r}", "t": sent}
        return {"status": int(status_line[1]), "error": None, "t": sent}
    except OSError as err:
        return {"status": None, "error": f"{type(err).__name__}: {err}", "t": sent}


class Held:
    """One connection watched in a thread until it ends or the deadline passes."""

    name = "held"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.record: dict[str, Any] = {"t_opened": time.monotonic()}
        self.ready = threading.Event()  # the exchange is in place: the stop may come
        self.deadline = time.monotonic() + 60.0  # moved by finish(): never unbounded
        self._thread = threading.Thread(target=self._guarded, name=f"asgi-matrix-{self.name}",
                                        daemon=True)
        self._thread.start()

    def _guarded(self) -> None:
        try:
            self.run()
        except Exception as err:  # every outcome is an observation, never a crash
            self.record.setdefault("error", f"{type(err).__name__}: {err}")
        finally:
            self.ready.set()

    def run(self) -> None:
        raise NotImplementedError

    def over(self) -> bool:
        """The exchange already ended on the client's side: it cannot be held at the stop."""
        return not self._thread.is_alive()

    def finish(self, deadline: float) -> dict[str, Any]:
        """Wait until the connection ended or ``deadline`` (monotonic); what was seen."""
        self.deadline = deadline
        self._thread.join(max(0.0, deadline - time.monotonic()) + 1.0)
        if self._thread.is_alive():
            self.record.setdefault("error", "the watcher was still running at the deadline")
        return dict(self.record)

    def _socket(self) -> socket.socket:
        parts = urlsplit(self.base_url)
        sock = socket.create_connection((parts.hostname, parts.port), timeout=5.0)
        sock.setblocking(False)
        return sock

    def _recv(self, sock: socket.socket, until: float) -> bytes | None:
        """Bytes, b"" at the server's close, None at ``until``; a reset ends it too."""
        while time.monotonic() < min(until, self.deadline):
            ready, _, _ = select.select([sock], [], [], _POLL_S)
            if ready:
                try:
                    return sock.recv(65536)
                except (ConnectionResetError, BrokenPipeError):
                    self.record["reset"] = True
                    return b""
        return None

    def _request(self, sock: socket.socket, conn: h11.Connection, path: str) -> None:
        host = urlsplit(self.base_url).netloc
        data = conn.send(h11.Request(method="GET", target=path, headers=[("host", host)]))
        data += conn.send(h11.EndOfMessage()) or b""
        sock.setblocking(True)
        sock.sendall(data or b"")
        sock.setblocking(False)

    def _response(self, sock: socket.socket, conn: h11.Connection,
                  until: float) -> dict[str, Any] | None:
        """One whole response on a keep-alive connection: status, headers, time."""
        got: dict[str, Any] = {}
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:  # closed mid-message
                got["closed_mid_response"] = True
                return got
            if event is h11.NEED_DATA:
                data = self._recv(sock, until)
                if data is None:
                    return None
                conn.receive_data(data)
                if not data:
                    got["closed_mid_response"] = True
                continue
            if isinstance(event, h11.Response):
                got.update(status=event.status_code, t=time.monotonic(),
                           headers={k.decode(): v.decode("latin-1") for k, v in event.headers})
            elif isinstance(event, h11.EndOfMessage):
                got["t_done"] = time.monotonic()
                return got
            elif isinstance(event, h11.ConnectionClosed):
                got["closed_mid_response"] = True
                return got

    def _wait_closed(self, sock: socket.socket) -> None:
        """Until the server closes the connection (or the deadline): when, and how."""
        while (data := self._recv(sock, self.deadline)) is not None:
            if not data:
                self.record["t_closed"] = time.monotonic()
                return
            self.record["unexpected_bytes"] = self.record.get("unexpected_bytes", 0) + len(data)


class HeldWebSocket(Held):
    """A WebSocket to ``/ws-hold`` kept open: the close code and when it came."""

    name = "ws-hold"

    def run(self) -> None:
        url = self.base_url.replace("http://", "ws://") + "/ws-hold?tag=ws-hold"
        with ws_connect(url, open_timeout=5, close_timeout=1) as ws:
            self.record["greeting"] = ws.recv(timeout=5)
            self.ready.set()
            try:
                while time.monotonic() < self.deadline:
                    try:
                        ws.recv(timeout=_POLL_S)
                    except TimeoutError:
                        continue
                self.record["still_open"] = True
            except ConnectionClosed as closed:
                self.record["t_closed"] = time.monotonic()
                frame = closed.rcvd
                self.record["close_code"] = NO_CLOSE_FRAME if frame is None else frame.code
                self.record["close_reason"] = "" if frame is None else frame.reason
                self.record["close_frame"] = frame is not None


class HeldStream(Held):
    """An endless chunked response from ``/stream``: bytes received, and how it ended."""

    name = "stream"

    def run(self) -> None:
        sock = self._socket()
        conn = h11.Connection(h11.CLIENT)
        self._request(sock, conn, "/stream?tag=stream")
        arrivals: list[tuple[float, int]] = []
        with sock:
            while True:
                try:
                    event = conn.next_event()
                except h11.RemoteProtocolError:  # closed before the terminating chunk
                    self.record["ended"] = "cut"
                    break
                if event is h11.NEED_DATA:
                    data = self._recv(sock, self.deadline)
                    if data is None:
                        self.record["ended"] = "still open at the deadline"
                        break
                    if not data:
                        self.record["t_closed"] = time.monotonic()
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.Response):
                    self.record["status"] = event.status_code
                elif isinstance(event, h11.Data):
                    arrivals.append((time.monotonic(), len(event.data)))
                    self.ready.set()
                elif isinstance(event, h11.EndOfMessage):
                    self.record["ended"] = "complete"  # a terminating chunk: a normal end
                    self.record["t_closed"] = time.monotonic()
                    break
                else:  # ConnectionClosed, or a second response we did not ask for
                    self.record["ended"] = "cut"  # the connection closed mid-body
                    break
            if self.record.get("ended") == "cut" and self.record.get("reset"):
                self.record["ended"] = "reset"
        self.record["arrivals"] = arrivals

    def summary(self, t_signal: float) -> dict[str, Any]:
        """Bytes before and after the signal; the arrival list is too long to keep."""
        arrivals = self.record.pop("arrivals", [])
        return {**self.record,
                "bytes_before": sum(n for t, n in arrivals if t < t_signal),
                "bytes_after": sum(n for t, n in arrivals if t >= t_signal),
                "t_last_byte": arrivals[-1][0] if arrivals else None}


class HeldIdle(Held):
    """A keep-alive connection that made one request and then sat idle."""

    name = "idle"

    def run(self) -> None:
        sock = self._socket()
        conn = h11.Connection(h11.CLIENT)
        with sock:
            self._request(sock, conn, "/fast?tag=idle")
            self.record["response"] = self._response(sock, conn, time.monotonic() + 5.0)
            self.ready.set()
            self._wait_closed(sock)


class DrainRequest(Held):
    """A request on a keep-alive connection, in flight at the signal: its response comes
    during the drain, and its headers say whether the client may reuse the connection."""

    name = "drain-request"

    def over(self) -> bool:
        return super().over() or bool((self.record.get("response") or {}).get("status"))

    def run(self) -> None:
        sock = self._socket()
        conn = h11.Connection(h11.CLIENT)
        with sock:
            self._request(sock, conn, "/slow?tag=drain-ka")
            self.ready.set()  # the scenario waits for the probe's record of it
            self.record["response"] = self._response(sock, conn, self.deadline)
            if self.record["response"] is not None:
                self._wait_closed(sock)
