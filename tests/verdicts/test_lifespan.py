"""Lifespan verdicts on hand-written observations: each passes once and fails once."""

from __future__ import annotations

import pytest
from asgi_matrix.verdicts import lifespan
from helpers.observations import good_main, obs, request, served, startup

TWO_LOOPS = [startup("A", thread=1, token="a"), startup("B", thread=2, token="b"),
             request("r1", "A", thread=1, ctx="a", state_token="a"),
             request("r2", "B", thread=2, ctx="b", state_token="b")]


@pytest.mark.parametrize(("events", "status"), [
    pytest.param(good_main(), "pass", id="one-startup"),
    pytest.param([request()], "unsupported", id="no-lifespan-at-all"),
])
def test_supported(events, status):
    assert lifespan.supported(obs(main=served(events))).status == status


def test_supported_is_an_error_when_the_server_never_answered():
    verdict = lifespan.supported(obs(main={"ready": {"ok": False, "exited": True}}))
    assert verdict.status == "error"
    assert "exited" in verdict.explanation


@pytest.mark.parametrize(("events", "status"), [
    pytest.param(good_main(), "pass", id="requests-after-startup"),
    pytest.param([request("ready", t=0.5), startup(t=1.0), request(t=2.0)], "fail",
                 id="request-before-startup-completed"),
    pytest.param([startup(pid=1), request(pid=2, t=2.0)], "fail",
                 id="request-in-a-process-without-startup"),
])
def test_startup_before_requests(events, status):
    assert lifespan.startup_before_requests(obs(main=served(events))).status == status


@pytest.mark.parametrize(("events", "status"), [
    pytest.param(good_main(), "pass", id="single-loop"),
    pytest.param(TWO_LOOPS, "pass", id="lifespan-on-each-of-two-loops"),
    pytest.param([startup("A"), request(loop="B", thread=2, ctx=None)], "fail",
                 id="request-on-a-loop-without-lifespan"),
    pytest.param([startup("A"), startup("A", t=1.5), request(loop="A")], "fail",
                 id="two-startups-on-one-loop"),
    pytest.param([request(loop="A", t=0.5), startup("A", t=1.0)], "fail",
                 id="startup-after-first-request-on-the-loop"),
])
def test_per_loop(events, status):
    assert lifespan.per_loop(obs(main=served(events))).status == status


@pytest.mark.parametrize(("events", "status"), [
    pytest.param(TWO_LOOPS, "pass", id="each-request-on-a-lifespan-thread"),
    pytest.param([startup(thread=1), request(thread=2)], "fail", id="lifespan-on-worker-thread"),
])
def test_same_thread(events, status):
    assert lifespan.same_thread(obs(main=served(events))).status == status


@pytest.mark.parametrize(("events", "status"), [
    pytest.param(good_main(), "pass", id="jobs-ran"),
    pytest.param([startup(), request(job_ran=False)], "fail", id="task-group-of-another-loop"),
])
def test_resources_usable(events, status):
    verdict = lifespan.resources_usable(obs(main=served(events)))
    assert verdict.status == status
    if status == "fail":
        assert "no task group" in verdict.explanation
