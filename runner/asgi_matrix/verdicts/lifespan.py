"""Lifespan: is it run, before requests, once per serving loop, on the request's thread?"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from asgi_matrix.verdicts._model import Observations, Verdict, lifespan_ran, measured, where


def supported(obs: Observations) -> Verdict:
    if problem := measured(obs, "main"):
        return problem
    if problem := lifespan_ran(obs):
        return problem
    startups = obs.startups()
    loops = {e["loop_id"] for e in startups}
    pids = {e["pid"] for e in startups}
    return Verdict("pass", f"{len(startups)} lifespan startup(s) completed, on {len(loops)} "
                   f"event loop(s) in {len(pids)} process(es)",
                   {"startups": [where(e) for e in startups]})


def _startup_done_at(startups: list[dict[str, Any]]) -> dict[int, float]:
    """Per process, when its first lifespan startup completed."""
    done: dict[int, float] = {}
    for event in startups:
        done[event["pid"]] = min(done.get(event["pid"], event["t"]), event["t"])
    return done


def startup_before_requests(obs: Observations) -> Verdict:
    if problem := measured(obs, "main") or lifespan_ran(obs):
        return problem
    done = _startup_done_at(obs.startups())
    early = [e for e in obs.served() if e["pid"] not in done or e["t"] < done[e["pid"]]]
    if early:
        first = early[0]
        lead = (f"{done[first['pid']] - first['t']:.3f} s before its process's startup "
                "completed" if first["pid"] in done else "in a process that ran no startup")
        return Verdict("fail", f"{len(early)} of {len(obs.served())} requests began before "
                       f"the lifespan startup completed; e.g. {first.get('tag')!r} {lead}",
                       {"early": [{"tag": e.get("tag"), "where": where(e)} for e in early]})
    return Verdict("pass", f"all {len(obs.served())} requests began after their process's "
                   "lifespan startup completed")


def per_loop(obs: Observations) -> Verdict:
    """Every loop that served a request ran exactly one startup, on that loop, first."""
    if problem := measured(obs, "main") or lifespan_ran(obs):
        return problem
    startups: dict[str, list[float]] = defaultdict(list)
    for event in obs.startups():
        startups[event["loop_id"]].append(event["t"])
    first_request: dict[str, dict[str, Any]] = {}
    for event in sorted(obs.served(), key=lambda e: e["t"]):
        first_request.setdefault(event["loop_id"], event)
    table = {loop: {"where": where(req), "startups": len(startups.get(loop, []))}
             for loop, req in first_request.items()}
    problems = []
    for loop, req in first_request.items():
        ran = startups.get(loop, [])
        if not ran:
            problems.append(f"loop {loop} ({req.get('thread_name')}) served requests but "
                            "never ran a lifespan")
        elif len(ran) > 1:
            problems.append(f"loop {loop} ran {len(ran)} lifespan startups")
        elif ran[0] > req["t"]:
            problems.append(f"loop {loop} served a request before its lifespan startup")
    if problems:
        return Verdict("fail", f"{len(problems)} of {len(first_request)} serving loop(s) "
                       f"broke it: {problems[0]}", {"loops": table, "problems": problems})
    return Verdict("pass", f"each of the {len(first_request)} loop(s) that served requests ran "
                   "exactly one lifespan startup, on that loop, before serving",
                   {"loops": table})


def same_thread(obs: Observations) -> Verdict:
    if problem := measured(obs, "main") or lifespan_ran(obs):
        return problem
    threads = {(e["pid"], e["thread_id"]) for e in obs.startups()}
    elsewhere = [e for e in obs.served() if (e["pid"], e["thread_id"]) not in threads]
    if elsewhere:
        names = sorted({str(e.get("thread_name")) for e in elsewhere})
        return Verdict("fail", f"{len(elsewhere)} of {len(obs.served())} requests ran on a "
                       f"thread that ran no lifespan ({', '.join(names)})",
                       {"lifespan_threads": sorted({where(e) for e in obs.startups()}),
                        "request_threads": names})
    return Verdict("pass", f"all {len(obs.served())} requests ran on a thread that ran the "
                   "lifespan")


def resources_usable(obs: Observations) -> Verdict:
    """The seed scenario: a job started in the lifespan's task group from each request."""
    if problem := measured(obs, "main") or lifespan_ran(obs):
        return problem
    served = obs.served()
    failed = [e for e in served if not (e.get("job") or {}).get("ran")]
    if failed:
        errors = sorted({str((e.get("job") or {}).get("error")) for e in failed})
        return Verdict("fail", f"{len(failed)} of {len(served)} requests could not use the "
                       f"lifespan's task group: {errors[0]}", {"errors": errors})
    return Verdict("pass", f"all {len(served)} requests ran a job in the task group their "
                   "loop's lifespan opened")
