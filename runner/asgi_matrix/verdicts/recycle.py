"""Recycled workers: a request limit or a worker lifetime, crossed under sustained traffic.

The recycle scenario (configurations with a ``recycle`` budget) sends requests from two
clients back to back until a replacement worker started (then one more second), or the
server went away. A replacement is a lifespan startup after the traffic began; a
retirement is a lifespan.shutdown before the stop signal.
"""

from __future__ import annotations

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

RECYCLE = "recycle"


def _record(obs: Observations) -> dict[str, Any] | Verdict:
    if obs.kind == "harness":
        return Verdict("n/a", "an in-process test client: there are no workers to recycle")
    if obs.scenario(RECYCLE) is None:
        return Verdict("n/a", "the configuration recycles no workers (no request limit or "
                       "worker lifetime set)")
    if problem := measured(obs, RECYCLE):
        return problem
    record = obs.scenario(RECYCLE) or {}
    if not _new_loops(obs, record) and not record.get("exited_during_traffic"):
        budget = " ".join(map(str, record.get("budget") or [])) or "its budget"
        return Verdict("error", f"no worker was recycled in {record.get('traffic_seconds')} s "
                       f"of traffic ({record.get('sent')} requests; the budget is {budget}), "
                       "so recycling could not be judged",
                       {"log_tail": record.get("log_tail", "")})
    return record


def _replacements(obs: Observations, record: dict[str, Any]) -> list[dict[str, Any]]:
    start = record.get("t_traffic")
    return [e for e in obs.startups(RECYCLE) if start is not None and e["t"] >= start]


def _new_loops(obs: Observations, record: dict[str, Any]) -> set[str]:
    """Loops that started, or first served, after the traffic began: replacements."""
    start = record.get("t_traffic")
    if start is None:
        return set()
    before = {e.get("loop_id") for e in obs.events(RECYCLE, "lifespan.startup", "http")
              if e["t"] < start}
    return {str(e.get("loop_id")) for e in obs.events(RECYCLE, "lifespan.startup", "http")
            if e["t"] >= start and e.get("loop_id") not in before}


def _retirements(obs: Observations, record: dict[str, Any]) -> list[dict[str, Any]]:
    until = (record.get("stop") or {}).get("t_signal")
    return [e for e in obs.events(RECYCLE, "lifespan.shutdown")
            if until is None or e["t"] < until]


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ("budget", "sent", "answered", "failed_count",
                                       "failed_while_up", "traffic_seconds",
                                       "exited_during_traffic", "exit_code")}


@judged_on(_record)
def lifespan_per_worker(obs: Observations, record: dict[str, Any]) -> Verdict:
    """Each recycled worker runs lifespan.shutdown, and each replacement a startup."""
    if problem := lifespan_ran(obs, RECYCLE):
        return problem
    new = _replacements(obs, record)
    retired = _retirements(obs, record)
    expected = max(len(new), 1 if record.get("exited_during_traffic") else 0)
    evidence = {"replacements": new[:4], "retirements": retired[:4], **_summary(record)}
    started = (f" and {len(new)} replacement(s) ran a startup" if new
               else "; no replacement started (the server went away)")
    if len(retired) < expected:
        return Verdict("fail", f"{expected} worker(s) were recycled but {len(retired)} got "
                       f"lifespan.shutdown{started}", evidence)
    return Verdict("pass", f"{len(retired)} recycled worker(s) got lifespan.shutdown{started}",
                   evidence)


@judged_on(_record)
def no_dropped_requests(obs: Observations, record: dict[str, Any]) -> Verdict:
    """No request fails while the server swaps a worker."""
    failed = [f for f in record.get("failed") or [] if f.get("alive_after", True)]
    count = record.get("failed_while_up", len(failed))
    evidence = {"failed": failed[:10], **_summary(record)}
    if count:
        first = failed[0] if failed else {}
        return Verdict("fail", f"{count} of {record.get('sent')} requests failed while the "
                       f"server was up across the recycle, e.g. at "
                       f"{first.get('after_start_s')} s: {first.get('error')}", evidence)
    after = ("" if not record.get("exited_during_traffic")
             else " (until the server went away)")
    return Verdict("pass", f"all {record.get('answered')} requests sent while the server was "
                   f"up were answered across the recycle{after}", evidence)


@judged_on(_record)
def server_stays(obs: Observations, record: dict[str, Any]) -> Verdict:
    """Recycling replaces workers; it does not end the server (encode/uvicorn#426)."""
    if record.get("exited_during_traffic"):
        return Verdict("fail", "the server exited, with status "
                       f"{record.get('exit_code')}, when its worker reached its recycling "
                       "budget: nothing replaced it", _summary(record))
    new = _replacements(obs, record)
    return Verdict("pass", f"the server kept serving: {len(new)} replacement worker(s) "
                   "started", _summary(record))


#: this group's properties, in the order the matrix shows them
PROPERTIES: tuple[Property, ...] = (
    Property("recycle.lifespan-per-worker", "recycle", "Recycled workers run lifespan",
             "Under a request limit or worker lifetime, each recycled worker gets "
             "lifespan.shutdown and each replacement runs its startup.", refs.SHUTDOWN,
             lifespan_per_worker, "shutdown in the old worker, startup in the new one",
             level="SHOULD", scenario=RECYCLE),
    Property("recycle.no-dropped-requests", "recycle", "No requests dropped in the swap",
             "Sustained traffic across a worker's recycling: every request sent while the "
             "server is up is answered.", refs.UVICORN_426, no_dropped_requests,
             "every request gets a 200", level="not-in-spec", scenario=RECYCLE),
    Property("recycle.server-stays", "recycle", "Recycling keeps the server up",
             "When a worker reaches its recycling budget, a new one replaces it; the server "
             "does not exit (with one worker too).", refs.UVICORN_426, server_stays,
             "the server keeps serving", level="not-in-spec", scenario=RECYCLE),
)
