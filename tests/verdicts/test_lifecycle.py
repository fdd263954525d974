"""Lifecycle verdicts (what is open at the stop, a hung startup) on hand-written records."""

from __future__ import annotations

import pytest
from asgi_matrix.verdicts import lifecycle as checks
from helpers.observations import T_SIGNAL, obs, open_stop, startup_hang


def judge(check, **scenarios):
    return check(obs(**scenarios))


@pytest.mark.parametrize(("record", "status"), [
    pytest.param(open_stop(ws_code=1001), "pass", id="going-away"),
    pytest.param(open_stop(ws_code=1012), "pass", id="service-restart"),
    pytest.param(open_stop(ws_code=1006), "fail", id="dropped-no-close-frame"),
    pytest.param(open_stop(ws_code=1011), "fail", id="internal-error-code"),
    pytest.param(open_stop(ws_code=None, killed=True), "fail", id="never-closed"),
    pytest.param(open_stop(missing=["hold.start ws-hold"]), "error", id="never-open"),
])
def test_websocket_close_code(record, status):
    verdict = judge(checks.websocket_close_code, open_stop=record)
    assert verdict.status == status
    if status == "pass":
        assert "after SIGTERM" in verdict.explanation  # the time, in words


def test_websocket_close_code_says_the_code_in_words():
    verdict = judge(checks.websocket_close_code, open_stop=open_stop(ws_code=1006))
    assert "no close frame" in verdict.explanation


def test_websocket_checks_need_websockets():
    assert checks.websocket_close_code(obs(websocket=False, open_stop=open_stop())).status == "n/a"
    assert checks.websocket_app_told(obs(websocket=False, open_stop=open_stop())).status == "n/a"


@pytest.mark.parametrize(("record", "status"), [
    pytest.param(open_stop(ws_how="disconnect"), "pass", id="told"),
    pytest.param(open_stop(ws_how="CancelledError"), "fail", id="cancelled"),
    pytest.param(open_stop(ws_how=None, killed=True), "fail", id="never-ended"),
])
def test_websocket_app_told(record, status):
    assert judge(checks.websocket_app_told, open_stop=record).status == status


@pytest.mark.parametrize(("record", "status"), [
    pytest.param(open_stop(stream_how="disconnect"), "pass", id="told"),
    pytest.param(open_stop(stream_how="send-failed"), "pass", id="send-raised"),
    pytest.param(open_stop(stream_how="Cancelled"), "fail", id="cancelled"),
    pytest.param(open_stop(stream_how=None, killed=True), "fail", id="hung-on-it"),
    pytest.param(open_stop(missing=["hold.start stream"]), "error", id="never-open"),
])
def test_stream_app_told(record, status):
    assert judge(checks.stream_app_told, open_stop=record).status == status


@pytest.mark.parametrize(("record", "status"), [
    pytest.param(open_stop(), "pass", id="exited"),
    pytest.param(open_stop(stream_how=None, killed=True), "fail", id="killed"),
    # gunicorn exits by itself after its own 30 s graceful timeout: not killed, still late
    pytest.param({**open_stop(), "stop": {**open_stop()["stop"], "seconds": 30.3}}, "fail",
                 id="exited-after-its-graceful-timeout"),
])
def test_exits_in_time(record, status):
    assert judge(checks.exits_in_time, open_stop=record).status == status


@pytest.mark.parametrize(("record", "status"), [
    pytest.param(open_stop(shutdown_t=10.5), "pass", id="after-both-ended"),
    pytest.param(open_stop(shutdown_t=10.05), "fail", id="before-they-ended"),
    pytest.param(open_stop(shutdown_t=None), "fail", id="never"),
    pytest.param(open_stop(stream_how=None), "fail", id="stream-never-ended"),
    pytest.param(open_stop(lifespan=False), "unsupported", id="no-lifespan"),
])
def test_shutdown_after_release(record, status):
    assert judge(checks.shutdown_after_release, open_stop=record).status == status


@pytest.mark.parametrize(("record", "status"), [
    pytest.param(open_stop(idle_closed_s=0.05), "pass", id="closed-at-once"),
    pytest.param(open_stop(idle_closed_s=5.0), "fail", id="closed-late"),
    pytest.param(open_stop(idle_closed_s=None, killed=True), "fail", id="never-closed"),
    pytest.param(open_stop(idle_closed_s=-1.0), "n/a", id="no-keep-alive"),
])
def test_idle_closed(record, status):
    assert judge(checks.idle_closed, open_stop=record).status == status


@pytest.mark.parametrize(("record", "status"), [
    pytest.param(open_stop(connection="close"), "pass", id="says-close"),
    pytest.param(open_stop(connection="keep-alive"), "fail", id="says-keep-alive"),
    pytest.param(open_stop(connection=None), "fail", id="says-nothing"),
    pytest.param(open_stop(drain_status=None), "fail", id="cut"),
])
def test_drain_connection_close(record, status):
    assert judge(checks.drain_connection_close, open_stop=record).status == status


def test_open_stop_is_not_for_test_clients():
    assert checks.exits_in_time(obs(kind="harness", open_stop=open_stop())).status == "n/a"


def test_open_stop_unmeasured_is_an_error():
    record = {"ready": {"ok": False, "exited": True}, "events": []}
    assert judge(checks.idle_closed, open_stop=record).status == "error"


@pytest.mark.parametrize(("record", "sigterm", "sigint"), [
    pytest.param(startup_hang("SIGTERM"), "pass", "pass", id="sigterm-ends-it"),
    pytest.param(startup_hang("SIGINT"), "fail", "pass", id="only-sigint-ends-it"),
    pytest.param(startup_hang(None), "fail", "fail", id="killed"),
    pytest.param(startup_hang(exited_before=True), "pass", "pass", id="own-timeout"),
    pytest.param(startup_hang(hang_seen=False), "error", "error", id="never-hung"),
    pytest.param(startup_hang(no_lifespan=True), "unsupported", "unsupported",
                 id="no-lifespan"),
])
def test_startup_hang(record, sigterm, sigint):
    assert judge(checks.hang_sigterm, startup_hang=record).status == sigterm
    assert judge(checks.hang_sigint, startup_hang=record).status == sigint


def test_startup_hang_says_which_signal_in_words():
    verdict = judge(checks.hang_sigint, startup_hang=startup_hang("SIGINT"))
    assert "SIGTERM did not end it" in verdict.explanation
    assert "SIGINT ended it" in verdict.explanation


def test_shutdown_after_release_looks_at_the_handlers_own_loop():
    record = open_stop(stream_how=None)  # the stream's loop L1 never ended it ...
    record["events"].append({"event": "lifespan.shutdown", "loop_id": "L2", "pid": 2, "t": 10.2})
    for event in record["events"]:  # ... while another worker's loop shut down
        if event.get("kind") == "ws-hold":
            event["loop_id"] = "L2"
    record["events"] = [e for e in record["events"]
                        if not (e["event"] == "lifespan.shutdown" and e["loop_id"] == "L1")]
    verdict = judge(checks.shutdown_after_release, open_stop=record)
    assert verdict.status == "fail"
    assert "stream handler was left running" in verdict.explanation


# -- what never came to be open at the stop, from what the client saw (issue #13) --------

def _answered_at_once(record, key, seen):
    record["held"][key] = seen
    record["events"].append({"event": "app.error", "error": "NoEventLoopError: no loop"})
    return record


def test_a_stream_answered_before_the_signal_is_not_applicable_with_what_was_seen():
    record = _answered_at_once(open_stop(missing=["hold.start stream"]), "stream",
                               {"status": 500, "ended": "complete",
                                "closed_after_signal_s": -4.9})
    verdict = judge(checks.stream_app_told, open_stop=record)
    assert verdict.status == "n/a"
    assert "ended (complete) with status 500 before the stop signal" in verdict.explanation
    assert "NoEventLoopError" in verdict.explanation
    # still open after the signal, yet the app never saw it: nothing to judge it by
    assert judge(checks.stream_app_told,
                 open_stop=open_stop(missing=["hold.start stream"])).status == "error"


def test_a_drain_request_answered_before_the_signal_is_not_applicable():
    record = _answered_at_once(open_stop(missing=["http.start drain-ka"]), "drain_request",
                               {"response": {"status": 500, "after_signal_s": -4.9}})
    verdict = judge(checks.drain_connection_close, open_stop=record)
    assert verdict.status == "n/a"
    assert "answered with status 500 before the stop signal" in verdict.explanation


@pytest.mark.parametrize(("connection", "status"), [
    pytest.param("close", "pass", id="answered-in-the-drain"),
    pytest.param(None, "fail", id="answered-without-close"),
])
def test_a_drain_request_the_app_got_only_after_the_signal_is_judged_as_in_flight(
        connection, status):
    record = open_stop(missing=["http.start drain-ka"], connection=connection)
    record["held"]["drain_request"]["opened_after_signal_s"] = -10.0
    record["events"] = [e for e in record["events"] if e.get("tag") != "drain-ka"]
    record["events"].append({"event": "http.start", "tag": "drain-ka", "t": T_SIGNAL + 0.02})
    verdict = judge(checks.drain_connection_close, open_stop=record)
    assert verdict.status == status
    assert "the app got it only 0.02 s after SIGTERM, 10.00 s after it was sent" \
        in verdict.explanation


def test_a_drain_request_cut_at_the_signal_that_the_app_never_got_fails():
    record = open_stop(missing=["http.start drain-ka"], drain_status=None)
    record["events"] = [e for e in record["events"] if e.get("tag") != "drain-ka"]
    verdict = judge(checks.drain_connection_close, open_stop=record)
    assert verdict.status == "fail"
    assert "got no response during the drain (cut) (the app never got it)" in verdict.explanation


@pytest.mark.parametrize(("app_saw_it", "words"), [
    pytest.param(True, "the app had answered it", id="response-lost"),
    pytest.param(False, "the app never got it", id="never-passed-on"),
])
def test_an_idle_connection_whose_request_got_no_answer_is_not_applicable(app_saw_it, words):
    record = open_stop()
    record["held"]["idle"] = {"response": None, "closed_after_signal_s": 0.002}
    if app_saw_it:
        record["events"].append({"event": "http", "tag": "idle", "t": 2.0})
    verdict = judge(checks.idle_closed, open_stop=record)
    assert verdict.status == "n/a"
    assert words in verdict.explanation
    assert "no connection sat idle at the stop; the server closed it 0.00 s after SIGTERM" \
        in verdict.explanation


@pytest.mark.parametrize("check", [checks.idle_closed, checks.exits_in_time,
                                   checks.stream_app_told, checks.drain_connection_close])
def test_a_server_dead_before_the_open_stop_signal_is_an_error_saying_so(check):
    assert judge(check, open_stop=open_stop()).status == "pass"
    record = open_stop()
    record["exited_early"] = {"exit_code": -11, "exit_signal": "SIGSEGV"}
    verdict = judge(check, open_stop=record)
    assert verdict.status == "error"
    assert "had already exited (SIGSEGV) before the stop signal" in verdict.explanation
