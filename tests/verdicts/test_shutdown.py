"""Shutdown verdicts, per stop scenario, on hand-written observations."""

from __future__ import annotations

import pytest
from asgi_matrix.verdicts import shutdown as checks
from helpers.observations import obs, request, shutdown, startup, stop_scenario


@pytest.mark.parametrize("name", ["main", "group"])
@pytest.mark.parametrize(("scenario", "status"), [
    pytest.param(stop_scenario(), "pass", id="delivered"),
    pytest.param(stop_scenario([startup(), request("slow", t=3.0, t_end=4.0)]), "fail",
                 id="never-delivered"),
    pytest.param(stop_scenario([startup("A"), startup("B"), request("slow", "A"), shutdown("A")]),
                 "fail", id="one-loop-missed"),
    pytest.param(stop_scenario([request("slow")]), "unsupported", id="no-lifespan"),
])
def test_delivered(name, scenario, status):
    assert checks.delivered(name)(obs(**{name: scenario})).status == status


@pytest.mark.parametrize("name", ["main", "group"])
@pytest.mark.parametrize(("scenario", "status"), [
    pytest.param(stop_scenario(), "pass", id="drained-then-shutdown"),
    pytest.param(stop_scenario(slow_status=None), "fail", id="in-flight-request-cut"),
    pytest.param(stop_scenario([startup(), request("slow", t=3.0, t_end=4.0), shutdown(t=3.5)]),
                 "fail", id="shutdown-before-request-finished"),
    pytest.param(stop_scenario([startup("A"), startup("B"), request("slow", "A", t_end=4.0),
                                shutdown("B", t=3.5), shutdown("A", t=4.5)]),
                 "pass", id="another-loop-may-shut-down-first"),
    pytest.param(stop_scenario(in_flight=False), "error", id="slow-request-never-in-flight"),
])
def test_after_drain(name, scenario, status):
    assert checks.after_drain(name)(obs(**{name: scenario})).status == status


def test_harnesses_have_no_process_to_signal():
    verdict = checks.delivered("main")(obs(kind="harness"))
    assert verdict.status == "n/a"


@pytest.mark.parametrize("check", [checks.delivered("main"), checks.after_drain("main")])
def test_a_server_that_ignored_sigterm_is_an_error_cell(check):
    verdict = check(obs(main=stop_scenario(killed=True)))
    assert verdict.status == "error"
    assert "ignored SIGTERM" in verdict.explanation


@pytest.mark.parametrize(("scenario", "status"), [
    pytest.param(stop_scenario(), "pass", id="nothing-left"),
    pytest.param(stop_scenario(orphans=[4242]), "fail", id="a-worker-outlived-the-server"),
])
def test_no_orphans(scenario, status):
    verdict = checks.no_orphans(obs(main=scenario))
    assert verdict.status == status
    if status == "fail":
        assert "4242" in verdict.explanation


@pytest.mark.parametrize(("scenario", "status"), [
    pytest.param(stop_scenario(exit_code=0), "pass", id="status-0"),
    pytest.param(stop_scenario(exit_code=-15, exit_signal="SIGTERM"), "pass",
                 id="re-raised-sigterm"),
    pytest.param(stop_scenario(exit_code=70), "fail", id="status-70"),
    pytest.param(stop_scenario(exit_code=-11, exit_signal="SIGSEGV"), "fail", id="segfault"),
    pytest.param(stop_scenario(killed=True, exit_code=None), "error", id="ignored-sigterm"),
])
def test_clean_exit(scenario, status):
    assert checks.clean_exit(obs(group=scenario)).status == status


def test_exit_and_orphans_do_not_apply_to_test_clients():
    assert checks.clean_exit(obs(kind="harness")).status == "n/a"
    assert checks.no_orphans(obs(kind="harness")).status == "n/a"


def test_orphans_cannot_be_observed_in_a_container():
    scenario = stop_scenario()
    scenario["stop"]["orphans"] = None
    assert checks.no_orphans(obs(main=scenario, group=scenario)).status == "n/a"


@pytest.mark.parametrize("check", [checks.clean_exit, checks.no_orphans])
def test_a_server_that_never_served_has_no_exit_verdict(check):
    never = {"ready": {"ok": False, "exited": True}, "stop": {"exit_code": 1, "orphans": []}}
    assert check(obs(main=never, group=never)).status == "error"


# -- a slow request that was never in flight; a server that died first (issue #13) ------

def _ended_first(status, error=None):
    scenario = stop_scenario(in_flight=False, slow_status=status)
    scenario["slow"]["error"] = error
    scenario["slow_ended_before_signal"] = True
    scenario["events"].append({"event": "app.error", "error": "NoEventLoopError: no loop"})
    return scenario


@pytest.mark.parametrize("name", ["main", "group"])
def test_a_slow_request_answered_before_the_signal_leaves_nothing_to_drain(name):
    verdict = checks.after_drain(name)(obs(**{name: _ended_first(500)}))
    assert verdict.status == "n/a"
    assert "was answered with status 500 (the app raised: NoEventLoopError" \
        in verdict.explanation
    refused = checks.after_drain(name)(obs(**{name: _ended_first(None, "ConnectError")}))
    assert refused.status == "n/a"
    assert "got no answer (ConnectError)" in refused.explanation


def _died(scenario, code, signal=None):
    scenario["exited_early"] = {"exit_code": code, "exit_signal": signal}
    return scenario


def test_clean_exit_fails_a_crash_before_any_stop_signal():
    verdict = checks.clean_exit(obs(main=_died(stop_scenario(), -11, "SIGSEGV")))
    assert verdict.status == "fail"
    assert verdict.explanation.startswith("the server died with SIGSEGV before any stop signal")


def test_clean_exit_judges_the_other_stop_when_one_scenario_exited_with_status_0():
    graceful = obs(main=_died(stop_scenario(), 0), group=stop_scenario(exit_code=0))
    assert checks.clean_exit(graceful).status == "pass"
    cut = obs(main=_died(stop_scenario(), 0),
              group=stop_scenario(slow_status=None, exit_code=-15, exit_signal="SIGTERM"))
    assert checks.clean_exit(cut).status == "fail"
    neither = checks.clean_exit(obs(main=_died(stop_scenario(), 0),
                                    group=_died(stop_scenario(), 0)))
    assert neither.status == "error"
    assert "had already exited (status 0) before the stop signal" in neither.explanation
