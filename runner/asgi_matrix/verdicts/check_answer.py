"""The answer for a user's own app under one server: works, works with caveats, breaks.

A pure function of what ``measure/check_run.py`` recorded for one configuration: the
recording layer's records (lifespan messages, requests), what the client saw, the stop
and the server's log. Each finding carries its level and evidence:

  breaks   the app did not import; the server never served it; a lifespan startup or
           shutdown failed or raised; a request got a 5xx, raised, or no answer; the
           request in flight at SIGTERM got a 5xx; a lifespan's shutdown never came while
           the server exited; the log shows a loop-bound object used from another loop or
           a task destroyed while still pending (work lost)
  caveat   no lifespan ran at all (startup and shutdown code never ran); a request
           answered 4xx (is the path right?); requests served on an event loop that ran
           no lifespan; the request in flight at SIGTERM got no answer; the server needed
           SIGKILL, exited with a failure status or left processes behind; the log shows
           tracebacks, unclosed resources or "Exception ignored"
  note     facts worth knowing that are no problem (the app has no lifespan; where the
           lifespans and requests ran)

The answer is the worst level found; "not run" where the configuration cannot run here;
"error" where nothing could be observed (the server never answered and said nothing).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from asgi_matrix.verdicts.check_log import Finding, Level, last_error_line, log_findings

CheckStatus = Literal["works", "caveats", "breaks", "not run", "error"]
#: how each status reads, words first
WORDS: dict[str, str] = {"works": "works", "caveats": "works with caveats",
                         "breaks": "breaks", "not run": "not run here", "error": "error"}
#: exit statuses that mean "ended by the SIGTERM we sent": 0, -15 (re-raised), 143 (a shell's)
SIGTERM_EXITS = (0, None, -15, 143)
CARRIERS = {"new": "new connections one after another", "ka": "one kept-alive connection",
            "conc": "new connections at once", "held": "the request in flight at SIGTERM"}



@dataclass(frozen=True)
class CheckAnswer:
    """The answer for one configuration, in words first, with every finding."""

    config: str
    status: CheckStatus
    explanation: str
    findings: tuple[Finding, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"config": self.config, "status": self.status, "words": WORDS[self.status],
                "explanation": self.explanation,
                "findings": [f.to_json() for f in self.findings], "facts": self.facts}


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == f"check.{kind}"]


def _where(record: dict[str, Any]) -> str:
    return (f"pid {record.get('pid')}, thread {record.get('thread_name')}, "
            f"loop {record.get('loop_id')}")


def _place(record: dict[str, Any]) -> tuple[Any, Any, Any]:
    return record.get("pid"), record.get("interpreter"), record.get("loop_id")


def judge(record: dict[str, Any]) -> CheckAnswer:
    """The answer for one configuration from its record."""
    config = str(record.get("config", "?"))
    if "error" in record and record.get("stage") == "prepare":
        status: CheckStatus = "not run" if record.get("not_runnable") else "error"
        return CheckAnswer(config, status, str(record["error"]))
    events: list[dict[str, Any]] = record.get("events", [])
    log = str(record.get("log", "") or record.get("log_tail", ""))
    imports = _of(events, "import")
    if failed := [e for e in imports if not e.get("ok")]:
        first = failed[0]
        finding = Finding("breaks", f"the app did not import: {first.get('error')}",
                          {"traceback": first.get("traceback", ""), "where": _where(first)})
        return _answer(config, [finding], {})
    if not (record.get("ready") or {}).get("ok"):
        return _never_served(config, record, events, log)
    findings: list[Finding] = []
    facts = _facts(record, events)
    findings += _lifespan(events, record)
    findings += _requests(record, events)
    findings += _loops(events)
    findings += _tasks(events)
    findings += _stop(record)
    findings += log_findings(log)
    return _answer(config, findings, facts)


def _answer(config: str, findings: list[Finding], facts: dict[str, Any]) -> CheckAnswer:
    levels = {f.level for f in findings}
    status: CheckStatus = ("breaks" if "breaks" in levels
                           else "caveats" if "caveat" in levels else "works")
    worst = [f for f in findings if f.level == ("breaks" if status == "breaks" else "caveat")]
    if worst:
        explanation = "; ".join(f.text for f in worst[:3]) + (
            f"; and {len(worst) - 3} more" if len(worst) > 3 else "")
    else:
        explanation = facts.get("summary", "every request succeeded")
    return CheckAnswer(config, status, explanation, tuple(findings), facts)


def _never_served(config: str, record: dict[str, Any], events: list[dict[str, Any]],
                  log: str) -> CheckAnswer:
    ready = record.get("ready") or {}
    why = str(record.get("error") or "")
    error = last_error_line(log or str(record.get("log_tail", "")))
    lifespans = _lifespan(events, record)
    if error or any(f.level == "breaks" for f in lifespans):
        what = ("the server exited before it answered a request" if ready.get("exited")
                else f"the server never answered a request in {ready.get('seconds', '?')} s")
        return _answer(config, [*lifespans, Finding(
            "breaks", what + (f"; its log: {error}" if error else ""),
            {"ready": ready, "log_error": error})], {})
    return CheckAnswer(config, "error", "could not be observed: "
                       + (why or "the server never answered and logged no error"),
                       (), {"ready": ready})


def _facts(record: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    requests = _of(events, "request")
    sent = record.get("requests", [])
    lifespans = [e for e in _of(events, "lifespan") if e.get("received") == "lifespan.startup"]
    facts: dict[str, Any] = {
        "requests_sent": len(sent),
        "answered": dict(Counter(str(r.get("status")) for r in sent)),
        "processes": len({e.get("pid") for e in requests}),
        "loops": len({_place(e) for e in requests}),
        "lifespans": len(lifespans),
        "lifespan_places": sorted({_where(e) for e in lifespans}),
    }
    completed = [e for e in _of(events, "lifespan")
                 if e.get("sent") == "lifespan.shutdown.complete"]
    facts["shutdowns_completed"] = len(completed)
    outcomes: dict[str, str] = {}
    for task in _of(events, "task"):  # the last record of each: running, or how it ended
        outcomes[str(task.get("task_key"))] = str(task.get("outcome"))
    facts["background_tasks"] = dict(Counter(outcomes.values()))
    stop = record.get("stop") or {}
    held = record.get("held") or {}
    if stop:
        facts["stop"] = {k: stop.get(k) for k in ("exit_code", "exit_signal", "seconds",
                                                  "killed", "orphans")}
    if held:
        facts["in_flight_at_sigterm"] = {k: held.get(k) for k in (
            "method", "path", "status", "error", "done_after_signal_s")}
    parts = [f"all {len(sent)} requests answered "
             + ", ".join(f"{n}x {s}" for s, n in facts["answered"].items())
             + f" on {facts['loops']} event loop(s) in {facts['processes']} process(es)"]
    if lifespans:
        parts.append(f"{len(lifespans)} lifespan(s) started, {len(completed)} shut down")
    if held.get("status") is not None:
        parts.append(f"the request in flight at SIGTERM got {held['status']}")
    if stop and not stop.get("killed"):
        parts.append(f"the server exited {stop.get('seconds')} s after SIGTERM")
    facts["summary"] = "; ".join(parts)
    return facts


def _lifespan(events: list[dict[str, Any]], record: dict[str, Any]) -> list[Finding]:
    messages = _of(events, "lifespan")
    out: list[Finding] = []
    startups = [e for e in messages if e.get("received") == "lifespan.startup"]
    raised = [e for e in messages if e.get("error")]
    no_lifespan = [e for e in raised if not e.get("during")]
    if no_lifespan and not startups:
        first = no_lifespan[0]
        return [Finding("note", f"the app has no lifespan: it raised {first.get('error')} on "
                        "the lifespan scope, which servers take as \"not supported\"",
                        {"where": _where(first)})]
    for e in raised:
        if e.get("during"):
            phase = str(e["during"]).split(".")[-1]
            out.append(Finding("breaks", f"the lifespan {phase} raised {e.get('error')} "
                               f"({_where(e)})", {"traceback": e.get("traceback", "")}))
    for e in messages:
        if str(e.get("sent", "")).endswith(".failed"):
            phase = str(e["sent"]).split(".")[1]
            out.append(Finding("breaks", f"the app reported its lifespan {phase} failed: "
                               f"{e.get('message') or '(no message)'} ({_where(e)})", {}))
    if not startups:
        if record.get("requests"):
            out.append(Finding("caveat", "the server ran no lifespan: the app's startup and "
                               "shutdown code never ran", {}))
        return out
    completed = [e for e in messages if e.get("sent") == "lifespan.startup.complete"]
    shutdowns = [e for e in messages if e.get("received") == "lifespan.shutdown"]
    done = [e for e in messages if e.get("sent") == "lifespan.shutdown.complete"]
    stop = record.get("stop") or {}
    exited = stop and not stop.get("killed")
    if completed and len(shutdowns) < len(completed):
        level: Level = "breaks" if exited else "caveat"
        out.append(Finding(level, f"{len(completed) - len(shutdowns)} of {len(completed)} "
                           "lifespans never got lifespan.shutdown: the app's shutdown code "
                           "never ran" + (" although the server exited" if exited else ""),
                           {"startups": [_where(e) for e in completed],
                            "shutdowns": [_where(e) for e in shutdowns]}))
    elif shutdowns and len(done) < len(shutdowns) and not any(
            f.level == "breaks" for f in out):
        out.append(Finding("caveat", f"{len(shutdowns) - len(done)} of {len(shutdowns)} "
                           "lifespan shutdowns never completed (the server ended first)",
                           {"shutdowns": [_where(e) for e in shutdowns]}))
    return out


def _describe(sent: dict[str, Any]) -> str:
    return (f"{sent.get('method')} {sent.get('path')} on "
            f"{CARRIERS.get(str(sent.get('carrier')), sent.get('carrier'))}")


def _requests(record: dict[str, Any], events: list[dict[str, Any]]) -> list[Finding]:
    sent: list[dict[str, Any]] = record.get("requests", [])
    seen = {str(e.get("tag")): e for e in _of(events, "request") if e.get("tag")}
    out: list[Finding] = []
    failed = [s for s in sent if s.get("status") is None or s["status"] >= 500]
    if failed:
        first = failed[0]
        app_side = seen.get(str(first.get("tag")), {})
        body = " ".join(str(app_side.get("body") or first.get("body") or "").split())[:200]
        what = (app_side.get("error") or first.get("error")
                or f"status {first.get('status')}: {body}")
        kinds = Counter(str(s.get("carrier")) for s in failed)
        out.append(Finding("breaks", f"{len(failed)} of {len(sent)} requests failed, the first "
                           f"{_describe(first)} with {what}"
                           + (f" ({_where(app_side)})" if app_side else ""),
                           {"traceback": app_side.get("traceback", ""), "client": first,
                            "by_carrier": dict(kinds),
                            "errors": dict(Counter(
                                str(seen.get(str(s.get("tag")), {}).get("error")
                                    or s.get("error") or s.get("status"))
                                for s in failed).most_common(3))}))
    raised_but_answered = [e for e in seen.values() if e.get("error")
                           and (e.get("status") or 0) < 500 and e.get("status") is not None]
    levels: tuple[tuple[bool, Level], ...] = ((False, "breaks"), (True, "caveat"))
    for held, level in levels:
        group = [e for e in raised_but_answered if bool(e.get("held")) == held]
        if not group:
            continue
        first = group[0]
        when = (" (the request in flight at SIGTERM: the server let its connection go)"
                if held else "")
        out.append(Finding(level, f"the app raised {first.get('error')} after answering "
                           f"{first.get('status')}{when} ({_where(first)})",
                           {"traceback": first.get("traceback", "")}))
    for path, group in _by_request(s for s in sent if 400 <= (s.get("status") or 0) < 500):
        out.append(Finding("caveat", f"{path} answered {group[0]['status']} on {len(group)} "
                           "request(s): is the path (or body) right?",
                           {"body": str(group[0].get("body", ""))[:200]}))
    return out


def _by_request(sent: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for s in sent:
        out.setdefault(f"{s.get('method')} {s.get('path')}", []).append(s)
    return list(out.items())


def _loops(events: list[dict[str, Any]]) -> list[Finding]:
    """Requests served on an event loop whose process ran no lifespan on it, while
    lifespans ran elsewhere: what the app made in its lifespan belongs to another loop."""
    lifespans = {_place(e) for e in _of(events, "lifespan")
                 if e.get("sent") == "lifespan.startup.complete"}
    if not lifespans:
        return []
    requests = [e for e in _of(events, "request") if e.get("tag")]
    orphans = [e for e in requests if _place(e) not in lifespans]
    if not orphans:
        return []
    places = sorted({_where(e) for e in orphans})
    return [Finding("caveat", f"{len(orphans)} of {len(requests)} requests ran on an event "
                    f"loop that ran no lifespan ({places[0]}"
                    + (f" and {len(places) - 1} more" if len(places) > 1 else "")
                    + "): what the lifespan made belongs to another loop",
                    {"loops_without_lifespan": places,
                     "lifespan_loops": sorted(str(p) for p in lifespans)})]


def _tasks(events: list[dict[str, Any]]) -> list[Finding]:
    """Background work: tasks a request started that outlived it, and how they ended."""
    started = {t.get("task_key") for t in _of(events, "task") if t.get("outcome") == "running"}
    tasks = [t for t in _of(events, "task") if t.get("outcome") != "running"]
    never = started - {t.get("task_key") for t in tasks}
    out: list[Finding] = []
    failed = [t for t in tasks if t.get("outcome") == "failed"]
    cancelled = [t for t in tasks if t.get("outcome") == "cancelled"]
    early = [t for t in cancelled if not t.get("own_loop_shutting_down")]
    evidence = {"background_tasks": len(started | {t.get("task_key") for t in tasks}),
                "finished": sum(t.get("outcome") == "finished" for t in tasks),
                "failed": len(failed), "cancelled": len(cancelled), "never_ended": len(never)}
    total = evidence["background_tasks"]
    if failed:
        first = failed[0]
        out.append(Finding("breaks", f"{len(failed)} of {total} background tasks started "
                           f"by requests failed, the first (from {first.get('method')} "
                           f"{first.get('path')}) with {first.get('error')} ({_where(first)})",
                           evidence))
    if early:
        first = early[0]
        out.append(Finding("breaks", f"{len(early)} of {total} background tasks started "
                           f"by requests were cancelled while their own event loop's lifespan "
                           f"was still running (the first from {first.get('method')} "
                           f"{first.get('path')}, {first.get('after_request_s')} s after its "
                           f"request, {_where(first)}): another loop's task group or shutdown "
                           "ended them, and their work was lost", evidence))
    elif cancelled:
        first = cancelled[0]
        out.append(Finding("caveat", f"{len(cancelled)} of {total} background tasks "
                           "started by requests were cancelled at shutdown, unfinished (the "
                           f"first from {first.get('method')} {first.get('path')}, "
                           f"{_where(first)})", evidence))
    if never:
        out.append(Finding("caveat", f"{len(never)} of {total} background tasks started by "
                           "requests never ended: the process exited under them", evidence))
    return out


def _stop(record: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    held = record.get("held") or {}
    if held:
        status = held.get("status")
        if status is not None and status >= 500:
            body = " ".join(str(held.get("body", "")).split())[:200]
            out.append(Finding("breaks", f"the request in flight at SIGTERM got {status}: "
                               f"{body}", {"client": held}))
        elif status is None:
            out.append(Finding("caveat", "the request in flight at SIGTERM got no answer: "
                               f"{held.get('error')}", {"client": held}))
    stop = record.get("stop") or {}
    if record.get("alive_at_stop") is False:
        early = record.get("exited_early") or {}
        how = (f"with {early['exit_signal']}" if early.get("exit_signal")
               else f"with status {early.get('exit_code')}")
        out.append(Finding("breaks", f"the server died under the traffic ({how}) before the "
                           "stop signal", {"exit": early}))
        return out
    if stop.get("killed"):
        out.append(Finding("caveat", f"the server did not exit within {stop.get('seconds')} s "
                           "of SIGTERM and was killed", {"stop": stop}))
    elif stop and stop.get("exit_code") not in SIGTERM_EXITS \
            and stop.get("exit_signal") != "SIGTERM":
        how = (f"died with {stop['exit_signal']}" if stop.get("exit_signal")
               else f"exited with status {stop.get('exit_code')}")
        out.append(Finding("caveat", f"the server {how} after SIGTERM ({stop.get('seconds')} s)",
                           {"stop": stop}))
    if stop.get("orphans"):
        out.append(Finding("caveat", f"{len(stop['orphans'])} process(es) of the server were "
                           "still running after it exited", {"stop": stop}))
    return out
