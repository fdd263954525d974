"""What is done to each configuration: the scenarios, each one start of the server.

    main             normal app; sequential, concurrent and WebSocket traffic; a slow
                     request in flight when SIGTERM goes to the main process
    group            normal app; a slow request in flight when SIGTERM goes to the
                     whole process group (systemd's default, a terminal's Ctrl-C)
    startup-fail     the app fails its lifespan startup: does the server exit?
    reject-lifespan  the app raises on the lifespan scope: does the server still serve?
    open-stop        a WebSocket, an endless stream, an idle keep-alive connection and a
                     keep-alive request in flight at SIGTERM (measure/drive/lifecycle_scenarios.py)
    startup-hang     the lifespan startup never finishes: SIGTERM, then SIGINT
    lifespan-task    the lifespan keeps a long-lived task (a ticker in the task group it
                     opened): does lifespan.shutdown still come at SIGTERM, how fast?

Each returns a plain dict of observations (the probe's records plus what the client
saw); verdicts are computed from those later, by pure functions.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from asgi_matrix.measure.backends.observations import CLIENT, OBSERVATIONS, parse_events
from asgi_matrix.measure.backends.protocol import Backend, Prepared, RunningServer, StopScope
from asgi_matrix.measure.drive import lifecycle_scenarios as _lifecycle
from asgi_matrix.measure.drive import traffic as _traffic
from asgi_matrix.verdicts.lifecycle import OPEN_STOP_S

IN_FLIGHT_TIMEOUT_S = 5.0
STARTUPS_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Limits:
    """Every wait is bounded: a server that hangs costs at most these, never the run."""

    ready_s: float = 20.0  #: the slowest server here is ready in under 1 s; cold imports vary
    stop_s: float = 8.0  #: the slow request takes 1 s; a server still running is then killed
    #: with an endless stream open; a server still running is killed (it hung on the stream)
    open_stop_s: float = OPEN_STOP_S
    startup_fail_s: float = 6.0  #: how long a server may run on after a failed startup
    #: an in-process test client's whole run takes under 0.5 s, but test clients have
    #: startup timeouts of their own (asgi-lifespan: 5 s) that must get to show
    harness_s: float = 7.0


LIMITS = Limits()
GRACE_MARGIN_S = 1.0  #: past the server's own graceful timeout, before a kill


def for_server(limits: Limits, graceful_s: float) -> Limits:
    """The limits for a server with its own graceful timeout: no stop kills it before
    that ran out (and a margin), so what it does at its own deadline is what we see."""
    if not graceful_s:
        return limits
    floor = graceful_s + GRACE_MARGIN_S
    return replace(limits, stop_s=max(limits.stop_s, floor),
                   open_stop_s=max(limits.open_stop_s, floor))

#: scenario -> (probe mode, stop scope)
SCENARIOS: dict[str, tuple[str, StopScope]] = {
    "main": ("normal", "main"),
    "group": ("normal", "group"),
    "startup-fail": ("startup-fail", "group"),
    "reject-lifespan": ("reject-lifespan", "group"),
    "open-stop": ("normal", "main"),
    "startup-hang": ("startup-hang", "main"),
    "lifespan-task": ("lifespan-task", "main"),
    "recycle": ("normal", "main"),
}
RECYCLE_BOUND_S = 20.0  #: a request budget is crossed within a few seconds of traffic
#: ... by this many times the budget, sent (a budget per worker, spread over up to four
#: workers or loops): on a loaded machine the traffic goes on until they were sent
RECYCLE_SPREAD = 4
RECYCLE_AFTER_LIFETIME_S = 15.0  #: a lifetime budget: this much longer than the lifetime


def _events(server: RunningServer) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    return parse_events(server.read_file(OBSERVATIONS))


def _collect(server: RunningServer, record: dict[str, Any]) -> dict[str, Any]:
    record["server_pid"] = server.pid  # tells a supervisor from its workers
    record["events"], record["bad_lines"] = _events(server)
    record["log_tail"] = server.log_tail()
    return record


def _wait_in_flight(server: RunningServer, slow: _traffic.InFlight, timeout_s: float) -> bool:
    """Until the probe has written that the slow request started: then it is in flight.
    Ends as soon as it cannot be: the request already ended (answered at once, e.g. 500,
    or refused) or the server is gone."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events, _ = _events(server)
        if any(e.get("event") == "http.start" and e.get("tag") == "slow" for e in events):
            return True
        if slow.done() or not server.is_alive():
            return False
        time.sleep(0.01)
    return False


def _wait_startups(server: RunningServer, expected: int, timeout_s: float) -> None:
    """Until as many lifespans started as in the main scenario, so a stop never races them."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events, _ = _events(server)
        if sum(e.get("event") == "lifespan.startup" for e in events) >= expected \
                or not server.is_alive():
            return
        time.sleep(0.01)


def _stop_with_request_in_flight(server: RunningServer, scope: StopScope,
                                 record: dict[str, Any], limits: Limits,
                                 expected_startups: int) -> None:
    _wait_startups(server, expected_startups, STARTUPS_TIMEOUT_S)
    slow = _traffic.InFlight(server.base_url)
    record["slow_in_flight"] = _wait_in_flight(server, slow, IN_FLIGHT_TIMEOUT_S)
    record["slow_ended_before_signal"] = slow.done()
    if not server.is_alive():  # died under the slow request: the stop cannot be seen
        record["exited_early"] = _lifecycle.exit_of(server)
    t_signal = time.monotonic()  # the timeline's SIGTERM, on the probe's clock
    record["stop"] = {**asdict(server.stop(scope, limits.stop_s)), "t_signal": t_signal}
    record["slow"] = slow.join(limits.stop_s)


def serving(server: RunningServer, prepared: Prepared, scenario: str,
            limits: Limits, expected_startups: int = 0) -> dict[str, Any]:
    """The main and group scenarios."""
    mode, scope = SCENARIOS[scenario]
    record: dict[str, Any] = {"scenario": scenario, "mode": mode, "stop_scope": scope}
    record["ready"] = _traffic.wait_ready(server.base_url, server.is_alive, limits.ready_s)
    if record["ready"]["ok"]:
        if scenario == "main":
            record["requests"] = [*_traffic.sequential(server.base_url),
                                  *_traffic.concurrent(server.base_url),
                                  *_traffic.keepalive(server.base_url)]
            if prepared.config.http2:
                record["requests"] += _traffic.http2(server.base_url)
            else:
                record["http2"] = {"skipped": "the catalogue does not declare that this "
                                   "configuration speaks HTTP/2 over cleartext"}
            if prepared.config.websocket:
                record["websocket"] = _traffic.websocket(server.base_url)
            if server.is_alive():  # its answers are evidence, not part of all-answered
                record["pipelined"] = _traffic.pipelined(server.base_url)
        else:
            record["requests"] = _traffic.sequential(server.base_url, 2)
        if not server.is_alive():
            # A crash is a finding: what it did before is judged; the stop is not possible.
            record["exited_early"] = _lifecycle.exit_of(server)
        else:
            _stop_with_request_in_flight(server, scope, record, limits, expected_startups)
    if "stop" not in record:
        record["stop"] = asdict(server.stop(scope, limits.stop_s))
    return _collect(server, record)


def startup_fail(server: RunningServer, prepared: Prepared, scenario: str,
                 limits: Limits, expected_startups: int = 0) -> dict[str, Any]:
    """Wait for the server to exit after the failed startup; note anything it serves.

    Requests go out until one is answered after the failure is on record (a request
    answered while the startup still ran is no finding); then only the exit is awaited,
    bounded: a server that serves after a failed startup may still exit.
    """
    record: dict[str, Any] = {"scenario": scenario, "mode": "startup-fail"}
    start = time.monotonic()
    # Until the failure is on record, as long as a server may take to get ready; from
    # then on, startup_fail_s for the exit: a slow import never eats the exit's time.
    deadline = start + limits.ready_s
    failed_at: float | None = None
    served: list[dict[str, Any]] = []
    after_failure = False
    while server.is_alive() and time.monotonic() < deadline:
        if failed_at is None and any(e.get("event") == "lifespan.startup"
                                     for e in _events(server)[0]):
            failed_at = time.monotonic()
            deadline = failed_at + limits.startup_fail_s
        if not after_failure:
            got = _traffic.get(server.base_url, "/fast", "after-failure",
                               _traffic.httpx.Timeout(1.0, connect=0.3))
            if got["status"] is not None:
                served.append(got)
                after_failure = failed_at is not None
                if expected_startups == 0:
                    break  # it runs no lifespan (main scenario): nothing can fail here
        time.sleep(0.05)
    record["failure_seen_after_s"] = (round(failed_at - start, 3) if failed_at is not None
                                      else None)
    record["served"] = served
    record["exited_by_itself"] = not server.is_alive()
    record["exit_code"] = server.exit_code()
    record["seconds"] = round(time.monotonic() - start, 3)
    if server.is_alive():
        record["stop"] = asdict(server.stop("group", limits.stop_s))
    return _collect(server, record)


def reject_lifespan(server: RunningServer, prepared: Prepared, scenario: str,
                    limits: Limits, expected_startups: int = 0) -> dict[str, Any]:
    record: dict[str, Any] = {"scenario": scenario, "mode": "reject-lifespan"}
    record["ready"] = _traffic.wait_ready(server.base_url, server.is_alive, limits.ready_s)
    if record["ready"]["ok"]:
        record["requests"] = _traffic.sequential(server.base_url, 2)
    record["exit_code"] = server.exit_code()
    record["stop"] = asdict(server.stop("group", limits.stop_s))
    return _collect(server, record)


def open_stop(server: RunningServer, prepared: Prepared, scenario: str,
              limits: Limits, expected_startups: int = 0) -> dict[str, Any]:
    record: dict[str, Any] = {"scenario": scenario, "mode": "normal", "stop_scope": "main"}
    record["ready"] = _traffic.wait_ready(server.base_url, server.is_alive, limits.ready_s)
    if record["ready"]["ok"]:
        _wait_startups(server, expected_startups, STARTUPS_TIMEOUT_S)
        _lifecycle.open_stop(server, record, prepared.config.websocket, limits.open_stop_s)
    if "stop" not in record:
        record["stop"] = asdict(server.stop("main", limits.stop_s))
    return _collect(server, record)


def startup_hang(server: RunningServer, prepared: Prepared, scenario: str,
                 limits: Limits, expected_startups: int = 0) -> dict[str, Any]:
    record: dict[str, Any] = {"scenario": scenario, "mode": "startup-hang"}
    if expected_startups == 0:  # no lifespan ran in the main scenario: none can hang
        record["no_lifespan"] = True
        record["stop"] = asdict(server.stop("group", limits.stop_s))
    else:
        _lifecycle.startup_hang(server, record, limits.ready_s)
    return _collect(server, record)


def lifespan_task(server: RunningServer, prepared: Prepared, scenario: str,
                  limits: Limits, expected_startups: int = 0) -> dict[str, Any]:
    """A request once every lifespan (each with its ticker) started, then SIGTERM: the
    stop's length and the probe's records say whether lifespan.shutdown still came."""
    record: dict[str, Any] = {"scenario": scenario, "mode": "lifespan-task",
                              "stop_scope": "main"}
    record["ready"] = _traffic.wait_ready(server.base_url, server.is_alive, limits.ready_s)
    if record["ready"]["ok"]:
        _wait_startups(server, expected_startups, STARTUPS_TIMEOUT_S)
        record["requests"] = _traffic.sequential(server.base_url, 1)
    if not server.is_alive():
        record["exited_early"] = _lifecycle.exit_of(server)
    else:
        t_signal = time.monotonic()
        record["stop"] = {**asdict(server.stop("main", limits.stop_s)), "t_signal": t_signal}
    return _collect(server, record)


def recycle(server: RunningServer, prepared: Prepared, scenario: str,
            limits: Limits, expected_startups: int = 0) -> dict[str, Any]:
    record: dict[str, Any] = {"scenario": scenario, "mode": "normal", "stop_scope": "main",
                              "budget": list(prepared.config.recycle or ())}
    record["ready"] = _traffic.wait_ready(server.base_url, server.is_alive, limits.ready_s)
    if record["ready"]["ok"]:
        _wait_startups(server, expected_startups, STARTUPS_TIMEOUT_S)
        baseline = sum(e.get("event") == "lifespan.startup" for e in _events(server)[0])
        kind, amount = prepared.config.recycle or ("requests", 0)
        bound = amount + RECYCLE_AFTER_LIFETIME_S if kind == "seconds" else RECYCLE_BOUND_S
        _lifecycle.recycle(server, record, bound, baseline, _lifecycle.RECYCLE_PAUSE_S[kind],
                           min_sent=RECYCLE_SPREAD * int(amount) if kind == "requests" else 0)
    if server.is_alive():
        t_signal = time.monotonic()
        record["stop"] = {**asdict(server.stop("main", limits.stop_s)), "t_signal": t_signal}
    return _collect(server, record)


RUNNERS = {"main": serving, "group": serving, "startup-fail": startup_fail,
           "reject-lifespan": reject_lifespan, "open-stop": open_stop,
           "startup-hang": startup_hang, "lifespan-task": lifespan_task, "recycle": recycle}


def harness(server: RunningServer, prepared: Prepared, scenario: str,
            limits: Limits) -> dict[str, Any]:
    """An in-process test client drives the traffic itself and writes what it saw."""
    mode = SCENARIOS[scenario][0]
    record: dict[str, Any] = {"scenario": scenario, "mode": mode}
    start = time.monotonic()
    deadline = start + limits.harness_s
    served_after_failure: float | None = None
    while server.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
        if mode == "startup-fail" and served_after_failure is None and any(
                e.get("event") in ("http", "websocket") for e in _events(server)[0]):
            served_after_failure = time.monotonic()
        if served_after_failure is not None and time.monotonic() - served_after_failure > 1:
            break  # it serves after a failed startup: the finding; 1 s shows it did not exit
    record["seconds"] = round(time.monotonic() - start, 3)
    if server.is_alive():
        record["stop"] = asdict(server.stop("group", 2.0))
        record["timed_out"] = True
    record["exit_code"] = server.exit_code()
    try:
        record["client"] = json.loads(server.read_file(CLIENT) or b"")
        record.update({k: record["client"].get(k) for k in ("ready", "requests", "websocket")})
    except (OSError, ValueError) as err:
        record["client"] = None
        record["error"] = f"the harness wrote no results ({type(err).__name__}: {err})"
    return _collect(server, record)


def run_scenario(backend: Backend, prepared: Prepared, scenario: str,
                 limits: Limits = LIMITS, expected_startups: int = 0) -> dict[str, Any]:
    """One start of the server, driven through one scenario; observations only.

    ``expected_startups`` is how many lifespans the main scenario saw start: later stops
    wait for as many, so a stop signal never races a startup still in progress.
    """
    mode = SCENARIOS[scenario][0]
    started = time.monotonic()
    with backend.start(prepared, scenario, {"ASGI_MATRIX_MODE": mode}) as server:
        if prepared.config.kind == "harness":
            record = harness(server, prepared, scenario, limits)
        else:
            record = RUNNERS[scenario](server, prepared, scenario, limits, expected_startups)
    record["wall_s"] = round(time.monotonic() - started, 3)  # what the scenario cost (bench)
    return record


def scenarios_for(prepared: Prepared) -> list[str]:
    if prepared.config.kind == "harness":
        return ["main", "startup-fail", "reject-lifespan"]
    return [name for name in SCENARIOS if name != "recycle" or prepared.config.recycle]
