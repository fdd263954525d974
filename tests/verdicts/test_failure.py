"""Startup-failure and rejected-lifespan verdicts on hand-written observations."""

from __future__ import annotations

import pytest
from asgi_matrix.verdicts import failure
from helpers.observations import obs, served, startup

FAILED = {**startup(), "outcome": "failed"}


@pytest.mark.parametrize(("scenario", "status"), [
    pytest.param({"events": [FAILED], "served": [], "exited_by_itself": True, "exit_code": 3},
                 "pass", id="exits-3"),
    pytest.param({"events": [FAILED], "served": [], "exited_by_itself": True, "exit_code": 0},
                 "fail", id="exits-0"),
    pytest.param({"events": [FAILED], "served": [{"status": 200}], "exited_by_itself": False},
                 "fail", id="keeps-serving"),
    pytest.param({"events": [FAILED], "served": [], "exited_by_itself": False, "seconds": 6},
                 "fail", id="hangs"),
    pytest.param({"events": [], "served": [], "exited_by_itself": False}, "unsupported",
                 id="no-lifespan"),
])
def test_startup_failure_exits(scenario, status):
    assert failure.startup_failure_exits(obs(startup_fail=scenario)).status == status


@pytest.mark.parametrize(("scenario", "status"), [
    pytest.param(served([{"event": "lifespan.rejected"}], requests=[{"status": 200}]), "pass",
                 id="keeps-serving"),
    pytest.param({"ready": {"ok": False, "exited": True}, "exit_code": 1,
                  "events": [{"event": "lifespan.rejected"}]}, "fail", id="exits"),
    pytest.param(served([], requests=[{"status": 200}]), "n/a", id="never-sent-lifespan"),
])
def test_rejected_keeps_serving(scenario, status):
    assert failure.rejected_keeps_serving(obs(reject_lifespan=scenario)).status == status


def test_a_scenario_that_could_not_run_is_an_error_not_unsupported():
    skipped = {"error": "not run: the server did not become ready in the main scenario"}
    verdict = failure.startup_failure_exits(obs(startup_fail=skipped))
    assert (verdict.status, verdict.explanation) == ("error", skipped["error"])
    assert failure.rejected_keeps_serving(obs(reject_lifespan=skipped)).status == "error"


@pytest.mark.parametrize(("scenario", "status"), [
    pytest.param({"events": [FAILED], "exit_code": 1, "client": {"error": "RuntimeError"}},
                 "pass", id="raised-in-the-test"),
    pytest.param({"events": [FAILED, {**FAILED, "event": "http"}], "exit_code": -15,
                  "timed_out": True}, "fail", id="served-then-hung"),
    pytest.param({"events": [FAILED], "exit_code": 0}, "fail", id="carried-on"),
])
def test_startup_failure_in_a_test_client(scenario, status):
    verdict = failure.startup_failure_exits(obs(kind="harness", startup_fail=scenario))
    assert verdict.status == status
