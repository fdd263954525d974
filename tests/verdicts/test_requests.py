"""requests.all-answered on hand-written observations."""

from __future__ import annotations

import pytest
from asgi_matrix.verdicts import requests
from helpers.observations import good_main, obs, stop_scenario


@pytest.mark.parametrize(("sent", "status"), [
    pytest.param([{"tag": "seq-0", "status": 200}, {"tag": "conc-0", "status": 200}], "pass",
                 id="all-answered"),
    pytest.param([{"tag": "seq-0", "status": 200},
                  {"tag": "conc-1", "status": None, "error": "RemoteProtocolError"}], "fail",
                 id="one-dropped"),
    pytest.param([], "error", id="nothing-sent"),
])
def test_all_answered(sent, status):
    verdict = requests.all_answered(obs(main=stop_scenario(good_main(), requests=sent)))
    assert verdict.status == status


def test_a_failed_websocket_exchange_counts_as_unanswered():
    main = stop_scenario(good_main())
    main["websocket"] = {"ok": False, "error": "InvalidHandshake"}
    assert requests.all_answered(obs(main=main)).status == "fail"
