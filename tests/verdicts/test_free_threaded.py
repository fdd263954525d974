"""How a free-threaded thread-worker run is judged: several loops in one process.

No free-threaded CPython can be had on this machine, so these are recorded observations of
the two topologies the free-threaded entries produce (peregrine --free-threaded with
--lifespan-scope worker or process; granian's and pounce's thread workers): the axis is
ready the day an interpreter is.
"""

from __future__ import annotations

from asgi_matrix.catalogue.load import Catalogue
from asgi_matrix.verdicts import evaluate, facts
from helpers.observations import obs, request, served, shutdown, startup

PID = 7


def _requests(ctx: dict[str, str | None], job_ran: bool) -> list[dict]:
    return [request(f"r-{loop}-{i}", loop, pid=PID, thread=thread, t=2.0 + i / 10,
                    ctx=ctx[loop], state_token=ctx[loop] or "proc", job_ran=job_ran)
            for i, (loop, thread) in enumerate([("A", 1), ("B", 2), ("A", 1), ("B", 2)])]


#: --lifespan-scope worker: each worker thread runs its loop's own lifespan first
PER_WORKER = [startup("A", pid=PID, thread=1, token="a"),
              startup("B", pid=PID, thread=2, token="b", t=1.1),
              *_requests({"A": "a", "B": "b"}, job_ran=True),
              shutdown("A", pid=PID), shutdown("B", pid=PID)]

#: --lifespan-scope process: one lifespan, on a loop of the main thread that serves
#: nothing; the workers' loops serve with its state but cannot use its task group
ONCE = [startup("P", pid=PID, thread=0, token="p"),
        *_requests({"A": None, "B": None}, job_ran=False),
        shutdown("P", pid=PID)]


def test_a_lifespan_per_worker_thread_passes_the_loop_properties():
    judged = evaluate(obs(main=served(PER_WORKER)))
    for prop in ("lifespan.per-loop", "lifespan.same-thread", "lifespan.resources-usable",
                 "lifespan.startup-before-requests", "context.propagates"):
        assert judged[prop].status == "pass", (prop, judged[prop].explanation)
    got = facts(obs(main=served(PER_WORKER)))
    assert (got["processes"], got["threads"], got["loops"], got["lifespans"]) == (1, 2, 2, 2)


def test_one_lifespan_for_the_process_fails_them_and_says_which_loop():
    judged = evaluate(obs(main=served(ONCE)))
    for prop in ("lifespan.per-loop", "lifespan.same-thread", "lifespan.resources-usable",
                 "context.propagates"):
        assert judged[prop].status == "fail", (prop, judged[prop].explanation)
    assert "A" in judged["lifespan.per-loop"].explanation
    got = facts(obs(main=served(ONCE)))
    assert (got["processes"], got["threads"], got["loops"], got["lifespans"]) == (1, 2, 2, 1)
    assert got["serving_loops_started_first"] == {"A": False, "B": False}


def test_the_free_threaded_entries_ask_for_a_free_threaded_314_and_run_threads():
    entries = {c.id: c for c in Catalogue.load().configs if c.free_threaded}
    assert {"granian-py314t-workers2", "pounce-py314t-workers2", "pounce-py314t-async2",
            "peregrine-py314t-scope-worker", "peregrine-py314t-scope-process"} <= set(entries)
    for config in entries.values():
        assert config.python == "==3.14.*"
        assert config.axes()["python"] == "3.14t"
        assert (config.workers, config.threads) == (1, 2)
    assert "--lifespan-scope" in entries["peregrine-py314t-scope-process"].argv
