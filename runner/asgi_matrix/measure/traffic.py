"""The traffic every configuration gets, over real HTTP and WebSocket on loopback.

Each request opens a new connection, so that servers with several workers or loops
spread them, and is tagged (``?tag=``) so the probe's records can be matched to it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from websockets.sync.client import connect as ws_connect

SEQUENTIAL = 6
CONCURRENT = 8
_TIMEOUT = httpx.Timeout(5.0)


def _client(timeout: httpx.Timeout = _TIMEOUT) -> httpx.Client:
    return httpx.Client(timeout=timeout, limits=httpx.Limits(max_keepalive_connections=0),
                        headers={"connection": "close"})


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

    def join(self, timeout_s: float) -> dict[str, Any]:
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            return {"tag": "slow", "status": None, "error": f"no answer within {timeout_s} s"}
        return self.result
