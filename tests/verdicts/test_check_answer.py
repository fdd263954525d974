"""The answer for a user's app from hand-written records: each finding, both ways.

A record is what ``measure/check_run.py`` keeps of one configuration: the recording layer's
records (``events``), what the client saw (``requests``, ``held``), the stop and the log.
Each helper builds one fact, so a test reads as the situation it describes.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgi_matrix.verdicts.check_answer import judge

LOOP_A = {"pid": 10, "interpreter": 0, "loop_id": "a", "thread_name": "MainThread"}
LOOP_B = {"pid": 10, "interpreter": 0, "loop_id": "b", "thread_name": "loop-2"}


def lifespan(where: dict[str, Any] = LOOP_A, *, shutdown: bool = True) -> list[dict[str, Any]]:
    out = [{"event": "check.lifespan", "received": "lifespan.startup", **where},
           {"event": "check.lifespan", "sent": "lifespan.startup.complete", **where}]
    if shutdown:
        out += [{"event": "check.lifespan", "received": "lifespan.shutdown", **where},
                {"event": "check.lifespan", "sent": "lifespan.shutdown.complete", **where}]
    return out


def served(n: int = 3, status: int = 200, where: dict[str, Any] = LOOP_A,
           error: str = "", held: bool = False) -> tuple[list[dict[str, Any]],
                                                         list[dict[str, Any]]]:
    """(what the client saw, what the layer recorded) for n requests to GET /health."""
    client, layer = [], []
    for i in range(n):
        tag = f"r0-new-{i}{where['loop_id']}{status}"
        client.append({"tag": tag, "method": "GET", "path": "/health", "carrier": "new",
                       "status": status})
        layer.append({"event": "check.request", "tag": tag, "method": "GET", "path": "/health",
                      "status": status, "held": held, **({"error": error} if error else {}),
                      **where})
    return client, layer


def record(events: list[dict[str, Any]], requests: list[dict[str, Any]], *,
           log: str = "", stop: dict[str, Any] | None = None,
           held: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"config": "srv", "ready": {"ok": True},
            "events": [{"event": "check.import", "ok": True, **LOOP_A}, *events],
            "requests": requests, "log": log,
            "stop": stop or {"exit_code": 0, "exit_signal": None, "seconds": 0.3,
                             "killed": False, "orphans": []},
            "held": held if held is not None else {"status": 200}}


def healthy() -> dict[str, Any]:
    client, layer = served()
    return record([*lifespan(), *layer], client)


def test_everything_answered_on_lifespan_loops_works() -> None:
    answer = judge(healthy())
    assert answer.status == "works", answer
    assert "all 3 requests answered 3x 200" in answer.explanation


def test_request_5xx_breaks_with_the_apps_exception_and_where() -> None:
    client, layer = served(2, 500, error="RuntimeError: bound to a different event loop")
    ok_client, ok_layer = served(1)
    answer = judge(record([*lifespan(), *layer, *ok_layer], [*client, *ok_client]))
    assert answer.status == "breaks"
    assert "2 of 3 requests failed" in answer.explanation
    assert "bound to a different event loop" in answer.explanation
    assert "pid 10, thread MainThread, loop a" in answer.explanation


def test_no_answer_at_all_breaks() -> None:
    client = [{"tag": "t", "method": "GET", "path": "/x", "carrier": "ka", "status": None,
               "error": "RemoteProtocolError: Server disconnected"}]
    answer = judge(record(lifespan(), client))
    assert answer.status == "breaks"
    assert "Server disconnected" in answer.explanation


@pytest.mark.parametrize(("sent", "level"), [
    pytest.param("lifespan.startup.failed", "breaks", id="startup-failed"),
    pytest.param("lifespan.shutdown.failed", "breaks", id="shutdown-failed"),
])
def test_the_app_reporting_a_failed_lifespan_breaks(sent: str, level: str) -> None:
    client, layer = served()
    failed = {"event": "check.lifespan", "sent": sent, "message": "db down", **LOOP_A}
    answer = judge(record([*lifespan(), failed, *layer], client))
    assert answer.status == level
    assert "db down" in answer.explanation


def test_a_lifespan_that_raises_during_startup_breaks() -> None:
    raised = {"event": "check.lifespan", "error": "KeyError: 'DSN'",
              "during": "lifespan.startup", **LOOP_A}
    start = {"event": "check.lifespan", "received": "lifespan.startup", **LOOP_A}
    client, layer = served()
    answer = judge(record([start, raised, *layer], client))
    assert answer.status == "breaks"
    assert "the lifespan startup raised KeyError" in answer.explanation


def test_an_app_without_lifespan_is_a_note_not_a_problem() -> None:
    raised = {"event": "check.lifespan", "error": "AssertionError: ", "during": "", **LOOP_A}
    client, layer = served()
    answer = judge(record([raised, *layer], client))
    assert answer.status == "works", answer
    assert any(f.level == "note" and "has no lifespan" in f.text for f in answer.findings)


def test_a_server_without_lifespan_is_a_caveat() -> None:
    client, layer = served()
    answer = judge(record(layer, client))
    assert answer.status == "caveats"
    assert "ran no lifespan" in answer.explanation


def test_shutdown_never_delivered_while_the_server_exited_breaks() -> None:
    client, layer = served()
    answer = judge(record([*lifespan(shutdown=False), *layer], client))
    assert answer.status == "breaks"
    assert "1 of 1 lifespans never got lifespan.shutdown" in answer.explanation
    killed = record([*lifespan(shutdown=False), *layer], client,
                    stop={"killed": True, "seconds": 8.0, "exit_code": None})
    assert judge(killed).status == "caveats"  # it never exited: the kill is the finding


def test_requests_on_a_loop_without_lifespan_are_a_caveat() -> None:
    client, layer = served(where=LOOP_B)
    answer = judge(record([*lifespan(LOOP_A), *layer], client))
    assert answer.status == "caveats"
    assert "loop that ran no lifespan (pid 10, thread loop-2, loop b)" in answer.explanation
    both = judge(record([*lifespan(LOOP_A), *lifespan(LOOP_B), *layer], client))
    assert both.status == "works"


def test_a_path_that_404s_is_a_caveat_naming_it() -> None:
    client, layer = served(status=404)
    answer = judge(record([*lifespan(), *layer], client))
    assert answer.status == "caveats"
    assert "GET /health answered 404 on 3 request(s)" in answer.explanation


@pytest.mark.parametrize(("held", "status"), [
    pytest.param({"status": 200}, "works", id="answered"),
    pytest.param({"status": 503, "body": "pool closed"}, "breaks", id="5xx"),
    pytest.param({"status": None, "error": "ReadError"}, "caveats", id="cut"),
])
def test_the_request_in_flight_at_sigterm(held: dict[str, Any], status: str) -> None:
    client, layer = served()
    assert judge(record([*lifespan(), *layer], client, held=held)).status == status


@pytest.mark.parametrize(("stop", "status"), [
    pytest.param({"exit_code": -15, "exit_signal": "SIGTERM", "seconds": 0.2,
                  "killed": False}, "works", id="sigterm-reraised"),
    pytest.param({"exit_code": 143, "exit_signal": None, "seconds": 0.2, "killed": False},
                 "works", id="sigterm-as-143"),
    pytest.param({"exit_code": 3, "exit_signal": None, "seconds": 0.2, "killed": False},
                 "caveats", id="failure-status"),
    pytest.param({"exit_code": -11, "exit_signal": "SIGSEGV", "seconds": 0.2,
                  "killed": False}, "caveats", id="crash-at-stop"),
    pytest.param({"exit_code": 0, "seconds": 0.2, "killed": False, "orphans": [77]},
                 "caveats", id="orphans"),
])
def test_how_the_server_exited(stop: dict[str, Any], status: str) -> None:
    client, layer = served()
    assert judge(record([*lifespan(), *layer], client, stop=stop)).status == status


@pytest.mark.parametrize(("line", "status"), [
    pytest.param("Task was destroyed but it is pending!", "breaks", id="task-destroyed"),
    pytest.param("RuntimeError: Task got Future attached to a different loop", "breaks",
                 id="different-loop"),
    pytest.param("ResourceWarning: unclosed <socket.socket fd=7>", "caveats", id="unclosed"),
    pytest.param("Traceback (most recent call last):\nValueError: boom", "caveats",
                 id="traceback"),
    pytest.param("INFO: Application startup complete.", "works", id="quiet"),
])
def test_log_lines_of_note(line: str, status: str) -> None:
    client, layer = served()
    answer = judge(record([*lifespan(), *layer], client, log=line))
    assert answer.status == status, answer


def test_an_app_that_does_not_import_breaks_with_its_error() -> None:
    bad = {"config": "srv", "ready": {"ok": True}, "events": [
        {"event": "check.import", "ok": False, "error": "ModuleNotFoundError: No module "
         "named 'redis'", "traceback": "...", **LOOP_A}]}
    answer = judge(bad)
    assert answer.status == "breaks"
    assert answer.explanation == "the app did not import: ModuleNotFoundError: No module " \
                                 "named 'redis'"


def test_never_served_breaks_when_the_log_names_an_error_else_error() -> None:
    never = {"config": "srv", "ready": {"ok": False, "exited": True}, "events": [],
             "log": "ImportError: cannot import name 'x'"}
    assert judge(never).status == "breaks"
    assert judge({**never, "log": ""}).status == "error"


def test_a_configuration_that_cannot_run_here_is_not_run() -> None:
    answer = judge({"config": "srv", "error": "no Python 3.14 here", "stage": "prepare",
                    "not_runnable": True})
    assert (answer.status, answer.explanation) == ("not run", "no Python 3.14 here")


def test_a_server_that_died_under_the_traffic_breaks_with_how() -> None:
    client, layer = served()
    died = record([*lifespan(shutdown=False), *layer], client)
    died.update(alive_at_stop=False, exited_early={"exit_code": -11, "exit_signal": "SIGSEGV"})
    answer = judge(died)
    assert answer.status == "breaks"
    assert "the server died under the traffic (with SIGSEGV) before the stop signal" in [
        f.text for f in answer.findings]
    assert judge({**died, "alive_at_stop": True}).status == "breaks"  # shutdown never came
    alive = record([*lifespan(), *layer], client)
    assert judge({**alive, "alive_at_stop": True}).status == "works"


def task(outcome: str, shutting_down: bool, error: str = "", key: str = "") -> dict[str, Any]:
    return {"event": "check.task", "outcome": outcome, "method": "POST", "path": "/items",
            "task_key": key or f"{outcome}-{shutting_down}",
            "after_request_s": 1.5, "own_loop_shutting_down": shutting_down,
            **({"error": error} if error else {}), **LOOP_B}


@pytest.mark.parametrize(("tasks", "status", "words"), [
    pytest.param([task("finished", False), task("finished", True)], "works", "",
                 id="finished"),
    pytest.param([task("finished", False), task("cancelled", True)], "caveats",
                 "1 of 2 background tasks started by requests were cancelled at shutdown",
                 id="cancelled-at-own-shutdown"),
    pytest.param([task("cancelled", False)], "breaks",
                 "cancelled while their own event loop's lifespan was still running",
                 id="cancelled-from-elsewhere"),
    pytest.param([task("failed", False, "RuntimeError: pool is closed")], "breaks",
                 "failed, the first (from POST /items) with RuntimeError: pool is closed",
                 id="failed"),
    pytest.param([task("running", False, key="k1"), task("running", False, key="k2"),
                  task("finished", False, key="k2")], "caveats",
                 "1 of 2 background tasks started by requests never ended", id="never-ended"),
])
def test_background_tasks_requests_started(tasks: list[dict[str, Any]], status: str,
                                           words: str) -> None:
    client, layer = served()
    answer = judge(record([*lifespan(LOOP_A), *lifespan(LOOP_B), *layer, *tasks], client))
    assert answer.status == status, answer
    assert words in answer.explanation
