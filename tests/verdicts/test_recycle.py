"""Recycled-worker verdicts on hand-written records of the recycle scenario."""

from __future__ import annotations

import pytest
from asgi_matrix.verdicts import recycle as checks
from helpers.observations import obs, recycle_run


def judge(check, record):
    return check(obs(recycle=record))


@pytest.mark.parametrize(("record", "status"), [
    pytest.param(recycle_run(replaced=2, shut=2), "pass", id="shutdown-and-startup-each"),
    pytest.param(recycle_run(replaced=2, shut=1), "fail", id="one-worker-never-shut-down"),
    pytest.param(recycle_run(replaced=1, shut=0), "fail", id="replaced-without-shutdown"),
    pytest.param(recycle_run(replaced=0, shut=1, exited=True), "pass",
                 id="went-away-after-its-shutdown"),
    pytest.param(recycle_run(replaced=0, shut=0, exited=True), "fail",
                 id="went-away-without-shutdown"),
    pytest.param(recycle_run(lifespan=False), "unsupported", id="no-lifespan"),
])
def test_lifespan_per_worker(record, status):
    assert judge(checks.lifespan_per_worker, record).status == status


@pytest.mark.parametrize(("record", "status"), [
    pytest.param(recycle_run(failed=0), "pass", id="none-dropped"),
    pytest.param(recycle_run(failed=3), "fail", id="dropped-in-the-swap"),
])
def test_no_dropped_requests(record, status):
    verdict = judge(checks.no_dropped_requests, record)
    assert verdict.status == status
    if status == "fail":
        assert "3 of 300" in verdict.explanation


def test_failures_after_the_server_died_are_not_counted_as_drops():
    record = recycle_run(replaced=0, exited=True)
    record["failed"] = [{"status": None, "error": "refused", "alive_after": False,
                         "after_start_s": 2.0}]
    record["failed_count"] = 1
    record["failed_while_up"] = 0
    assert judge(checks.no_dropped_requests, record).status == "pass"


@pytest.mark.parametrize(("record", "status"), [
    pytest.param(recycle_run(), "pass", id="replaced"),
    pytest.param(recycle_run(replaced=0, exited=True), "fail", id="one-worker-exits"),
])
def test_server_stays(record, status):
    assert judge(checks.server_stays, record).status == status


def test_no_recycle_within_the_bound_is_an_error():
    record = recycle_run(replaced=0, shut=0)
    for check in (checks.lifespan_per_worker, checks.no_dropped_requests, checks.server_stays):
        assert judge(check, record).status == "error"


def test_configurations_without_recycling_are_not_applicable():
    verdict = checks.server_stays(obs(recycle=None))  # no budget: no recycle scenario
    assert verdict.status == "n/a"
    assert checks.server_stays(obs(kind="harness", recycle=recycle_run())).status == "n/a"
