"""Lifespan state verdicts on hand-written observations."""

from __future__ import annotations

import pytest
from asgi_matrix.verdicts import state
from helpers.observations import good_main, obs, request, served, startup


@pytest.mark.parametrize(("events", "status"), [
    pytest.param(good_main(), "pass", id="state-reaches-requests"),
    pytest.param([startup(state=False), request(state_token=None)], "unsupported",
                 id="no-state-in-lifespan-scope"),
    pytest.param([startup(), request(state_token=None)], "fail", id="requests-without-state"),
    pytest.param([startup(token="a"), request(state_token="zzz")], "fail",
                 id="state-from-elsewhere"),
])
def test_supported(events, status):
    assert state.supported(obs(main=served(events))).status == status


@pytest.mark.parametrize(("events", "status"), [
    pytest.param(good_main(), "pass", id="copied"),
    pytest.param([startup(), request("a"), request("b", foreign=["req:1234"])], "fail",
                 id="shared-dict"),
    pytest.param([startup(state=False), request(state_token=None)], "unsupported",
                 id="no-state"),
    pytest.param([startup(), request("a")], "n/a", id="one-request-is-not-a-comparison"),
])
def test_shallow_copy(events, status):
    assert state.shallow_copy(obs(main=served(events))).status == status
