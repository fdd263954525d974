"""Verdicts on app patterns: does the way an app keeps its resources work on a server?

Pure functions of what one server start recorded (the pattern app's own records and
what the client saw), kept in the cell (``pattern_starts``) so a cached cell is judged
again like its properties. A pattern

  works   every request succeeded, every background job it started completed, every
          lifespan exited cleanly, and the resource was closed once per lifespan
          where the pattern closes it;
  caveat  works with a caveat, the server's fault: what failed is the lifespan's end
          (jobs cut, a shutdown never delivered or unclean, a resource never closed)
          and the server caused it for every app of the start (a kill at the stop, a
          loop that never delivered lifespan.shutdown), which the reference pattern
          served by the same start shows too; the cell names the server property;
  breaks  anything else, with the first error's text, where it happened (process,
          thread, event loop) and how many requests or jobs it hit;
  n/a     it cannot be judged here, with the reason from the evidence (no lifespan ran
          and it needs one; asyncio objects on a trio server);
  error   nothing could be observed (the server never answered), with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asgi_matrix.catalogue.pattern_catalogue import Pattern
from asgi_matrix.verdicts._model import PATTERN_STATUSES, Verdict, summary
from asgi_matrix.verdicts.pattern_faults import servers_fault

__all__ = ["PATTERN_STATUSES", "Needs", "judge", "needs", "pattern_cells", "place", "summary"]

WHERE_KEYS = ("pid", "thread_name", "thread_id", "loop_id", "loop_kind", "interpreter")


@dataclass(frozen=True)
class Needs:
    """What the verdict needs to know of the pattern (from its catalogue entry)."""

    id: str
    lifespan: bool = False
    jobs: bool = False
    closes: bool = False
    library: str = "anyio"


def needs(pattern: Pattern) -> Needs:
    return Needs(pattern.id, lifespan=pattern.lifespan, jobs=pattern.jobs,
                 closes=pattern.closes, library=pattern.library)


def pattern_cells(patterns: Sequence[Pattern], starts: dict[str, dict[str, Any]]
                  ) -> dict[str, dict[str, Any]]:
    """Every pattern's cell from the records of the server starts that served them:
    the verdict, and how its start went. A start's record names its patterns
    (``patterns``); one that was not made says why (``not_started``)."""
    by_id = {p.id: p for p in patterns}
    cells: dict[str, dict[str, Any]] = {}
    for start_name, record in starts.items():
        for pattern_id in record.get("patterns", []):
            if pattern_id in by_id:
                cells[pattern_id] = _cell(by_id[pattern_id], start_name, record)
    return {p.id: cells[p.id] for p in patterns if p.id in cells}


def _cell(pattern: Pattern, start_name: str, record: dict[str, Any]) -> dict[str, Any]:
    if why := record.get("not_started"):
        return {"status": "n/a", "explanation": why, "start": start_name,
                "evidence": {"libraries": record.get("libraries", [])},
                "seconds": 0.0, "command": []}
    verdict = judge(needs(pattern), record)
    cell = verdict.to_json()
    if "app" in record:  # how the server got the app: one object, or a factory
        cell["evidence"] = {**cell["evidence"], "app": record["app"]}
    return {
        **cell, "start": start_name,
        "seconds": record.get("seconds"),
        "command": record.get("command", []),
        **({"versions": record["versions"]} if not pattern.raw
           and record.get("versions") else {}),
        **({"changed": record["changed"]} if record.get("changed") else {}),
        # the server's log and how it was stopped, on every cell's page
        **({"log_tail": record["log_tail"]} if record.get("log_tail") else {}),
        **({"stop": record["stop"]} if record.get("stop") else {}),
    }


def place(record: dict[str, Any]) -> dict[str, Any]:
    """Where a pattern record was made, as evidence: process, thread, event loop."""
    return {k: record[k] for k in WHERE_KEYS if k in record}


def _where_text(record: dict[str, Any]) -> str:
    return (f"pid {record.get('pid')}, thread {record.get('thread_name')}, "
            f"loop {record.get('loop_id')} ({record.get('loop_kind')})")


def _mine(needs: Needs, start: dict[str, Any]) -> tuple[list[dict[str, Any]],
                                                        list[dict[str, Any]]]:
    prefix = f"/p/{needs.id}/"
    events = [e for e in start.get("events", []) if e.get("pattern") == needs.id]
    sent = [r for r in start.get("requests", []) if str(r.get("path", "")).startswith(prefix)]
    return events, sent


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == f"pattern.{kind}"]


def judge(needs: Needs, start: dict[str, Any], reference: bool = True) -> Verdict:
    """The verdict on one pattern from one server start's observations; ``reference``:
    judge a failure of the lifespan's end against the start's reference pattern."""
    events, sent = _mine(needs, start)
    if not (start.get("ready") or {}).get("ok", bool(sent)):
        started = _of(events, "startup")
        error = _last_error(start.get("log_tail", ""))
        ready = start.get("ready") or {}
        if started and not (ready.get("exited") or error
                            or not all(e.get("ok", True) for e in started)):
            # alive, silent and every startup ok: only slow (a loaded machine, heavy
            # imports), nothing the app did; a ready timeout is the harness's wait
            return Verdict("error", "could not be observed: the server did not answer "
                                    f"within {ready.get('seconds', '?')} s, still running "
                                    f"after the app's lifespan started ({len(started)} "
                                    "startup(s) recorded) and with no error in its log",
                           {"where": place(started[-1]), "ready": ready})
        if started:  # the app's lifespan ran, then the server never served: the app broke it
            return Verdict("breaks", f"the server never served after the app's lifespan "
                                  f"started ({len(started)} startup(s) recorded)"
                                  + (f"; its log: {error}" if error else ""),
                                  {"first_error": error, "where": place(started[-1]),
                                   "ready": start.get("ready")})
        if refused := _never_served(start):
            return refused
        return Verdict("error", "could not be observed: "
                              + (start.get("error") or "the server never answered"),
                              {"ready": start.get("ready")})
    if not sent:
        why = start.get("error") or ("the test client did not finish in time"
                                     if start.get("timed_out") else "")
        return Verdict("error", "could not be observed: no request reached this "
                              "pattern" + (f" ({why})" if why else ""))
    requests = _of(events, "request")
    startups = _of(events, "startup")
    shutdowns = _of(events, "shutdown")
    loops = sorted({e["loop_id"] for e in requests if e.get("loop_id")})
    pids = sorted({e["pid"] for e in requests if e.get("pid")})
    evidence: dict[str, Any] = {
        "requests": len(sent), "recorded": len(requests),
        "failed": sum(not e.get("ok") for e in requests),
        "loops": len(loops), "processes": len(pids),
        "lifespans": [{"token": e.get("token"), "ok": e.get("ok"), **place(e)} for e in startups],
        "shutdowns": [{"token": e.get("token"), "clean": e.get("clean"),
                       **({"error": e["error"]} if e.get("error") else {}), **place(e)}
                      for e in shutdowns],
    }
    evidence["carriers"] = carriers(sent)
    libraries = {str(e["async_library"]) for e in requests if e.get("async_library")}
    if needs.library != "anyio" and libraries and needs.library not in libraries:
        return Verdict("n/a", f"the server runs {' and '.join(sorted(libraries))}; "
                              f"this pattern is built on {needs.library}, so it cannot run "
                              "there at all", evidence)
    if needs.lifespan and not startups:
        return Verdict("n/a", f"the server ran no lifespan ({len(sent)} requests, no "
                              "startup recorded) and this pattern needs one", evidence)
    own = (_startup_failed(startups, evidence) or _requests_failed(sent, requests, evidence)
           or _body_lost(sent, evidence))
    if own is not None:  # the pattern's own cause: it breaks, whatever the server did
        return own
    verdict = (_jobs_lost(needs, events, shutdowns, evidence)
               or _shutdown_failed(shutdowns, evidence)
               or _not_closed(needs, events, startups, evidence))
    if verdict is not None:
        return (servers_fault(needs.id, start, verdict, _judge_reference) if reference
                else None) or verdict
    return _works(needs, sent, loops, pids, events, startups, shutdowns, evidence)


#: how each kind of traffic is named in explanations
CARRIER = {"new": "a new connection", "ka": "a kept-alive connection",
           "pipe": "a pipelined connection", "h2": "an HTTP/2 connection"}


_KINDS = {"new": "on new connections", "ka": "on one kept-alive connection, a chunked body "
          "among them", "pipe": "pipelined", "h2": "as HTTP/2 streams"}


def _carrier(record: dict[str, Any]) -> str:
    return str(record.get("reused") or "new")


def carriers(sent: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per kind of traffic: how many requests, how many answered 200, and the connections
    (the client's local ports) and HTTP/2 streams that carried them."""
    out: dict[str, dict[str, Any]] = {}
    for record in sent:
        kind = out.setdefault(_carrier(record), {"requests": 0, "ok": 0, "connections": []})
        kind["requests"] += 1
        kind["ok"] += record.get("status") == 200
        port = record.get("local_port")
        if port is not None and port not in kind["connections"] and _carrier(record) != "new":
            kind["connections"].append(port)
        if "stream_id" in record:
            kind.setdefault("streams", []).append(record["stream_id"])
        if "body_sent" in record:
            kind["body_sent"] = record["body_sent"]
    return out


def _carried_by(sent: list[dict[str, Any]], tag: Any) -> str:
    """Which connection (and stream) carried the request with this tag, in words."""
    for record in sent:
        if record.get("tag") == tag:
            words = f"request {tag} on {CARRIER.get(_carrier(record), _carrier(record))}"
            if record.get("local_port") is not None:
                words += f" (port {record['local_port']}"
                words += (f", stream {record['stream_id']})" if "stream_id" in record
                          else ")")
            return words
    return f"request {tag}"


def _never_served(start: dict[str, Any]) -> Verdict | None:
    """A server that never served this app although it started, and whose log names the
    app's exception, is a finding: the configuration served the probe (pattern starts
    follow its main scenario), so what kept it from serving is the app (Django's
    rejection of the lifespan scope). A start that failed on our side (``error``), or
    a silent one, stays unobserved."""
    error = _last_error(start.get("log_tail", ""))
    if start.get("error") or not error:
        return None
    ready = start.get("ready") or {}
    if ready.get("exited"):
        what = "the server exited before it answered a request with this app"
    elif "seconds" in ready:
        what = f"the server never answered a request with this app in {ready['seconds']} s"
    else:  # an in-process test client: no server process to wait for
        what = "the test client never got an answer from this app"
    return Verdict("breaks", f"{what}; its log: {error}",
                          {"first_error": error, "ready": ready})


def _last_error(log_tail: str) -> str:
    """The last line of a server's log that names an exception, if any."""
    lines = [line.strip() for line in log_tail.splitlines()
             if "Error" in line or "Exception" in line]
    return lines[-1][:300] if lines else ""


def _startup_failed(startups: list[dict[str, Any]],
                    evidence: dict[str, Any]) -> Verdict | None:
    failed = [e for e in startups if not e.get("ok")]
    if not failed:
        return None
    first = failed[0]
    evidence.update(first_error=first.get("error"), where=place(first))
    return Verdict("breaks", f"{len(failed)} of {len(startups)} lifespan startups "
                          f"failed: {first.get('error')} ({_where_text(first)})", evidence)


def _requests_failed(sent: list[dict[str, Any]], requests: list[dict[str, Any]],
                     evidence: dict[str, Any]) -> Verdict | None:
    failed = [e for e in requests if not e.get("ok")]
    if failed:
        first = failed[0]
        carried = _carried_by(sent, first.get("tag"))
        evidence.update(first_error=first.get("error"), where=place(first), carried=carried,
                        traceback=first.get("traceback", ""),
                        errors=dict(Counter(str(e.get("error")) for e in failed).most_common(3)))
        return Verdict("breaks", f"{len(failed)} of {len(sent)} requests failed, the "
                              f"first with {first.get('error')} ({carried}; "
                              f"{_where_text(first)})", evidence)
    unanswered = [r for r in sent if r.get("status") != 200]
    if unanswered:  # the app never got to record it (a server error, a dropped connection)
        first = unanswered[0]
        seen = first.get("error") or f"status {first.get('status')}"
        evidence.update(first_error=seen, client=first)
        return Verdict("breaks", f"{len(unanswered)} of {len(sent)} requests got no "
                              f"answer from the app: {seen} "
                              f"({_carried_by(sent, first.get('tag'))})", evidence)
    return None


def _body_lost(sent: list[dict[str, Any]], evidence: dict[str, Any]) -> Verdict | None:
    """A request body sent in chunks must reach the app whole."""
    for record in sent:
        if "body_sent" not in record:
            continue
        body = record.get("body")
        got = body.get("body_bytes") if isinstance(body, dict) else None
        if got != record["body_sent"]:
            evidence.update(first_error=f"body of {record['body_sent']} bytes, app read {got}",
                            carried=_carried_by(sent, record.get("tag")))
            return Verdict("breaks", f"the app read {got} of the {record['body_sent']} "
                                  f"bytes of a chunked request body "
                                  f"({_carried_by(sent, record.get('tag'))})", evidence)
    return None


def _jobs_lost(needs: Needs, events: list[dict[str, Any]], shutdowns: list[dict[str, Any]],
               evidence: dict[str, Any]) -> Verdict | None:
    if not needs.jobs:
        return None
    jobs = _of(events, "job")
    phases: dict[str, dict[str, dict[str, Any]]] = {}
    for e in jobs:
        phases.setdefault(str(e.get("job")), {})[str(e.get("phase"))] = e
    queued = [j for j, p in phases.items() if "queued" in p]
    finished = [j for j in queued if "finished" in phases[j]]
    cancelled = [phases[j]["cancelled"] for j in queued if "cancelled" in phases[j]]
    evidence["jobs"] = {"queued": len(queued), "finished": len(finished),
                        "cancelled": len(cancelled),
                        "never_ended": len(queued) - len(finished) - len(cancelled),
                        "per_lifespan": _jobs_per_lifespan(phases, shutdowns)}
    if len(finished) == len(queued):
        return None
    silent = all(e.get("ok") for e in _of(events, "request")) and all(
        e.get("clean") for e in shutdowns)
    ended = ("every lifespan exited cleanly" if shutdowns
             else "no lifespan shutdown was ever delivered")
    how = f" silently: every request got 200 and {ended}" if silent else ""
    if cancelled:
        first = cancelled[0]
        evidence.update(first_error=first.get("error"), where=place(first))
        return Verdict("breaks", f"{len(queued) - len(finished)} of {len(queued)} "
                              f"background jobs never completed{how}; the first was "
                              f"cancelled with {first.get('error') or 'CancelledError'} "
                              f"({_where_text(first)})", evidence)
    return Verdict("breaks", f"{len(queued) - len(finished)} of {len(queued)} "
                          f"background jobs never completed and left no trace{how} (the "
                          "process ended under them)", evidence)


def _jobs_per_lifespan(phases: dict[str, dict[str, dict[str, Any]]],
                       shutdowns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per lifespan (by loop): jobs of that loop that finished before its shutdown ended."""
    out = []
    for shutdown in shutdowns:
        loop, t = shutdown.get("loop_id"), shutdown.get("t", 0)
        on_loop = [p for p in phases.values() if (p.get("queued") or {}).get("loop_id") == loop]
        out.append({"loop_id": loop, "clean": shutdown.get("clean"), "jobs": len(on_loop),
                    "finished_before_shutdown": sum(
                        "finished" in p and p["finished"].get("t", 0) <= t for p in on_loop)})
    return out


def _shutdown_failed(shutdowns: list[dict[str, Any]],
                     evidence: dict[str, Any]) -> Verdict | None:
    unclean = [e for e in shutdowns if not e.get("clean")]
    if not unclean:
        return None
    first = unclean[0]
    evidence.update(first_error=first.get("error"), where=place(first))
    return Verdict("breaks", f"{len(unclean)} of {len(shutdowns)} lifespans did not "
                          f"exit cleanly: {first.get('error')} ({_where_text(first)})", evidence)


def _not_closed(needs: Needs, events: list[dict[str, Any]], startups: list[dict[str, Any]],
                evidence: dict[str, Any]) -> Verdict | None:
    if not needs.closes:
        return None
    closes = _of(events, "close")
    opened = sum(bool(e.get("ok")) for e in startups)
    evidence["closed"] = {"lifespans": opened, "closes": len(closes)}
    if len(closes) == opened:
        return None
    return Verdict("breaks", f"the resource was closed {len(closes)} time(s) for "
                          f"{opened} lifespan(s): the server did not run every lifespan's "
                          "shutdown", evidence)


def _works(needs: Needs, sent: list[dict[str, Any]], loops: list[str], pids: list[int],
           events: list[dict[str, Any]], startups: list[dict[str, Any]],
           shutdowns: list[dict[str, Any]], evidence: dict[str, Any]) -> Verdict:
    """Every sentence from the evidence it publishes (lifespans: shutdowns on record)."""
    how = ", ".join(f"{c['requests']} {_KINDS.get(k, k)}"
                    for k, c in evidence.get("carriers", {}).items())
    parts = [f"all {len(sent)} requests succeeded" + (f" ({how})" if how else "")
             + f" on {len(loops)} event loop(s) in {len(pids)} process(es)"]
    if needs.jobs:
        parts.append(f"all {evidence['jobs']['queued']} background jobs completed")
    if needs.lifespan or startups:
        clean = sum(bool(e.get("clean")) for e in shutdowns)
        parts.append(f"{len(startups)} lifespan(s) ran and exited cleanly"
                     if clean == len(startups) else
                     f"{len(startups)} lifespan(s) ran, {clean} shut down cleanly on record")
    if needs.closes:
        parts.append("the resource was closed once per lifespan")
    return Verdict("works", "; ".join(parts), evidence)


def _judge_reference(reference: str, start: dict[str, Any]) -> Verdict:
    """A reference pattern's own verdict in a start (never judged against another)."""
    return judge(Needs(reference, lifespan=True, jobs=reference == "taskgroup-runvar",
                       closes=reference == "lifespan-state"), start, reference=False)
