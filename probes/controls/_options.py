"""The reference server's flags (every behaviour chosen by one), its exit codes and
timeouts, its log, and how it loads the app and the HTTP/2 module.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from types import ModuleType

    from ._exchange import App

EXIT_ERROR = 1  # --lifespan-rejected exit, and any unexpected crash
EXIT_USAGE = 2  # bad flags, an app that cannot be imported, a port that cannot be bound
EXIT_STARTUP_FAILED = 3  # --startup-failure exit
EXIT_CRASH = 70  # --stop-exit crash (EX_SOFTWARE)

DRAIN_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 5.0
FIRST_CONNECTION_WAIT_S = 3.0  # --startup-gate no: longest wait for a first connection
WS_CLOSE_TIMEOUT_S = 1.0  # how long we wait for the client's answering close frame
FIRST_CONNECTION_WAIT_S = 3.0  # --startup-gate no: longest wait for a first connection

HTTP_ASGI = {"version": "3.0", "spec_version": "2.4"}
LIFESPAN_ASGI = {"version": "3.0", "spec_version": "2.0"}


def log(message: str) -> None:
    """One line on stderr, tagged with the thread: the runner keeps the tail as evidence."""
    print(f"[reference-server {threading.current_thread().name}] {message}",
          file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    app: str
    loops: int
    lifespan: str
    state: str
    context: str
    drain: str
    shutdown: str
    startup_gate: str
    startup_failure: str
    lifespan_rejected: str
    answer: str
    stop_exit: str
    children: str
    ws_at_stop: str
    stream_at_stop: str
    keepalive_at_stop: str
    startup_signal: str
    recycle: str
    client: str
    recycle_after: int
    http2: bool
    factory: bool


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description="ASGI reference server; the default of every flag is the correct behaviour.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app", required=True, help="MODULE:ATTR")
    parser.add_argument("--loops", type=int, default=3)
    choices: dict[str, list[str]] = {
        # after-request: each loop starts its lifespan only once it served a request
        "--lifespan": ["per-loop", "single", "none", "after-request"],
        # detached: requests share one dict that is not the lifespan's
        # per-connection: the requests of one keep-alive connection share one copy;
        # other-loop: a copy of the next loop's lifespan state
        "--state": ["copy", "shared", "detached", "none", "per-connection", "other-loop"],
        # propagate: each request runs in a fresh copy of its loop's lifespan context, also
        # on a kept-alive connection; per-connection: the requests of one connection share
        # one context, so what one sets the next sees; other-loop: the next loop's context;
        # shared: every request of the loop runs in one context, whatever its connection
        "--context": ["propagate", "fresh", "per-connection", "other-loop", "shared"],
        # overlap: lifespan.shutdown goes out when the stop begins, while requests run
        "--drain": ["yes", "no", "overlap"],
        # after-tasks: lifespan.shutdown only once every other task on the loop ended (a
        # lifespan that keeps a long-lived task, a ticker, never gets it: bounded wait)
        "--shutdown": ["deliver", "skip", "after-tasks"],
        # no: listen at once; the lifespan begins with the first connection (served early)
        "--startup-gate": ["yes", "no"],
        # hang: after a failed startup, neither serve nor exit; exit-zero: exit with 0
        "--startup-failure": ["exit", "serve", "hang", "exit-zero"],
        # hang: after the app rejected the lifespan scope, neither serve nor exit
        "--lifespan-rejected": ["serve", "exit", "hang"],
        # all: answer every request; drop-concurrent: close a request of the concurrent
        # batch (tag conc-N) unanswered while another of the batch is in flight on the loop
        "--answer": ["all", "drop-concurrent"],
        # clean: exit 0 after the stop; crash: exit 70 (EX_SOFTWARE), as a crash would;
        # sigterm-now: die by the SIGTERM at once, no drain, no lifespan shutdown
        "--stop-exit": ["clean", "crash", "sigterm-now"],
        # none; orphan: start a child that outlives the server unless it is signalled too;
        # setsid: a child in a session of its own, which even a group signal misses
        "--children": ["none", "orphan", "setsid"],
        # close: a WebSocket open at the stop gets close 1001 and the app websocket.disconnect
        # (the drain waits for its handler); drop: the socket dies with the process
        "--ws-at-stop": ["close", "drop"],
        # disconnect: a streaming response in flight at the stop gets http.disconnect and
        # its connection closes; hang: the drain waits for it (an endless stream: forever)
        "--stream-at-stop": ["disconnect", "hang"],
        # close: idle keep-alive connections are closed at the stop and responses sent
        # while draining say Connection: close; keep: neither (the drain waits for them)
        "--keepalive-at-stop": ["close", "keep"],
        # honour: a stop signal during a startup that has not settled stops the server;
        # ignore: signals are ignored until a lifespan startup settled
        "--startup-signal": ["honour", "ignore"],
        # with --recycle-after N, each serving loop is replaced after N requests: clean:
        # the new loop (its own lifespan) shares the listening socket, then the old one
        # drains and runs its lifespan shutdown; drop: the old loop aborts its connections
        # and ends without lifespan shutdown, and nothing listens for a moment; exit: the
        # whole server stops instead, as if its only worker was retired (uvicorn#426)
        "--recycle": ["clean", "drop", "exit"],
        # what scope["client"] says: peer: the socket's address; fake: 127.0.0.1:123 for
        # every request (httpx's ASGITransport); none; port-0: the host with port 0
        "--client": ["peer", "fake", "none", "port-0"],
    }
    for flag, values in choices.items():
        parser.add_argument(flag, choices=values, default=values[0])
    parser.add_argument("--recycle-after", type=int, default=0, help="0: never recycle")
    parser.add_argument("--http2", action="store_true",
                        help="serve cleartext HTTP/2 with prior knowledge too (needs h2)")
    parser.add_argument("--factory", action="store_true",
                        help="--app names a factory, called once per loop for its own app")
    ns = parser.parse_args(argv)
    if not 0 < ns.port < 65536:
        parser.error("--port must be 1..65535 (every loop binds the same port, so 0 cannot work)")
    if ns.loops < 1:
        parser.error("--loops must be at least 1")
    if ":" not in ns.app:
        parser.error("--app must look like MODULE:ATTR")
    return Options(**vars(ns))


def load_app(reference: str) -> App:
    module_name, _, attrs = reference.partition(":")
    obj: Any = importlib.import_module(module_name)
    for attr in attrs.split("."):
        obj = getattr(obj, attr)
    if not callable(obj):
        raise TypeError(f"{reference} is not callable")
    return cast("App", obj)


def load_http2() -> ModuleType:
    """The HTTP/2 module, imported only with --http2: it needs the h2 package."""
    return importlib.import_module(f"{__package__}._h2" if __package__ else "_h2")
