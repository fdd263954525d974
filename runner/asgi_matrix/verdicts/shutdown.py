"""Shutdown: after SIGTERM, does the app get lifespan.shutdown, and only after in-flight
requests finished? Judged once per stop scenario (main process only, whole group)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgi_matrix.verdicts import references as refs
from asgi_matrix.verdicts._model import (
    Observations,
    Property,
    Verdict,
    judged_on,
    lifespan_ran,
    measured,
)

#: stop scenario -> how the signal was sent, in words
STOPS = {"main": "SIGTERM to the main process", "group": "SIGTERM to the process group"}


def _harness(obs: Observations) -> Verdict | None:
    if obs.kind == "harness":
        return Verdict("n/a", "an in-process test client: there is no server process to signal")
    return None


def _exited_early(obs: Observations, name: str) -> Verdict | None:
    """A server that died during the traffic was never stopped: how it stops is unknown."""
    died = (obs.scenario(name) or {}).get("exited_early")
    if died:
        how = died.get("exit_signal") or f"status {died.get('exit_code')}"
        return Verdict("error", f"the server had already exited ({how}) before the stop signal "
                       f"({name} scenario), so how it stops could not be seen", {"exited": died})
    return None


def _ignored_sigterm(obs: Observations, name: str) -> Verdict | None:
    """A server that had to be killed could not show how it shuts down: an error cell."""
    record = obs.scenario(name) or {}
    stop = record.get("stop") or {}
    if stop.get("killed"):
        return Verdict("error", f"the server ignored {STOPS[name]} and was killed after "
                       f"{stop.get('seconds')} s", {"stop": stop,
                                                    "log_tail": record.get("log_tail", "")})
    return None


def _stopped(obs: Observations, name: str) -> str:
    stop = (obs.scenario(name) or {}).get("stop") or {}
    if stop.get("killed"):
        return f"; it ignored SIGTERM and was killed after {stop.get('seconds')} s"
    return f"; it exited {stop.get('seconds')} s after the signal"


def delivered(name: str) -> Callable[[Observations], Verdict]:
    def check(obs: Observations) -> Verdict:
        if problem := (_harness(obs) or _exited_early(obs, name) or _ignored_sigterm(obs, name)
                       or measured(obs, name) or lifespan_ran(obs, name)):
            return problem
        stop = (obs.scenario(name) or {}).get("stop")
        started = {e["loop_id"]: e for e in obs.startups(name)}
        shut = {e["loop_id"] for e in obs.events(name, "lifespan.shutdown")}
        missing = [loop for loop in started if loop not in shut]
        if missing:
            return Verdict("fail", f"{len(missing)} of {len(started)} loop(s) that ran a "
                           f"lifespan startup never got lifespan.shutdown after "
                           f"{STOPS[name]}{_stopped(obs, name)}",
                           {"missing": missing, "stop": stop})
        return Verdict("pass", f"every one of {len(started)} loop(s) that ran a startup got "
                       f"lifespan.shutdown after {STOPS[name]}",
                       {"stop": stop})

    check.__name__ = f"delivered_{name}"
    return check


def after_drain(name: str) -> Callable[[Observations], Verdict]:
    def check(obs: Observations) -> Verdict:
        if problem := (_harness(obs) or _exited_early(obs, name) or _ignored_sigterm(obs, name)
                       or measured(obs, name)):
            return problem
        record = obs.scenario(name) or {}
        if not record.get("slow_in_flight") and record.get("slow_ended_before_signal"):
            slow = record.get("slow") or {}
            got = (f"was answered with status {slow['status']}" if slow.get("status")
                   else f"got no answer ({slow.get('error')})")
            raised = obs.events(name, "app.error")
            why = f" (the app raised: {raised[0].get('error')})" if raised else ""
            return Verdict("n/a", f"the slow request {got}{why} before the stop signal, "
                           f"so no request was in flight at {STOPS[name]} to drain",
                           {"slow": slow, "log_tail": record.get("log_tail", "")})
        if not record.get("slow_in_flight"):
            return Verdict("error", "the slow request never reached the app before the stop "
                           "signal, so draining could not be measured",
                           {"log_tail": record.get("log_tail", "")})
        slow = record.get("slow") or {}
        evidence = {"slow": {k: slow.get(k) for k in ("status", "error")},
                    "stop": record.get("stop")}
        if slow.get("status") != 200:
            return Verdict("fail", f"the request in flight at {STOPS[name]} was cut: "
                           f"{slow.get('error') or slow.get('status')}{_stopped(obs, name)}",
                           evidence)
        # Only the slow request's own loop must wait for it: other workers may go first.
        finished = [e for e in obs.events(name, "http") if e.get("tag") == "slow"]
        early = [e for e in obs.events(name, "lifespan.shutdown")
                 if finished and e["loop_id"] == finished[0]["loop_id"]
                 and e["t"] < finished[0]["t_end"]]
        if early:
            lead = finished[0]["t_end"] - early[0]["t"]
            return Verdict("fail", f"lifespan.shutdown reached the app {lead:.3f} s before the "
                           "request in flight on the same loop had finished", evidence)
        return Verdict("pass", f"the request in flight at {STOPS[name]} completed"
                       + (" before lifespan.shutdown" if obs.startups(name) else ""), evidence)

    check.__name__ = f"after_drain_{name}"
    return check


def _stops(obs: Observations) -> list[tuple[str, dict[str, Any]]] | Verdict:
    """Each stop scenario's outcome, or the verdict that says why there is none."""
    if problem := _harness(obs):
        return problem
    stops = [(name, (obs.scenario(name) or {}).get("stop")) for name in STOPS]
    found = [(name, stop) for name, stop in stops if stop]
    for name, _ in found:
        if problem := _ignored_sigterm(obs, name):
            return problem
    # A server that never served cannot show how it stops: its exit is not a finding.
    if problem := measured(obs, "main"):
        return problem
    if not found:
        return Verdict("error", "the server was never stopped")
    return found


@judged_on(_stops)
def no_orphans(obs: Observations, stops: list[tuple[str, dict[str, Any]]]) -> Verdict:
    """After the main process exited, nothing of the server may still run."""
    if all(stop.get("orphans") is None for _, stop in stops):
        return Verdict("n/a", "in a container every process of the server ends with its PID 1: "
                       "none can outlive it")
    left = {name: stop["orphans"] for name, stop in stops if stop.get("orphans")}
    if left:
        name, pids = next(iter(left.items()))
        return Verdict("fail", f"after {STOPS[name]} its main process exited but {len(pids)} "
                       f"of its processes kept running (pids {', '.join(map(str, pids))}); "
                       "the runner killed them", {"orphans": left})
    return Verdict("pass", "no process of the server outlived it after "
                   + " or ".join(STOPS[name] for name, _ in stops))


def _graceful(obs: Observations, name: str) -> str | None:
    """None when the stop was graceful (the request in flight answered, every loop that ran
    a startup got lifespan.shutdown); else what was not."""
    record = obs.scenario(name) or {}
    if record.get("slow_in_flight") and (record.get("slow") or {}).get("status") != 200:
        return "the request in flight was cut"
    started = {e.get("loop_id") for e in obs.startups(name)}
    shut = {e.get("loop_id") for e in obs.events(name, "lifespan.shutdown")}
    if started - shut:
        return f"{len(started - shut)} loop(s) never got lifespan.shutdown"
    return None


def _early(obs: Observations) -> dict[str, dict[str, Any]]:
    """The stop scenarios whose server exited before the signal: how."""
    return {name: died for name in STOPS
            if (died := (obs.scenario(name) or {}).get("exited_early"))}


def _stops_uncrashed(obs: Observations) -> list[tuple[str, dict[str, Any]]] | Verdict:
    """The stops, or a fail verdict for a crash before any signal (a finding: no stop is
    needed to see it), or why there are none."""
    for name, died in _early(obs).items():
        if died.get("exit_signal") or died.get("exit_code") not in (0, None):
            how = (f"with {died['exit_signal']}" if died.get("exit_signal")
                   else f"with status {died.get('exit_code')}")
            return Verdict("fail", f"the server died {how} before any stop signal ({name} "
                           "scenario, under the traffic): a crash, not a clean exit",
                           {"exited": died})
    return _stops(obs)


@judged_on(_stops_uncrashed)
def clean_exit(obs: Observations, stops: list[tuple[str, dict[str, Any]]]) -> Verdict:
    """The server ends by itself after SIGTERM: status 0, or by the SIGTERM it was sent
    once it had stopped gracefully (a re-raised signal); a bare death by SIGTERM is not.
    A crash before any signal is a finding; an exit with status 0 before it is judged by
    the other stop, or not at all."""
    early = _early(obs)
    stops = [(name, stop) for name, stop in stops if name not in early]
    if not stops:
        return _exited_early(obs, next(iter(early))) or Verdict("error", "never stopped")
    bad = []
    for name, stop in stops:
        if stop.get("exit_code") == 0:
            continue
        if stop.get("exit_signal") == "SIGTERM":
            if (why := _graceful(obs, name)) is not None:
                bad.append((name, f"died by the SIGTERM without a graceful stop ({why})", stop))
            continue
        how = (f"signal {stop['exit_signal']}" if stop.get("exit_signal")
               else f"status {stop.get('exit_code')}")
        bad.append((name, f"ended with {how}, as a crash would", stop))
    if bad:
        name, what, _ = bad[0]
        return Verdict("fail", f"after {STOPS[name]} the server {what}",
                       {"stops": dict(stops)})
    ways = sorted({"status 0" if s.get("exit_code") == 0 else "re-raised SIGTERM"
                   for _, s in stops})
    return Verdict("pass", f"the server exited by itself ({' and '.join(ways)}) after "
                   + " and ".join(STOPS[name] for name, _ in stops), {"stops": dict(stops)})


def long_lived_task(obs: Observations) -> Verdict:
    """While each lifespan keeps a long-lived task (a ticker in the task group it opened),
    SIGTERM still brings lifespan.shutdown to every loop that started; how long it took.
    Servers that send it only once every other task on the loop ended never do."""
    name = "lifespan-task"
    if problem := (_harness(obs) or _exited_early(obs, name) or measured(obs, name)
                   or lifespan_ran(obs, name)):
        return problem
    record = obs.scenario(name) or {}
    stop = record.get("stop") or {}
    t_signal = stop.get("t_signal")
    started = {e["loop_id"]: e for e in obs.startups(name)}
    shut = {e["loop_id"]: e for e in obs.events(name, "lifespan.shutdown")}
    tickers = len([e for e in obs.events(name, "lifespan.task") if e.get("phase") == "started"])
    after = sorted(round(e["t"] - t_signal, 3) for e in shut.values()
                   if t_signal is not None and isinstance(e.get("t"), (int, float)))
    evidence: dict[str, Any] = {"stop": stop, "tickers": tickers, "lifespans": len(started),
                                "shutdown_after_s": after}
    how = (f"it ignored SIGTERM and was killed after {stop.get('seconds')} s"
           if stop.get("killed") else f"it exited {stop.get('seconds')} s after the signal")
    missing = [loop for loop in started if loop not in shut]
    if missing:
        return Verdict("fail", f"{len(missing)} of {len(started)} loop(s) never got "
                       f"lifespan.shutdown while the lifespan kept a long-lived task "
                       f"({tickers} ticker(s) running); {how}",
                       {**evidence, "missing": missing})
    return Verdict("pass", f"every one of {len(started)} loop(s) got lifespan.shutdown with "
                   f"a long-lived task running in its lifespan ({tickers} ticker(s)), "
                   f"{after[-1] if after else '?'} s after SIGTERM at the latest; {how}",
                   evidence)


def _per_stop() -> list[Property]:
    found = []
    for name, how in STOPS.items():
        found.append(Property(
            f"shutdown.delivered.sigterm-{name}", "shutdown", f"Shutdown delivered ({how})",
            f"After {how}, every loop that ran a lifespan startup receives lifespan.shutdown.",
            refs.SHUTDOWN, delivered(name),
            "lifespan.shutdown reaches the app on every loop, so it can close its resources",
            level="SHOULD", scenario=name))
        found.append(Property(
            f"shutdown.after-drain.sigterm-{name}", "shutdown", f"Drains first ({how})",
            f"A request in flight at {how} completes, and lifespan.shutdown comes after it.",
            refs.SHUTDOWN_DRAIN, after_drain(name),
            "the slow request gets its response; shutdown starts only afterwards",
            level="not-in-spec", scenario=name))
    return found


#: this group's properties, in the order the matrix shows them
PROPERTIES: tuple[Property, ...] = (
    *_per_stop(),
    Property("shutdown.long-lived-task", "shutdown", "Shutdown with a long-lived task",
             "While the lifespan keeps a long-lived task (a ticker in the task group it "
             "opened), SIGTERM to the main process still brings lifespan.shutdown to every "
             "loop that started; the explanation says how long the stop took.",
             refs.SHUTDOWN, long_lived_task,
             "lifespan.shutdown comes at SIGTERM whatever tasks the lifespan keeps (servers "
             "that wait for every other task on the loop first never send it)",
             level="SHOULD", scenario="lifespan-task"),
    Property("shutdown.no-orphans", "shutdown", "No orphan processes",
             "After the stop signal, no process of the server is left running once its main "
             "process exited (the runner removes any leftovers itself).",
             refs.SHUTDOWN_NO_ORPHANS, no_orphans,
             "every worker exits with the server"),
    Property("shutdown.clean-exit", "shutdown", "Exits cleanly",
             "After the stop signal the server exits by itself, with status 0 or by the "
             "SIGTERM it was sent, not by a crash.",
             refs.SHUTDOWN_CLEAN_EXIT, clean_exit,
             "status 0 (or SIGTERM re-raised after a graceful shutdown)"),
)
