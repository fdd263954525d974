"""Lifecycle verdicts (what is open at the stop, a hung startup) on hand-written records."""

from __future__ import annotations

import pytest
from asgi_matrix.verdicts import lifecycle as checks
from helpers.observations import obs, open_stop, startup_hang


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
    pytest.param(open_stop(missing=["http.start drain-ka"]), "error", id="never-in-flight"),
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
