"""The floor both matrix benchmarks compare against: what one bare start costs."""

from __future__ import annotations

import time
from typing import Any

from asgi_matrix import Prepared, wait_ready

SLOW_S = 1.0  #: the probe's /slow: in flight at each of the two stops
STOPS_IN_FLIGHT = ("main", "group", "open-stop")  #: a slow request in flight at the signal
STOPS_WITH_REQUEST_IN_FLIGHT = len(STOPS_IN_FLIGHT)


def bare_start_to_exit(backend: Any, prepared: Prepared, ready_s: float = 30.0) -> float:
    """Start, first answer, SIGTERM, exit: what one start costs with nothing else done.

    A server that never answers is measured as it is: the matrix pays the same wait.
    """
    start = time.monotonic()
    with backend.start(prepared, "bare", {"ASGI_MATRIX_MODE": "normal"}) as server:
        if prepared.config.kind == "harness":  # it drives itself and exits
            while server.is_alive() and time.monotonic() - start < 60:
                time.sleep(0.005)
        else:
            ready = wait_ready(server.base_url, server.is_alive, ready_s)
            if ready["ok"]:
                stopped = server.stop("group", 10.0)
                if stopped.killed:  # the kill wait is counted once, as forced grace
                    return time.monotonic() - start - stopped.seconds
    return time.monotonic() - start


def inherent_waits(prepared: Prepared) -> float:
    """The waits a property needs whatever the server: the slow request at each stop."""
    return 0.0 if prepared.config.kind == "harness" else SLOW_S * STOPS_WITH_REQUEST_IN_FLIGHT


def forced_grace(cell: dict[str, Any], stop_s: float, startup_fail_s: float) -> float:
    """The grace periods a server forced in the run by not exiting (concluding "it did
    not exit" needs the whole period: a stop that ended in a kill, a signal that did not
    end a hung startup, a failed startup it stayed up after) or by exiting late (the
    wait ends on its exit, no sooner), so no matrix can be faster than its floor plus
    these. Read from the recorded observations of the cell's attempts."""
    forced = 0.0
    for attempt in cell.get("attempts") or []:
        for name, record in (attempt.get("scenarios") or {}).items():
            stop = record.get("stop") or {}
            if stop.get("killed"):  # ignored SIGTERM: killed once its grace period ran out
                forced += float(stop.get("seconds") or stop_s)  # (open-stop's is shorter)
            elif name in STOPS_IN_FLIGHT:
                # it exited by itself, but only this long after the signal (hypercorn waits
                # its graceful timeout on an open stream): the exit is the observation that
                # ends the wait; the slow request's second is an inherent wait already
                forced += max(0.0, float(stop.get("seconds") or 0.0) - SLOW_S)
            # a signal that did not end a hung startup: "it did not" needs its whole period
            forced += sum(float(sent.get("seconds") or 0.0) for sent in
                          record.get("signals") or [] if not sent.get("ended"))
            ready = record.get("ready") or {}
            if ready and not ready.get("ok") and not ready.get("exited"):
                forced += float(ready.get("seconds") or 0.0)  # "never answered": the bound
            if name == "startup-fail" and record.get("failure_seen_after_s") is not None \
                    and not record.get("exited_by_itself"):
                forced += startup_fail_s  # still running after its startup failed
    return forced
