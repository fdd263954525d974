"""The lifecycle edges users hit in production, each driven over real connections.

    open-stop     at the stop signal a WebSocket is open, an endless stream is in flight,
                  a keep-alive connection sits idle and a request on another keep-alive
                  connection is in flight (one start: none of these can disturb another)
    startup-hang  the app's lifespan startup never finishes; SIGTERM, then SIGINT if
                  that did not end the server, each given a bounded time
    recycle       (configurations with a ``recycle`` budget) sustained traffic across a
                  worker's recycling: every request counted

Times are ``time.monotonic()`` on this machine, the clock the probe stamps its records
with, so "seconds after the signal" compares client and app directly.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from asgi_matrix.measure.backends.observations import OBSERVATIONS, parse_events
from asgi_matrix.measure.backends.protocol import RunningServer
from asgi_matrix.measure.drive import held as _held
from asgi_matrix.verdicts.lifecycle import HANG_SIGNAL_S

HELD_READY_S = 5.0  #: each held connection reaches the app in well under 0.1 s
WATCH_AFTER_EXIT_S = 1.5  #: the kernel closes a dead server's sockets at once


def _events(server: RunningServer) -> list[dict[str, Any]]:
    return parse_events(server.read_file(OBSERVATIONS))[0]


def wait_for(server: RunningServer, found: Callable[[list[dict[str, Any]]], bool],
             timeout_s: float) -> bool:
    """Until the probe's records satisfy ``found``; early out when the server died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found(_events(server)):
            return True
        if not server.is_alive():
            return found(_events(server))
        time.sleep(0.02)
    return False


def exit_of(server: RunningServer) -> dict[str, Any]:
    """How a server that is no longer running ended: its status, or the signal's name."""
    code = server.exit_code()
    return {"exit_code": code,
            "exit_signal": signal.Signals(-code).name if code is not None and code < 0
            and -code in signal.valid_signals() else None}


def _after(t: float | None, t_signal: float) -> float | None:
    return None if t is None else round(t - t_signal, 3)


def open_stop(server: RunningServer, record: dict[str, Any], websocket: bool,
              stop_s: float) -> None:
    """Open everything, SIGTERM the main process, watch each connection until it ends."""
    stream = _held.HeldStream(server.base_url)
    idle = _held.HeldIdle(server.base_url)
    drain = _held.DrainRequest(server.base_url)
    ws = _held.HeldWebSocket(server.base_url) if websocket else None
    holds: list[_held.Held] = [h for h in (stream, idle, drain, ws) if h is not None]
    deadline = time.monotonic() + HELD_READY_S  # one bound for all, not one each
    # The idle connection must have had its answer; the others are in place once the app
    # has them (its records, below): a stream's first bytes reaching the client is
    # measured, not waited for (pyvoy holds them back).
    idle.ready.wait(max(0.0, deadline - time.monotonic()))
    expected: dict[tuple[str, str], _held.Held] = {("hold.start", "stream"): stream,
                                                   ("http.start", "drain-ka"): drain}
    if ws is not None:
        expected[("hold.start", "ws-hold")] = ws

    def settled(events: list[dict[str, Any]]) -> bool:
        # Each held exchange reached the app, or its client saw it end (answered at once,
        # e.g. 500, or closed): then it never will, and waiting longer shows nothing.
        seen = {(e.get("event"), e.get("tag")) for e in events}
        return all(key in seen or hold.over() for key, hold in expected.items())

    wait_for(server, settled, max(0.0, deadline - time.monotonic()))
    seen = {(e.get("event"), e.get("tag")) for e in _events(server)}
    record["held_in_place"] = set(expected) <= seen
    record["held_missing"] = sorted(f"{event} {tag}" for event, tag in set(expected) - seen)
    if not server.is_alive():  # died under the traffic: the stop cannot be seen
        record["exited_early"] = exit_of(server)
    t_signal = time.monotonic()
    for hold in holds:
        hold.deadline = t_signal + stop_s + WATCH_AFTER_EXIT_S
    record["t_signal"] = t_signal
    record["stop"] = {**asdict(server.stop("main", stop_s)), "t_signal": t_signal}
    deadline = time.monotonic() + WATCH_AFTER_EXIT_S
    observed: dict[str, Any] = {"stream": stream.summary(t_signal) if stream.finish(deadline)
                                else {}}
    observed["idle"] = idle.finish(deadline)
    observed["drain_request"] = drain.finish(deadline)
    observed["websocket"] = ws.finish(deadline) if ws is not None else None
    for name, seen_by_client in observed.items():
        if seen_by_client is None:
            continue
        for key in [k for k in seen_by_client if k.startswith("t_")]:
            seen_by_client[f"{key[2:]}_after_signal_s"] = _after(seen_by_client[key], t_signal)
        response = seen_by_client.get("response")
        if isinstance(response, dict) and "t" in response:
            response["after_signal_s"] = _after(response["t"], t_signal)
        observed[name] = seen_by_client
    record["held"] = observed


def startup_hang(server: RunningServer, record: dict[str, Any], ready_s: float) -> None:
    """Wait for the hung startup, then SIGTERM; SIGINT if that did not end it; kill last."""
    record["hang_seen"] = wait_for(
        server, lambda ev: any(e.get("event") == "lifespan.startup.hang" for e in ev), ready_s)
    record["exited_before_signal"] = not server.is_alive()
    if not record["hang_seen"] or record["exited_before_signal"]:
        record["exit_code"] = server.exit_code()
        return
    signals: list[dict[str, Any]] = []
    start = time.monotonic()
    for name in ("SIGTERM", "SIGINT"):
        sent = time.monotonic()
        server.send_signal(name)
        record.setdefault("t_signal", sent)
        deadline = sent + HANG_SIGNAL_S
        while server.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        ended = not server.is_alive()
        signals.append({"signal": name, "ended": ended,
                        "seconds": round(time.monotonic() - sent, 3)})
        if ended:
            break
    record["signals"] = signals
    record["seconds"] = round(time.monotonic() - start, 3)
    record["exit_code"] = server.exit_code()
    if server.is_alive():
        record["stop"] = asdict(server.stop("group", 0.5))  # killed: the finding


RECYCLE_SETTLE_S = 1.0  #: traffic goes on this long after the replaced workers retired
RECYCLE_RETIRE_S = 10.0  #: a replaced worker that has not retired by then never will here
#: between one client's requests: sustained, not a flood; a lifetime budget is a minute
#: of traffic, so there the clients go slower
RECYCLE_PAUSE_S = {"requests": 0.005, "seconds": 0.05}
RECYCLE_CLIENTS = 2
#: a request budget's traffic never ends before this long, however few were sent
RECYCLE_CAP_S = 120.0


def recycle(server: RunningServer, record: dict[str, Any], bound_s: float,
            baseline_startups: int, pause_s: float, min_sent: int = 0) -> None:
    """Sustained traffic until a worker was replaced (or the server went away), counted.

    Two clients send requests back to back (a new connection each, so a retiring worker
    cannot keep one alive); each failure is kept with its time. The traffic ends
    ``RECYCLE_SETTLE_S`` after as many workers retired (lifespan.shutdown) as were
    replaced (a new lifespan.startup), ``RECYCLE_RETIRE_S`` after the first replacement,
    once the server died, or at ``bound_s`` once ``min_sent`` requests went out or the
    last one went unanswered (a budget of requests is crossed by requests, not by time: a
    loaded machine sends fewer a second), and in any case at ``RECYCLE_CAP_S``.
    """
    t_start = time.monotonic()
    record["t_traffic"] = t_start
    deadline = t_start + bound_s
    cap = t_start + max(bound_s, RECYCLE_CAP_S)
    outcomes: list[dict[str, Any]] = []
    lock = threading.Lock()
    done = threading.Event()

    def going() -> bool:  # past bound_s only while the server answers: a hung one is not
        now = time.monotonic()  # given more time
        return now < deadline or (now < cap and 0 < len(outcomes) < min_sent
                                  and outcomes[-1]["status"] is not None)

    def client(number: int) -> None:
        i = 0
        while not done.is_set() and going():
            got = _held.quick_get(server.base_url, f"/fast?tag=rc-{number}-{i}")
            alive = server.is_alive()
            with lock:
                outcomes.append({**got, "tag": f"rc-{number}-{i}", "alive_after": alive})
            i += 1
            time.sleep(pause_s)

    threads = [threading.Thread(target=client, args=(n,), daemon=True)
               for n in range(RECYCLE_CLIENTS)]
    for thread in threads:
        thread.start()
    first_new: float | None = None
    settle_until: float | None = None
    while going() and not done.is_set():
        time.sleep(0.05)
        if not server.is_alive():
            record["exited_during_traffic"] = True
            record["exit_code"] = server.exit_code()
            break
        events = _events(server)
        new = sum(e.get("event") == "lifespan.startup" for e in events) - baseline_startups
        if new <= 0:
            continue
        now = time.monotonic()
        first_new = first_new or now
        # A replacement may start before its predecessor stops (granian does): go on until
        # as many workers retired as were replaced, then a little longer.
        retired = sum(e.get("event") == "lifespan.shutdown" for e in events)
        if retired < new:
            settle_until = None
        elif settle_until is None:
            settle_until = now + RECYCLE_SETTLE_S
        if (settle_until is not None and now >= settle_until) \
                or now - first_new > RECYCLE_RETIRE_S:
            break
    done.set()
    for thread in threads:
        thread.join(5.0)
    record["traffic_seconds"] = round(time.monotonic() - t_start, 3)
    record["sent"] = len(outcomes)
    record["answered"] = sum(o["status"] == 200 for o in outcomes)
    failed = [o for o in outcomes if o["status"] != 200]
    for item in failed:
        item["after_start_s"] = round(item.pop("t") - t_start, 3)
    record["failed"] = failed[:50]
    record["failed_count"] = len(failed)
    record["failed_while_up"] = sum(1 for item in failed if item["alive_after"])
