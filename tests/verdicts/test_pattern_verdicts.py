"""Pattern verdicts on recorded observations: one real server start each (tests/verdicts/data).

The recordings are what the pattern apps and the client saw on control-multiloop
(three loops in one process, recorded before it called the app factory per loop: one
app object served all three, where factory-resource breaks), uvicorn (one loop),
starlette-testclient-bare (a new loop per request) and hypercorn-trio. Each pattern's
verdict is checked on a start where it works and one where it breaks; the branches no
recorded start reaches are checked on a recording changed the way that failure would
change it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.catalogue import pattern_catalogue as catalogue
from asgi_matrix.verdicts.pattern_verdicts import judge, needs, summary

DATA = Path(__file__).parent / "data"
PATTERNS = {p.id: p for p in catalogue.load()}


def recorded(config: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / f"patterns-{config}.json").read_text())
    return loaded


def verdict(pattern: str, start: dict[str, Any]) -> Any:
    return judge(needs(PATTERNS[pattern]), start)


@pytest.mark.parametrize(("pattern", "works_on", "breaks_on", "because"), [
    ("taskgroup-on-instance", "uvicorn", "control-multiloop", "background jobs never completed"),
    ("taskgroup-runvar", "control-multiloop", None, None),
    ("global-resource", "uvicorn", "control-multiloop", "is bound to a different event loop"),
    ("global-resource", "uvicorn", "starlette-testclient-bare",
     "is bound to a different event loop"),
    ("factory-resource", "uvicorn", "control-multiloop", "is bound to a different event loop"),
    ("contextvar-resource", "control-multiloop", "uvicorn", "LookupError"),
    ("lifespan-state", "control-multiloop", None, None),
])
def test_works_and_breaks_on_recorded_starts(pattern, works_on, breaks_on, because):
    works = verdict(pattern, recorded(works_on))
    assert works.status == "works", works.explanation
    if breaks_on is not None:
        broken = verdict(pattern, recorded(breaks_on))
        assert broken.status == "breaks"
        assert because in broken.explanation
        assert broken.evidence["first_error"]


def test_silent_cancellation_is_a_breakage_with_where_it_happened():
    broken = verdict("taskgroup-on-instance", recorded("control-multiloop"))
    assert "silently" in broken.explanation  # every request answered 200, lifespans clean
    assert broken.evidence["jobs"]["cancelled"] >= 1
    assert {"pid", "thread_name", "loop_id"} <= set(broken.evidence["where"])
    assert broken.evidence["loops"] == 3


def test_runvar_breaks_where_a_loop_ran_no_lifespan():
    start = recorded("uvicorn")
    for event in start["events"]:
        if event["pattern"] == "taskgroup-runvar" and event["event"] == "pattern.request":
            event.update(ok=False, error="LookupError: <RunVar name='task_group'>")
            break
    broken = verdict("taskgroup-runvar", start)
    assert broken.status == "breaks"
    assert "1 of 12 requests failed" in broken.explanation


def test_a_job_that_left_no_trace_breaks():
    start = recorded("uvicorn")
    start["events"] = [e for e in start["events"] if not (
        e["pattern"] == "taskgroup-runvar" and e.get("phase") == "finished")]
    broken = verdict("taskgroup-runvar", start)
    assert broken.status == "breaks"
    assert "left no trace" in broken.explanation


def test_lifespan_state_shared_between_requests_breaks():
    start = recorded("uvicorn")
    ka = next(e for e in start["events"] if e["pattern"] == "lifespan-state"
              and e["event"] == "pattern.request" and e.get("tag") == "ka-1")
    ka.update(ok=False, error="RuntimeError: scope['state'] holds another request's key "
              "'lifespan-state.request:ka-0': the server shares one state dict between requests")
    broken = verdict("lifespan-state", start)
    assert broken.status == "breaks"
    assert "another request's key" in broken.explanation


def test_a_resource_not_closed_at_shutdown_breaks():
    start = recorded("uvicorn")
    start["events"] = [e for e in start["events"] if not (
        e["pattern"] == "lifespan-state" and e["event"] in ("pattern.close", "pattern.shutdown"))]
    broken = verdict("lifespan-state", start)
    assert broken.status == "breaks"
    assert "closed 0 time(s) for 1 lifespan(s)" in broken.explanation


def test_an_unclean_lifespan_exit_breaks():
    start = recorded("uvicorn")
    for event in start["events"]:
        if event["pattern"] == "global-resource" and event["event"] == "pattern.shutdown":
            event.update(clean=False, error="ValueError: The future belongs to a different loop")
    broken = verdict("global-resource", start)
    assert broken.status == "breaks"
    assert "did not exit cleanly" in broken.explanation


def test_a_request_the_app_never_saw_breaks():
    start = recorded("uvicorn")
    start["events"] = [e for e in start["events"] if not (
        e["pattern"] == "global-resource" and e["event"] == "pattern.request"
        and e.get("tag") == "seq-0")]
    for sent in start["requests"]:
        if sent["path"] == "/p/global-resource/work" and sent["tag"] == "seq-0":
            sent.update(status=None, error="RemoteProtocolError: Server disconnected")
    broken = verdict("global-resource", start)
    assert broken.status == "breaks"
    assert "RemoteProtocolError" in broken.explanation


@pytest.mark.parametrize("pattern", ["taskgroup-on-instance", "taskgroup-runvar",
                                     "factory-resource", "contextvar-resource",
                                     "lifespan-state"])
def test_no_lifespan_is_not_applicable_for_patterns_that_need_one(pattern):
    got = verdict(pattern, recorded("starlette-testclient-bare"))
    assert got.status == "n/a"
    assert "ran no lifespan" in got.explanation
    # ... and the same pattern is judged where a lifespan ran
    assert verdict(pattern, recorded("control-multiloop")).status != "n/a"


def test_asyncio_objects_on_trio_are_not_applicable_but_anyio_patterns_are_judged():
    start = recorded("hypercorn-trio")
    assert verdict("global-resource", start).status == "n/a"
    assert "trio" in verdict("global-resource", start).explanation
    assert verdict("taskgroup-on-instance", start).status == "works"


def test_nothing_observed_is_an_error_with_the_reason():
    got = verdict("global-resource", {"ready": {"ok": False}, "error": "never ready"})
    assert got.status == "error"
    assert "never ready" in got.explanation
    start = copy.deepcopy(recorded("uvicorn"))
    start["requests"] = [r for r in start["requests"] if "global-resource" not in r["path"]]
    assert verdict("global-resource", start).status == "error"


DJANGO_REFUSED = "ValueError: Django can only handle ASGI/HTTP connections, not lifespan."


@pytest.mark.parametrize(("ready", "said"), [
    ({"ok": False, "exited": True, "seconds": 2.4}, "the server exited before it answered"),
    ({"ok": False, "exited": False, "seconds": 20.1}, "never answered a request with this app "
                                                      "in 20.1 s"),
    ({"ok": False}, "the test client never got an answer"),
])
def test_a_server_that_never_serves_the_app_breaks_where_its_log_names_the_error(ready, said):
    start = {"ready": ready, "log_tail": f"Traceback (most recent call last):\n{DJANGO_REFUSED}"}
    got = verdict("django-asgi", start)
    assert (got.status, got.evidence["first_error"]) == ("breaks", DJANGO_REFUSED)
    assert said in got.explanation


def test_a_silent_or_failed_start_that_never_served_stays_unobserved():
    silent = {"ready": {"ok": False, "exited": False, "seconds": 20.1}, "log_tail": "starting"}
    assert verdict("django-asgi", silent).status == "error"
    ours = {"ready": {"ok": False}, "error": "cannot create the environment",
            "log_tail": f"{DJANGO_REFUSED}"}
    assert verdict("django-asgi", ours).status == "error"


def test_summary_counts_statuses():
    assert summary({"a": {"status": "works"}, "b": {"status": "works"},
                    "c": {"status": "breaks"}}) == {"works": 2, "breaks": 1}


def test_a_server_that_never_served_after_the_apps_startup_is_a_breakage():
    start = {"ready": {"ok": False}, "requests": [],
             "events": [{"event": "pattern.startup", "pattern": "lifespan-state", "ok": True,
                         "pid": 1, "loop_id": "a"}],
             "log_tail": "Traceback ...\nRuntimeError: anext(): asynchronous generator is "
                         "already running\n[server] fatal: lifespan startup failed"}
    got = verdict("lifespan-state", start)
    assert got.status == "breaks"
    assert "asynchronous generator is already running" in got.explanation


@pytest.mark.parametrize(("ready", "startup_ok", "log", "status", "said"), [
    ({"ok": False, "exited": False, "seconds": 20.1}, True, "starting", "error",
     "within 20.1 s, still running"),
    ({"ok": False, "exited": True, "seconds": 3.2}, True, "starting", "breaks",
     "never served after"),
    ({"ok": False, "exited": False, "seconds": 20.1}, False, "starting", "breaks",
     "never served after"),
    ({"ok": False, "exited": False, "seconds": 20.1}, True, "KeyError: 'pool'", "breaks",
     "its log: KeyError: 'pool'"),
], ids=["alive-silent-slow", "exited", "startup-failed", "log-names-error"])
def test_a_start_that_was_only_slow_after_the_apps_startup_is_unobserved(
        ready, startup_ok, log, status, said):
    start = {"ready": ready, "requests": [], "log_tail": log,
             "events": [{"event": "pattern.startup", "pattern": "lifespan-state",
                         "ok": startup_ok, "pid": 1, "loop_id": "a"}]}
    got = verdict("lifespan-state", start)
    assert got.status == status, got.explanation
    assert said in got.explanation


def test_lost_jobs_where_no_shutdown_came_say_so():
    start = recorded("uvicorn")
    start["events"] = [e for e in start["events"] if not (
        e["pattern"] == "taskgroup-runvar" and (e.get("phase") == "finished"
                                                or e["event"] == "pattern.shutdown"))]
    broken = verdict("taskgroup-runvar", start)
    assert broken.status == "breaks"
    assert "no lifespan shutdown was ever delivered" in broken.explanation


# Framework apps sharing one start (patterns.dispatch), recorded on hypercorn (HTTP/2
# too), control-leaky (one state dict per kept-alive connection) and hypercorn-trio.
FRAMEWORKS = [p for p in PATTERNS.values() if p.start == "frameworks"]


def framework_start(config: str) -> dict[str, Any]:
    return recorded(f"frameworks-{config}")


@pytest.mark.parametrize("pattern", [p.id for p in FRAMEWORKS if p.library == "asyncio"])
def test_asyncio_frameworks_sharing_a_start_work_on_a_single_loop_server(pattern):
    got = verdict(pattern, framework_start("hypercorn"))
    assert got.status == "works", got.explanation
    assert set(got.evidence["carriers"]) == {"new", "ka", "pipe", "h2"}
    h2 = got.evidence["carriers"]["h2"]
    assert len(h2["connections"]) == 1  # one HTTP/2 connection for the start's patterns,
    assert len(set(h2["streams"])) == 3  # each request a stream of it
    assert len(got.evidence["carriers"]["ka"]["connections"]) == 1
    assert got.evidence["lifespans"]  # its own lifespan ran inside the shared one


def test_litestar_reads_another_requests_headers_on_a_connection_sharing_state():
    broken = verdict("litestar-headers", framework_start("control-leaky"))
    assert broken.status == "breaks"
    assert "read another request's headers" in broken.explanation
    assert "on a kept-alive connection" in broken.explanation  # which connection carried it
    # ... and its body, cached in the shared state by the request before
    lost = verdict("litestar-state", framework_start("control-leaky"))
    assert lost.status == "breaks"
    assert "of the 98304 bytes of a chunked request body" in lost.explanation
    # the frameworks that keep nothing of a request in scope["state"] work there
    assert verdict("starlette-yielded-state", framework_start("control-leaky")).status == "works"


def test_a_chunked_body_the_app_did_not_read_whole_breaks():
    start = copy.deepcopy(framework_start("hypercorn"))
    assert verdict("quart-serving", start).status == "works"
    for sent in start["requests"]:
        if sent["path"] == "/p/quart-serving/work" and "body_sent" in sent:
            sent["body"]["body_bytes"] = 65536  # as if the server dropped the last chunks
    broken = verdict("quart-serving", start)
    assert broken.status == "breaks"
    assert "read 65536 of the 98304 bytes" in broken.explanation


def test_each_framework_runs_only_on_the_loop_library_it_is_built_for():
    on_trio, on_asyncio = framework_start("hypercorn-trio"), framework_start("hypercorn")
    assert verdict("quart-trio-serving", on_trio).status == "works"
    not_here = verdict("quart-trio-serving", on_asyncio)
    assert not_here.status == "n/a"
    assert "runs asyncio; this pattern is built on trio" in not_here.explanation
    starlette = verdict("starlette-app-state", on_trio)
    assert starlette.status == "n/a"
    assert "runs trio; this pattern is built on asyncio" in starlette.explanation


def test_a_startup_failure_of_a_mounted_app_is_its_breakage():
    start = copy.deepcopy(framework_start("hypercorn"))
    start["events"] = [e for e in start["events"] if not (
        e["pattern"] == "starlette-yielded-state" and e["event"] == "pattern.startup")]
    start["events"].append({"event": "pattern.startup", "pattern": "starlette-yielded-state",
                            "ok": False, "by": "dispatch", "pid": 1, "loop_id": "a",
                            "error": "lifespan.startup.failed: RuntimeError: The server does "
                                     "not support \"state\" in the lifespan scope."})
    broken = verdict("starlette-yielded-state", start)
    assert broken.status == "breaks"
    assert "does not support \"state\"" in broken.explanation
