"""The reference server, run for real: subprocesses, loopback sockets, HTTP/1.1, WebSocket,
cleartext HTTP/2.

A tiny stdlib-only app (written to tmp_path) appends one JSON line per event to a file:
which thread ran it, what the lifespan left in the context and in the state. Each test
reads those lines back and checks the behaviour its flags promise.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_matrix.resources import CONTROLS_DIR
from websockets.sync.client import connect

SERVER = CONTROLS_DIR / "reference_server.py"
DEADLINE_S = 10.0

APP = textwrap.dedent('''
    import asyncio, contextvars, itertools, json, os, threading, time

    TOKEN = contextvars.ContextVar("token", default=None)
    REQ = contextvars.ContextVar("req", default=None)  # set by each request: leaks show
    MODE = os.environ.get("REFAPP_MODE", "normal")
    STARTED = set()  # threads whose lifespan startup completed
    SERIAL = itertools.count()

    def record(event, **fields):
        fields.update(event=event, thread=threading.current_thread().name, t=time.monotonic())
        with open(os.environ["REFAPP_OBS"], "a") as f:  # one small append per line
            f.write(json.dumps(fields) + "\\n")

    def seen(scope):
        state = scope.get("state")
        facts = {"path": scope["path"], "asgi": scope["asgi"], "ctx": TOKEN.get(),
                 "has_state": "state" in scope, "state_id": id(state),
                 "state_token": None, "foreign": [],
                 "after_startup": threading.current_thread().name in STARTED,
                 "req_seen": REQ.get(), "client": scope.get("client"),
                 "http_version": scope.get("http_version"), "made_on": scope.get("made_on")}
        REQ.set(scope["path"])
        if isinstance(state, dict):
            facts["state_token"] = state.get("token")
            facts["foreign"] = sorted(k for k in state if k.startswith("req:"))
            state[f"req:{next(SERIAL)}"] = True  # visible to later requests only if shared
        return facts

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            if MODE == "reject":
                record("lifespan.rejected")
                raise RuntimeError("this app does not do lifespan")
            await receive()
            name = threading.current_thread().name
            token = f"{name}:{id(scope)}"
            TOKEN.set(token)
            state = scope.get("state")
            if state is not None:
                state["token"] = token
            await asyncio.sleep(float(os.environ.get("REFAPP_STARTUP_S", "0")))
            if MODE == "startup-fail":
                record("startup.failed")
                await send({"type": "lifespan.startup.failed", "message": "refapp says no"})
                return
            STARTED.add(name)
            record("startup", token=token, asgi=scope["asgi"], state_id=id(state))
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            record("shutdown", message=message["type"], token=token)
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "http":
            request = await receive()
            facts = seen(scope)
            facts["body_len"] = len(request.get("body", b""))
            if scope["path"] == "/slow":
                record("slow.start")
                await asyncio.sleep(1)
                record("slow.end")
            if scope["path"] != "/ping":
                record("http", **facts)
            body = json.dumps(facts).encode()
            if scope["path"] == "/big":  # past the client's HTTP/2 flow-control window
                body = json.dumps({**facts, "pad": "x" * 300_000}).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
        elif scope["type"] == "websocket":
            facts = seen(scope)
            assert (await receive())["type"] == "websocket.connect"
            await send({"type": "websocket.accept"})
            message = await receive()
            record("websocket", **facts)
            await send({"type": "websocket.send",
                        "text": json.dumps({"echo": message.get("text"), **facts})})
            await send({"type": "websocket.close", "code": 1000})

    def create_app():  # --factory: each call makes an app of its own, tagged by its loop
        made_on = threading.current_thread().name
        record("factory", made_on=made_on)

        async def made(scope, receive, send):
            if scope["type"] != "lifespan":
                scope["made_on"] = made_on
            await app(scope, receive, send)
        return made
''')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One reference server subprocess with its own app copy, log and observation file."""

    def __init__(self, root: Path, flags: list[str], env: dict[str, str]) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.obs = root / "obs.jsonl"
        self.log = root / "server.log"
        (root / "refapp.py").write_text(APP)
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", str(self.port), "--app", "refapp:app",
             *flags],
            cwd=root,  # the server puts its cwd on sys.path: that is how refapp is found
            env={**os.environ, "REFAPP_OBS": str(self.obs), **env},
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        pytest.fail(f"server not ready within {DEADLINE_S} s:\n{self.log_text()}")

    def wait_exit(self) -> int:
        return self.proc.wait(timeout=DEADLINE_S)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log_file.close()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        if not self.obs.exists():
            return []
        rows = [json.loads(line) for line in self.obs.read_text().splitlines() if line]
        return [row for row in rows if kind is None or row["event"] == kind]

    def wait_event(self, kind: str) -> dict[str, Any]:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if found := self.events(kind):
                return found[0]
            time.sleep(0.01)
        pytest.fail(f"no {kind!r} event within {DEADLINE_S} s:\n{self.log_text()}")

    def get(self, path: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}{path}", timeout=5, headers={"connection": "close"})
        assert response.status_code == 200, response.text
        assert response.headers["connection"] == "close"  # it honours the client's close
        return dict(response.json())


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    """start(*flags, ready=True, **env) -> Server; every server is killed at teardown."""
    servers: list[Server] = []

    def _start(*flags: str, ready: bool = True, **env: str) -> Server:
        root = tmp_path / f"server{len(servers)}"
        root.mkdir()
        server = Server(root, list(flags), env)
        servers.append(server)
        if ready:
            server.wait_ready()
        return server

    try:
        yield _start
    finally:
        for server in servers:
            server.close()


def slow_request_at_sigterm(server: Server) -> bytes:
    """Send GET /slow, SIGTERM once the app is inside it, return what the client got."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        server.wait_event("slow.start")
        server.proc.send_signal(signal.SIGTERM)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return received


def test_good_flags_run_one_lifespan_per_loop_before_serving(start: Any) -> None:
    server = start()
    seen = [server.get(f"/r{i}") for i in range(24)]
    startups = server.events("startup")
    by_thread = {row["thread"]: row for row in startups}
    assert sorted(by_thread) == ["loop-0", "loop-1", "loop-2"]
    assert len(startups) == 3
    assert startups[0]["asgi"] == {"version": "3.0", "spec_version": "2.0"}
    for row in server.events("http"):
        assert row["thread"] in by_thread, "served on a loop that never ran a lifespan"
        assert row["after_startup"]
        assert row["asgi"] == {"version": "3.0", "spec_version": "2.4"}
        lifespan = by_thread[row["thread"]]
        assert row["ctx"] == lifespan["token"]  # context propagated from that loop's startup
        assert row["state_token"] == lifespan["token"]
        assert row["state_id"] != lifespan["state_id"]  # a copy...
        assert row["foreign"] == []  # ...so no request sees another's writes
    assert len(seen) == 24
    assert server.stop() == 0
    shutdowns = server.events("shutdown")
    assert sorted(row["thread"] for row in shutdowns) == ["loop-0", "loop-1", "loop-2"]
    assert {row["message"] for row in shutdowns} == {"lifespan.shutdown"}
    assert "reference server ready on http://127.0.0.1:" in server.log_text()


def test_context_fresh_hides_the_startup_contextvar(start: Any) -> None:
    server = start("--context", "fresh")
    for i in range(6):
        facts = server.get(f"/r{i}")
        assert facts["ctx"] is None
        assert facts["state_token"] is not None  # state still works: only context differs


def test_state_shared_hands_out_the_lifespan_dict_itself(start: Any) -> None:
    server = start("--state", "shared", "--loops", "1")
    first, second = server.get("/a"), server.get("/b")
    (startup,) = server.events("startup")
    assert first["state_id"] == second["state_id"] == startup["state_id"]
    # Every request (the readiness pings too) leaves a key the next one can see.
    assert len(second["foreign"]) == len(first["foreign"]) + 1


def test_state_none_has_no_state_key(start: Any) -> None:
    server = start("--state", "none", "--loops", "1")
    assert server.get("/a")["has_state"] is False


def test_drain_yes_finishes_in_flight_request_before_shutdown(start: Any) -> None:
    server = start("--loops", "2")
    received = slow_request_at_sigterm(server)
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert server.wait_exit() == 0
    (end,) = server.events("slow.end")
    shutdowns = server.events("shutdown")
    assert len(shutdowns) == 2
    assert all(row["t"] > end["t"] for row in shutdowns)


def test_drain_no_cuts_in_flight_request(start: Any) -> None:
    server = start("--loops", "2", "--drain", "no")
    received = slow_request_at_sigterm(server)
    assert received == b""
    assert server.wait_exit() == 0
    assert server.events("slow.end") == []
    assert len(server.events("shutdown")) == 2  # shutdown still delivered, immediately


def test_shutdown_skip_never_sends_shutdown(start: Any) -> None:
    server = start("--loops", "2", "--shutdown", "skip")
    server.get("/a")
    assert server.stop() == 0
    assert server.events("shutdown") == []


def test_websocket_echo(start: Any) -> None:
    server = start()
    with connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=5) as ws:
        ws.send("hello")
        reply = json.loads(ws.recv(timeout=5))
    assert reply["echo"] == "hello"
    assert ws.close_code == 1000
    (row,) = server.events("websocket")
    lifespan = {r["thread"]: r for r in server.events("startup")}[row["thread"]]
    assert row["ctx"] == lifespan["token"]
    assert row["state_token"] == lifespan["token"]


def test_startup_failure_exit(start: Any) -> None:
    server = start(ready=False, REFAPP_MODE="startup-fail")
    assert server.wait_exit() == 3
    assert "refapp says no" in server.log_text()
    assert "reference server ready" not in server.log_text()


def test_startup_failure_serve(start: Any) -> None:
    server = start("--startup-failure", "serve", "--loops", "1", REFAPP_MODE="startup-fail")
    assert server.get("/a")["ctx"] is not None  # what startup set before failing is kept
    assert "refapp says no" in server.log_text()


def test_lifespan_rejected_serve(start: Any) -> None:
    server = start("--loops", "2", REFAPP_MODE="reject")
    assert server.get("/a")["path"] == "/a"
    assert "lifespan unsupported" in server.log_text()
    assert server.stop() == 0


def test_lifespan_rejected_exit(start: Any) -> None:
    server = start("--lifespan-rejected", "exit", ready=False, REFAPP_MODE="reject")
    assert server.wait_exit() == 1
    assert "lifespan unsupported" in server.log_text()


def test_lifespan_single_runs_it_on_a_thread_that_never_serves(start: Any) -> None:
    server = start("--lifespan", "single")
    rows = [server.get(f"/r{i}") for i in range(12)]
    (startup,) = server.events("startup")
    assert startup["thread"] == "lifespan"
    threads = {row["thread"] for row in server.events("http")}
    assert threads
    assert "lifespan" not in threads
    assert all(row["ctx"] == startup["token"] for row in rows)  # copied across threads
    assert server.stop() == 0
    assert [row["thread"] for row in server.events("shutdown")] == ["lifespan"]


def test_lifespan_none(start: Any) -> None:
    server = start("--lifespan", "none", "--loops", "2")
    facts = server.get("/a")
    assert facts["ctx"] is None
    assert facts["has_state"] is True  # a per-loop empty state, still copied per request
    assert server.stop() == 0
    assert server.events("startup") == []
    assert server.events("shutdown") == []


def test_startup_gate_no_serves_before_startup_completes(start: Any) -> None:
    # the lifespan begins with the first connection (the readiness ping); 2 s of startup
    # leave room for a loaded machine between that ping and /early
    server = start("--startup-gate", "no", "--loops", "1", REFAPP_STARTUP_S="2")
    assert server.get("/early")["after_startup"] is False
    server.wait_event("startup")
    assert server.get("/late")["after_startup"] is True


def test_keeps_a_connection_alive_unless_told_to_close(start: Any) -> None:
    server = start("--loops", "1")
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.auto_open = 0  # a second request on a closed connection raises instead
    try:
        conn.connect()
        statuses, headers = [], []
        for tag in ("ka-1", "ka-2"):
            conn.request("GET", f"/fast?tag={tag}")
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            headers.append(response.getheader("connection"))
    finally:
        conn.close()
    assert statuses == [200, 200]
    assert headers == [None, None]  # HTTP/1.1: kept alive, nothing to say


def _on_one_connection(server: Any, paths: list[str]) -> list[dict[str, Any]]:
    with httpx.Client(timeout=5) as client:
        answers = [client.get(f"{server.url}{p}") for p in paths]
    assert all(a.headers.get("connection") != "close" for a in answers)  # kept alive
    return [dict(a.json()) for a in answers]


def test_keepalive_requests_each_get_a_fresh_state_copy_and_context(start: Any) -> None:
    server = start("--loops", "1")
    seen = _on_one_connection(server, ["/k0", "/k1", "/k2"])
    assert len({tuple(s["client"]) for s in seen}) == 1  # one connection carried all three
    assert [s["foreign"] for s in seen] == [[], [], []]
    assert [s["req_seen"] for s in seen] == [None, None, None]
    assert server.stop() == 0


def test_per_connection_flags_share_state_and_context_within_a_connection(start: Any) -> None:
    server = start("--loops", "1", "--state", "per-connection", "--context", "per-connection")
    seen = _on_one_connection(server, ["/k0", "/k1"])
    assert len({tuple(s["client"]) for s in seen}) == 1
    assert seen[1]["foreign"] == seen[0]["foreign"] + [k for k in seen[1]["foreign"]
                                                       if k not in seen[0]["foreign"]]
    assert len(seen[1]["foreign"]) == 1  # the key /k0 added
    assert seen[1]["req_seen"] == "/k0"
    other = server.get("/fresh")  # a new connection gets its own copy
    assert other["req_seen"] is None
    assert server.stop() == 0


def test_other_loop_flags_hand_over_the_next_loops_lifespan(start: Any) -> None:
    server = start("--loops", "2", "--state", "other-loop", "--context", "other-loop")
    seen = [server.get(f"/r{i}") for i in range(8)]
    threads = [row["thread"] for row in server.events("http")]
    assert len(threads) == len(seen) == 8
    for answer, thread in zip(seen, threads, strict=True):  # the lifespan of another loop
        assert answer["ctx"].split(":")[0] not in (thread, None)
        assert answer["state_token"] == answer["ctx"]
    assert server.stop() == 0


def _http2_streams(server: Any, paths: list[str], post: dict[str, bytes] | None = None
                   ) -> list[dict[str, Any]]:
    """Requests one after another as streams of one HTTP/2 connection (prior knowledge)."""
    post = post or {}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(timeout=5, http1=False, http2=True, limits=limits) as client:
        answers = [client.post(f"{server.url}{p}", content=post[p]) if p in post
                   else client.get(f"{server.url}{p}") for p in paths]
        streams = [a.extensions["stream_id"] for a in answers]
    assert [a.http_version for a in answers] == ["HTTP/2"] * len(paths)
    assert [a.status_code for a in answers] == [200] * len(paths)
    assert len(set(streams)) == len(paths)  # each request its own stream
    return [dict(a.json()) for a in answers]


def test_http2_streams_each_get_a_fresh_state_copy_and_context(start: Any) -> None:
    server = start("--loops", "1", "--http2")
    large = b"b" * (200 * 1024)  # past the 64 KiB initial window: flow control must refill
    seen = _http2_streams(server, ["/s0", "/s1", "/big", "/s3"], post={"/s1": large})
    assert len({tuple(s["client"]) for s in seen}) == 1  # one connection carried them all
    assert [s["http_version"] for s in seen] == ["2"] * 4
    assert [s["foreign"] for s in seen] == [[], [], [], []]
    assert [s["req_seen"] for s in seen] == [None] * 4
    assert seen[1]["body_len"] == len(large)
    assert len(seen[2]["pad"]) == 300_000  # a response larger than the client's window
    (startup,) = server.events("startup")
    assert {s["ctx"] for s in seen} == {s["state_token"] for s in seen} == {startup["token"]}
    assert server.get("/h1")["http_version"] == "1.1"  # HTTP/1.1 still served beside it
    assert server.stop() == 0


def test_http2_per_connection_flags_share_state_and_context_across_streams(start: Any) -> None:
    server = start("--loops", "1", "--http2", "--state", "per-connection",
                   "--context", "per-connection")
    seen = _http2_streams(server, ["/s0", "/s1", "/s2"])
    assert [s["req_seen"] for s in seen] == [None, "/s0", "/s1"]
    assert [len(s["foreign"]) for s in seen] == [0, 1, 2]  # each earlier stream's key
    other = _http2_streams(server, ["/t0"])  # a new connection gets its own copy
    assert (other[0]["req_seen"], other[0]["foreign"]) == (None, [])
    assert server.stop() == 0


def test_http2_preface_without_the_flag_is_answered_505(start: Any) -> None:
    server = start("--loops", "1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 505 ")
    assert b"--http2" in received


def test_http2_idle_connection_gets_goaway_at_the_stop(start: Any) -> None:
    server = start("--loops", "1", "--http2")
    with httpx.Client(timeout=5, http1=False, http2=True) as client:
        assert client.get(f"{server.url}/s0").http_version == "HTTP/2"
        began = time.monotonic()
        assert server.stop() == 0  # the open connection does not hold up the drain
        assert time.monotonic() - began < 5
    assert "closing 1 idle HTTP/2 connection(s) with GOAWAY" in server.log_text()


def test_http2_stream_in_flight_at_the_stop_is_answered(start: Any) -> None:
    server = start("--loops", "1", "--http2")
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(timeout=5, http1=False, http2=True, limits=limits) as client:
        assert client.get(f"{server.url}/s0").status_code == 200
        with client.stream("GET", f"{server.url}/slow") as response:
            server.wait_event("slow.start")
            server.proc.send_signal(signal.SIGTERM)
            response.read()
        assert response.status_code == 200
    assert server.wait_exit() == 0
    (end,) = server.events("slow.end")
    (shutdown,) = server.events("shutdown")
    assert shutdown["t"] > end["t"]


def test_factory_makes_an_app_per_loop(start: Any) -> None:
    server = start("--loops", "3", "--factory", "--app", "refapp:create_app")
    seen = [server.get(f"/r{i}") for i in range(24)]
    made = sorted(row["made_on"] for row in server.events("factory"))
    assert made == ["loop-0", "loop-1", "loop-2"]  # once per loop, on that loop's thread
    threads = [row["thread"] for row in server.events("http")]
    assert [s["made_on"] for s in seen] == threads  # each loop serves with its own app
    assert server.stop() == 0
    assert sorted(row["thread"] for row in server.events("shutdown")) == made
