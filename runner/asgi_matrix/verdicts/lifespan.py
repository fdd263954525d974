"""Lifespan: is it run, before requests, once per serving loop, on the request's thread?"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from asgi_matrix.verdicts import references as refs
from asgi_matrix.verdicts._model import (
    LoopKey,
    Observations,
    Property,
    Verdict,
    judged_requests,
    lifespan_ran,
    loop_key,
    loop_name,
    measured,
    where,
)


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
    """asgiref #338 only: every loop that served a request ran exactly one lifespan, on that
    loop, begun (lifespan.startup received) before its first request. Whether requests
    also waited for the startup to complete is startup-before-requests."""
    if problem := measured(obs, "main") or lifespan_ran(obs):
        return problem
    began: dict[LoopKey, list[float]] = defaultdict(list)
    for event in obs.startups():
        began[loop_key(event)].append(event.get("t_received", event["t"]))
    first_request: dict[LoopKey, dict[str, Any]] = {}
    for event in sorted(obs.served(), key=lambda e: e["t"]):
        first_request.setdefault(loop_key(event), event)
    table = {loop_name(req): {"where": where(req), "startups": len(began.get(key, []))}
             for key, req in first_request.items()}
    problems = []
    for key, req in first_request.items():
        ran = began.get(key, [])
        if key[2] is None:
            problems.append(f"requests ran with no event loop at all (pid {key[0]}, thread "
                            f"{req.get('thread_name')}), so none can share a lifespan's loop")
        elif not ran:
            problems.append(f"{loop_name(req)} ({req.get('thread_name')}) served requests but "
                            "never ran a lifespan")
        elif len(ran) > 1:
            problems.append(f"{loop_name(req)} ran {len(ran)} lifespan startups")
        elif ran[0] > req["t"]:
            problems.append(f"{loop_name(req)} served {req.get('tag')!r} "
                            f"{ran[0] - req['t']:.3f} s before its lifespan began")
    if problems:
        return Verdict("fail", f"{len(problems)} of {len(first_request)} serving loop(s) "
                       f"broke it: {problems[0]}", {"loops": table, "problems": problems})
    return Verdict("pass", f"each of the {len(first_request)} loop(s) that served requests ran "
                   "exactly one lifespan, on that loop, begun before its first request",
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
    """The seed scenario, fixed: a job started in the task group the request's own loop's
    lifespan opened (kept per loop). Requests that began before their loop's startup
    completed do not count: nothing was open yet (startup-before-requests judges them)."""
    if problem := measured(obs, "main") or lifespan_ran(obs):
        return problem
    served = judged_requests(obs)
    if not served:
        return Verdict("n/a", f"all {len(obs.served())} requests began before their loop's "
                       "lifespan startup completed: nothing was open for them yet")
    failed = [e for e in served if not (e.get("job") or {}).get("ran")]
    if failed:
        errors = sorted({str((e.get("job") or {}).get("error")) for e in failed})
        return Verdict("fail", f"{len(failed)} of {len(served)} requests could not use the "
                       f"lifespan's task group: {errors[0]}", {"errors": errors})
    return Verdict("pass", f"all {len(served)} requests that began after their loop's startup "
                   "ran a job in the task group that loop's lifespan opened")


def app_object_resources(obs: Observations) -> Verdict:
    """The naive pattern of asgiref PR #277: the task group kept on the app object. On a
    server that runs several loops it belongs to one of them, and a job another loop's
    request starts there never runs (anyio 4 drops it without an error)."""
    if problem := measured(obs, "main") or lifespan_ran(obs):
        return problem
    served = [e for e in judged_requests(obs, per_process=True) if "naive" in e]
    if not served:
        return Verdict("n/a", "no request began after a lifespan had stored its task group on "
                       "the app object")
    failed = [e for e in served if not (e.get("naive") or {}).get("ran")
              or (e.get("naive") or {}).get("error")
              or (e.get("naive") or {}).get("stored_by_loop_id") != e.get("loop_id")]
    if failed:
        first = failed[0]
        naive = first.get("naive") or {}
        owner = naive.get("stored_by_loop_id")
        if not naive.get("ran") or naive.get("error"):
            what = str(naive.get("error") or "the job did not run")
        else:  # it ran, on this loop, inside a task group another loop awaits at shutdown
            what = (f"the job ran on loop {naive.get('job_loop_id')} inside loop {owner}'s "
                    "task group: a resource moved across event loops")
        return Verdict("fail", f"{len(failed)} of {len(served)} requests used a task group "
                       f"another loop's lifespan stored on the app object, or could not use it; "
                       f"e.g. {first.get('tag')!r} on {loop_name(first)}, task group stored by "
                       f"loop {owner}'s lifespan: {what}",
                       {"errors": sorted({str((e.get('naive') or {}).get('error'))
                                          for e in failed}),
                        "loops": sorted({str(e.get("loop_id")) for e in served})})
    return Verdict("pass", f"all {len(served)} requests ran a job in the task group the "
                   "lifespan stored on the app object (one loop per app object)")


#: this group's properties, in the order the matrix shows them
PROPERTIES: tuple[Property, ...] = (
    Property("lifespan.supported", "lifespan", "Lifespan supported",
             "The server runs the lifespan protocol: the app's startup completes.",
             refs.LIFESPAN_SUPPORTED,
             supported, "at least one lifespan.startup reaches the app and completes",
             level="not-in-spec"),
    Property("lifespan.startup-before-requests", "lifespan", "Startup before requests",
             "No request reaches the app before its process's lifespan startup completed.",
             refs.LIFESPAN_STARTUP_BEFORE_REQUESTS, startup_before_requests,
             "every request starts after lifespan.startup.complete", level="MUST"),
    Property("lifespan.per-loop", "lifespan", "Lifespan per event loop",
             "Every event loop that served a request ran exactly one lifespan startup, on that "
             "loop, before serving.", refs.PER_LOOP, per_loop,
             "one lifespan per serving loop, run on that loop before its first request",
             level="SHOULD"),
    Property("lifespan.same-thread", "lifespan", "Requests on the lifespan's thread",
             "Requests run on a thread where a lifespan ran.", refs.PER_THREAD,
             same_thread, "each request's thread also ran a lifespan", level="SHOULD"),
    Property("lifespan.resources-usable", "lifespan", "Lifespan resources usable",
             "A task group opened in the lifespan and kept per event loop (the RunVar fix of "
             "asgiref PR #277) can run a job started from each request.",
             refs.LIFESPAN_RESOURCES_USABLE,
             resources_usable, "the job each request starts in the task group runs",
             level="SHOULD"),
    Property("lifespan.app-object-resources", "lifespan", "Resources on the app object usable",
             "A task group the lifespan stored on the app object (the naive pattern of asgiref "
             "PR #277) can run a job started from each request: true only where one app "
             "object never serves two event loops.",
             refs.LIFESPAN_APP_OBJECT_RESOURCES,
             app_object_resources,
             "the job each request starts in the app object's task group runs"),
)
