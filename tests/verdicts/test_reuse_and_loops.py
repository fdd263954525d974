"""Reused connections, per-loop matching, crashes and the precise checks of issue #13:
each verdict on hand-written observations, one passing and one failing case (at least)."""

from __future__ import annotations

from asgi_matrix.verdicts import context, failure, lifespan, requests, shutdown, state
from helpers.observations import (
    FAILED_STARTUP,
    good_main,
    obs,
    request,
    served,
    startup,
    stop_scenario,
)


def main(*events, **extra):
    return obs(main=stop_scenario(list(events), **extra))


# -- state on reused connections ------------------------------------------------------

def test_state_per_keepalive_request_passes_when_each_request_gets_a_copy():
    verdict = state.isolated_keepalive(obs(main=served(good_main())))
    assert verdict.status == "pass", verdict.explanation


def test_state_shared_by_one_keepalive_connection_fails_naming_both_requests():
    verdict = state.isolated_keepalive(main(
        startup(), request("ka-0", connection="c1"),
        request("ka-1", connection="c1", foreign=["req:ka-0"])))
    assert verdict.status == "fail"
    assert "'ka-1' saw the key 'ka-0' added on the same connection (port c1)" in verdict.explanation
    # the same leak is not a cross-connection one: shallow-copy stays clean
    assert state.shallow_copy(main(
        startup(), request("ka-0", connection="c1"),
        request("ka-1", connection="c1", foreign=["req:ka-0"]))).status == "pass"


def test_state_per_connection_is_na_when_the_server_never_reused_one():
    verdict = state.isolated_keepalive(main(startup(), request("ka-0", connection="c1"),
                                            request("ka-1", connection="c2")))
    assert verdict.status == "n/a"
    assert "did not reuse it" in verdict.explanation


def test_state_per_http2_stream_fails_when_streams_share_it_and_is_na_when_not_spoken():
    shared = main(startup(), request("h2-0", connection="c9"),
                  request("h2-1", connection="c9", foreign=["req:h2-0"]))
    assert state.isolated_http2(shared).status == "fail"
    assert state.isolated_http2(obs(main=served(good_main()))).status == "pass"
    skipped = obs(main=served(good_main(), http2={"skipped": "the catalogue does not declare"
                                                   " HTTP/2"}))
    verdict = state.isolated_http2(skipped)
    assert (verdict.status, verdict.explanation) == ("n/a", "the catalogue does not declare "
                                                     "HTTP/2")


#: what the client saw carry each HTTP/2 request (measure/drive/traffic.py records stream_id)
H2_STREAMS = [{"tag": "h2-0", "status": 200, "stream_id": 1},
              {"tag": "h2-1", "status": 200, "stream_id": 3}]


def test_state_shared_by_http2_streams_fails_naming_the_streams_and_the_connection():
    verdict = state.isolated_http2(main(
        startup(), request("h2-0", connection="c9"),
        request("h2-1", connection="c9", foreign=["req:h2-0"]), requests=H2_STREAMS))
    assert verdict.status == "fail"
    assert ("'h2-1' (stream 3) saw the key 'h2-0' (stream 1) added on the same connection (port "
            "c9)") in verdict.explanation
    assert "the connection's streams share one state" in verdict.explanation


# -- contextvars between requests ------------------------------------------------------

def test_contextvars_isolated_between_requests():
    assert context.isolated(obs(main=served(good_main()))).status == "pass"
    leaked = context.isolated(main(startup(), request("ka-1", connection="c1"),
                                   request("ka-2", connection="c1", mark_seen="mark:ka-1")))
    assert leaked.status == "fail"
    assert "'ka-2' saw the value 'ka-1' set, on the same connection (port c1)" in leaked.explanation


def test_contextvar_leaks_are_told_per_carrier_with_the_http2_streams_named():
    leaked = context.isolated(main(
        startup(), request("ka-0", connection="c1"),
        request("ka-1", connection="c1", mark_seen="mark:ka-0"),
        request("h2-0", connection="c2"),
        request("h2-1", connection="c2", mark_seen="mark:h2-0"),
        requests=[*H2_STREAMS, {"tag": "ka-0", "status": 200}, {"tag": "ka-1", "status": 200}]))
    assert leaked.status == "fail"
    assert leaked.explanation.startswith("2 of 4 requests saw a contextvar")
    assert "keep-alive: 'ka-1' saw the value 'ka-0' set, on the same connection (port c1)" in \
        leaked.explanation
    assert ("HTTP/2: 'h2-1' (stream 3) saw the value 'h2-0' (stream 1) set, on the same "
            "connection (port c2)") in leaked.explanation
    assert leaked.evidence["by_carrier"] == {"keep-alive": 1, "HTTP/2": 1}


# -- the naive pattern of asgiref PR #277 ----------------------------------------------

def test_task_group_on_the_app_object():
    assert lifespan.app_object_resources(obs(main=served(good_main()))).status == "pass"
    verdict = lifespan.app_object_resources(main(
        startup(loop="L1", t=1.0, token="a"), startup(loop="L2", t=1.0, token="b"),
        request("seq-0", loop="L1", ctx="a", state_token="a"),
        request("seq-1", loop="L2", ctx="b", state_token="b", naive_ran=False)))
    assert verdict.status == "fail"
    assert "'seq-1' on loop L2 (pid 1), task group stored by loop L1's lifespan" in \
        verdict.explanation


# -- per-loop matching -----------------------------------------------------------------

def crossed():
    """Two loops in one process; a request on L2 sees what L1's lifespan set."""
    return main(startup(loop="L1", token="a"), startup(loop="L2", token="b"),
                request("seq-0", loop="L1", ctx="a", state_token="a"),
                request("seq-1", loop="L2", ctx="a", state_token="a"))


def test_state_set_by_another_loops_lifespan_fails_naming_both_loops():
    verdict = state.supported(crossed())
    assert verdict.status == "fail"
    assert ("request 'seq-1' on loop L2 (pid 1) saw the state set by loop L1 (pid 1)'s "
            "lifespan") in verdict.explanation


def test_contextvar_set_by_another_loops_lifespan_fails_naming_both_loops():
    verdict = context.propagates(crossed())
    assert verdict.status == "fail"
    assert "on loop L2 (pid 1) saw the contextvar set by loop L1 (pid 1)'s lifespan" in \
        verdict.explanation


def test_loops_in_two_interpreters_of_one_process_are_told_apart():
    same_loop_id = main(startup(loop="L1", token="a"),
                        request("seq-0", loop="L1", ctx="a", state_token="a", interpreter=2))
    assert state.supported(same_loop_id).status == "fail"


def test_per_loop_counts_when_the_lifespan_began_not_when_it_completed():
    began_first = {**startup(t=2.5), "t_received": 1.0}  # serving while startup runs
    verdict = lifespan.per_loop(main(began_first, request("seq-0", t=2.0)))
    assert verdict.status == "pass", verdict.explanation
    began_late = {**startup(t=2.5), "t_received": 2.4}
    verdict = lifespan.per_loop(main(began_late, request("seq-0", t=2.0)))
    assert verdict.status == "fail"
    assert "before its lifespan began" in verdict.explanation


def test_requests_with_no_event_loop_fail_per_loop():
    verdict = lifespan.per_loop(main(startup(), request("seq-0", loop=None)))
    assert verdict.status == "fail"
    assert "no event loop" in verdict.explanation


def test_resources_usable_ignores_requests_before_their_loops_startup_completed():
    early = request("seq-0", t=0.5, job_ran=False)
    assert lifespan.resources_usable(main(startup(t=1.0), early, request("seq-1"))).status \
        == "pass"
    assert lifespan.resources_usable(main(startup(t=1.0), request("seq-1", job_ran=False))
                                     ).status == "fail"


# -- a crash is a finding ----------------------------------------------------------------

def test_a_server_that_died_in_a_batch_is_judged_with_the_count_and_the_cause():
    sent = [{"tag": "seq-0", "status": 200}] + [
        {"tag": f"conc-{i}", "status": None, "error": "ConnectError"} for i in range(13)]
    observed = obs(main=served([startup(), request("seq-0")], requests=sent,
                               exited_early={"exit_code": -11, "exit_signal": "SIGSEGV"}))
    verdict = requests.all_answered(observed)
    assert verdict.status == "fail"
    assert verdict.explanation.startswith(
        "13 of 14 got no answer: the server died with SIGSEGV during the concurrent batch")
    assert lifespan.supported(observed).status == "pass"
    stopped = shutdown.delivered("main")(observed)
    assert stopped.status == "error"
    assert "had already exited (SIGSEGV) before the stop signal" in stopped.explanation
    crashed = shutdown.clean_exit(observed)  # a crash is observed, stop or no stop
    assert crashed.status == "fail"
    assert "died with SIGSEGV before any stop signal" in crashed.explanation


def test_a_server_that_answers_500_everywhere_is_judged():
    sent = [{"tag": f"seq-{i}", "status": 500} for i in range(16)]
    events = [startup(), {**request("seq-0", loop=None), "no_loop": "RuntimeError: no loop"},
              {"event": "app.error", "error": "RuntimeError: no running event loop"}]
    observed = obs(main=served(events, requests=sent))
    verdict = requests.all_answered(observed)
    assert verdict.status == "fail"
    assert verdict.explanation.startswith("all 16 answered 500 (the app raised: RuntimeError")
    assert lifespan.per_loop(observed).status == "fail"
    assert requests.all_answered(obs(main=served(good_main(), requests=[
        {"tag": "seq-0", "status": 200}]))).status == "pass"


# -- precise checks --------------------------------------------------------------------

def test_startup_failure_counts_only_requests_after_the_failure():
    before = {"events": [request("after-failure", t=0.5), FAILED_STARTUP], "served": [{}],
              "exited_by_itself": True, "exit_code": 3}
    assert failure.startup_failure_exits(obs(startup_fail=before)).status == "pass"
    after = {"events": [FAILED_STARTUP, request("after-failure", t=1.5)], "served": [{}],
             "exited_by_itself": True, "exit_code": 3, "seconds": 0.8}
    verdict = failure.startup_failure_exits(obs(startup_fail=after))
    assert verdict.status == "fail"
    assert "1 request(s) reached the app after the failure); it exited with status 3" in \
        verdict.explanation


def test_a_test_client_stopped_only_by_its_own_timeout_fails_saying_so():
    verdict = failure.startup_failure_exits(obs(kind="harness", startup_fail={
        "events": [FAILED_STARTUP], "exit_code": 1, "seconds": 5.1,
        "client": {"error": "TimeoutError: "}}))
    assert verdict.status == "fail"
    assert "stopped only by its own timeout" in verdict.explanation


def test_a_server_that_never_sends_lifespan_keeps_serving_and_cannot_fail_startup():
    never = obs(main=served([request("seq-0", ctx=None, state_token=None)]),
                startup_fail={"events": [], "served": [{}], "exited_by_itself": False},
                reject_lifespan=served([], requests=[{"status": 200}, {"status": 200}]))
    assert failure.rejected_keeps_serving(never).status == "pass"
    assert failure.startup_failure_exits(never).status == "n/a"
    dropped = obs(main=served([request("seq-0", ctx=None, state_token=None)]),
                  reject_lifespan=served([], requests=[{"status": 200}, {"status": None}]))
    assert failure.rejected_keeps_serving(dropped).status == "fail"


def test_death_by_sigterm_is_clean_only_after_a_graceful_stop():
    graceful = stop_scenario(exit_code=-15, exit_signal="SIGTERM")
    assert shutdown.clean_exit(obs(main=graceful, group=graceful)).status == "pass"
    cut = stop_scenario(exit_code=-15, exit_signal="SIGTERM", slow_status=None)
    verdict = shutdown.clean_exit(obs(main=cut))
    assert verdict.status == "fail"
    assert "died by the SIGTERM without a graceful stop (the request in flight was cut)" in \
        verdict.explanation


def test_a_job_that_ran_inside_another_loops_task_group_fails_as_moved_across_loops():
    moved = request("seq-1", loop="L2", ctx="b", state_token="b")  # naive: stored by L1
    moved["naive"].update(ran=True, error=None, job_loop_id="L2")
    verdict = lifespan.app_object_resources(main(
        startup(loop="L1", token="a"), startup(loop="L2", token="b"), moved))
    assert verdict.status == "fail"
    assert "the job ran on loop L2 inside loop L1's task group" in verdict.explanation


def test_requests_running_into_their_loops_shutdown_do_not_count_for_resources():
    late = request("slow", t=3.0, t_end=5.0, job_ran=False)
    late["naive"].update(ran=False, error="task group is not active")
    observed = main(startup(), request("seq-0"), late, {**startup(), "event":
                                                         "lifespan.shutdown", "t": 4.0})
    assert lifespan.resources_usable(observed).status == "pass"
    assert lifespan.app_object_resources(observed).status == "pass"
