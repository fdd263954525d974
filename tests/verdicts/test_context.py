"""Contextvar verdicts (asgiref #322) on hand-written observations."""

from __future__ import annotations

import pytest
from asgi_matrix.verdicts import context
from helpers.observations import good_main, obs, request, served, startup


@pytest.mark.parametrize(("events", "status"), [
    pytest.param(good_main(), "pass", id="visible"),
    pytest.param([startup(), request(ctx=None)], "fail", id="fresh-context"),
    pytest.param([startup(pid=1, token="a"), request(pid=2, ctx="a")], "fail",
                 id="token-of-another-process"),
])
def test_propagates(events, status):
    assert context.propagates(obs(main=served(events))).status == status


@pytest.mark.parametrize(("events", "websocket", "status"), [
    pytest.param(good_main(), True, "pass", id="visible"),
    pytest.param([startup(), request(event="websocket", ctx=None)], True, "fail",
                 id="fresh-context"),
    pytest.param(good_main(), False, "n/a", id="no-websocket-support"),
    pytest.param([startup(), request()], True, "error", id="exchange-never-reached-the-app"),
])
def test_propagates_websocket(events, websocket, status):
    verdict = context.propagates_websocket(obs(websocket=websocket, main=served(events)))
    assert verdict.status == status
