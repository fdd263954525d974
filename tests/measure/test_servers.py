"""Real servers, end to end: one warm run of the matrix, shared by every test here.

The run goes through the real command line into a real results file, which must
validate against the schema. Each property must pass on one control and fail on the
other; the mainstream servers' best-established behaviours are asserted too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.results import document as _results
from asgi_matrix.verdicts import PROPERTIES
from helpers import processes_tagged

# the session run below may take up to its 600 s subprocess timeout
pytestmark = [pytest.mark.servers, pytest.mark.timeout(660)]

CONFIGS = ["control-multiloop", "control-broken", "control-nolifespan", "control-stop-hang",
           "uvicorn", "hypercorn",
           "hypercorn-trio", "daphne", "granian", "starlette-testclient-bare", "asgi-lifespan"]
RUN_TAG = f"tests-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("matrix")
    done = subprocess.run(
        [sys.executable, "-m", "asgi_matrix", "run", *CONFIGS, "--out", str(out), "--jobs", "2"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "ASGI_MATRIX_RUN": RUN_TAG})
    assert done.returncode == 0, done.stderr
    return _results.load(out / "results.json")  # validates against the JSON Schema


def verdicts(matrix: dict[str, Any], config_id: str) -> dict[str, str]:
    return {k: v["status"] for k, v in matrix["configurations"][config_id]["verdicts"].items()}


def test_every_configuration_was_measured(matrix):
    assert list(matrix["configurations"]) == CONFIGS
    assert {c["status"] for c in matrix["configurations"].values()} == {"measured"}


def test_no_server_process_outlives_the_run(matrix):
    assert processes_tagged(RUN_TAG) == []


def test_the_good_control_passes_every_property(matrix):
    got = verdicts(matrix, "control-multiloop")
    assert got == {p.id: "pass" for p in PROPERTIES}, matrix["configurations"][
        "control-multiloop"]["verdicts"]


def test_the_good_control_serves_on_three_loops_each_with_its_lifespan(matrix):
    facts = matrix["configurations"]["control-multiloop"]["facts"]
    assert (facts["processes"], facts["loops"], facts["lifespans"]) == (1, 3, 3)
    assert all(facts["serving_loops_started_first"].values())


#: lifespan.supported cannot "fail": a server without lifespan is "unsupported" (its own control)
NEGATIVE = {p.id: ("control-broken", "fail") for p in PROPERTIES}
NEGATIVE["lifespan.supported"] = ("control-nolifespan", "unsupported")
#: control-broken drops concurrent connections and cuts everything at the stop: the edges
#: of what is open at the stop need a control that keeps them open and mishandles them
NEGATIVE.update({p.id: ("control-stop-hang", "fail") for p in PROPERTIES
                 if p.scenario in ("open-stop", "startup-hang", "recycle")})
NEGATIVE["recycle.server-stays"] = ("control-broken", "fail")  # it exits at its budget


@pytest.mark.parametrize("prop", [p.id for p in PROPERTIES])
def test_each_property_passes_on_one_control_and_fails_on_the_other(matrix, prop):
    control, status = NEGATIVE[prop]
    assert verdicts(matrix, "control-multiloop")[prop] == "pass"
    assert verdicts(matrix, control)[prop] == status, \
        matrix["configurations"][control]["verdicts"][prop]


def test_the_broken_control_runs_one_lifespan_for_two_serving_loops(matrix):
    facts = matrix["configurations"]["control-broken"]["facts"]
    assert (facts["loops"], facts["lifespans"], facts["lifespan_loops"]) == (2, 1, 1)


@pytest.mark.parametrize("config", ["uvicorn", "hypercorn", "hypercorn-trio", "granian"])
def test_mainstream_servers_run_one_lifespan_on_their_one_loop(matrix, config):
    got = verdicts(matrix, config)
    for prop in ("lifespan.supported", "lifespan.startup-before-requests", "lifespan.per-loop",
                 "lifespan.same-thread", "lifespan.resources-usable", "state.supported"):
        assert got[prop] == "pass", (prop, matrix["configurations"][config]["verdicts"][prop])


def test_hypercorn_trio_serves_on_trio(matrix):
    assert matrix["configurations"]["hypercorn-trio"]["facts"]["loop_kinds"] == ["trio"]


def test_uvicorn_does_not_propagate_startup_contextvars(matrix):
    """asgiref #322: uvicorn runs the lifespan in a task of its own."""
    assert verdicts(matrix, "uvicorn")["context.propagates"] == "fail"
    assert verdicts(matrix, "uvicorn")["startup-failure.exits-nonzero"] == "pass"


def test_uvicorn_hangs_on_an_open_stream_but_closes_websockets_with_1012(matrix):
    """encode/uvicorn#451: no limit on the wait for an open stream at the stop."""
    got = verdicts(matrix, "uvicorn")
    assert got["stop.open.exits-in-time"] == "fail"
    assert got["stop.websocket.close-code"] == "pass"


def test_daphne_has_no_lifespan(matrix):
    got = verdicts(matrix, "daphne")
    assert got["lifespan.supported"] == "unsupported"
    assert got["lifespan-rejected.keeps-serving"] == "n/a"


def test_a_test_client_without_with_runs_no_lifespan(matrix):
    assert verdicts(matrix, "starlette-testclient-bare")["lifespan.supported"] == "unsupported"
    assert verdicts(matrix, "starlette-testclient-bare")["shutdown.delivered.sigterm-main"] == "n/a"


def test_resolved_versions_and_command_are_recorded(matrix):
    config = matrix["configurations"]["uvicorn"]
    assert config["versions"]["uvicorn"]
    assert "{port}" in config["command"]
    assert matrix["suite"]["probe_sha256"]


def test_show_renders_the_real_results(matrix, tmp_path):
    path = tmp_path / "results.json"
    _results.write_atomic(path, matrix)
    done = subprocess.run([sys.executable, "-m", "asgi_matrix", "show", str(path), "uvicorn"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "lifespan.per-loop" in done.stdout


#: The controls' verdicts recorded before the package move (issue: behaviour unchanged).
#: A change that alters a control's verdict on purpose records a new file and says why.
RECORDED = json.loads((Path(__file__).parents[1] / "data" / "controls-verdicts-059d868.json")
                      .read_text())


@pytest.mark.parametrize("config", sorted(RECORDED["verdicts"]))
def test_the_controls_verdicts_are_those_recorded_before_the_move(matrix, config):
    got = verdicts(matrix, config)
    recorded = RECORDED["verdicts"][config]
    assert {p: got.get(p) for p in recorded} == recorded
