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
from helpers import no_processes_tagged

# the session run below may take up to its 600 s subprocess timeout
pytestmark = [pytest.mark.servers, pytest.mark.timeout(660)]

CONFIGS = ["control-multiloop", "control-broken", "control-nolifespan", "control-stop-hang",
           "control-leaky", "control-crossloop", "control-late", "control-hang",
           "control-tasks-first", "control-shared-state", "control-harness-shared-state",
           "control-nostate", "control-shared-context", "control-rejected-hang",
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
    assert no_processes_tagged(RUN_TAG) == []  # a killed process is gone a moment later


#: What the good control does not pass, by design: three loops share one app object, so
#: the naive pattern of asgiref PR #277 fails there.
GOOD_EXCEPT = {"lifespan.app-object-resources": "fail"}


def test_the_good_control_passes_every_property(matrix):
    got = verdicts(matrix, "control-multiloop")
    assert got == {p.id: GOOD_EXCEPT.get(p.id, "pass") for p in PROPERTIES}, matrix[
        "configurations"]["control-multiloop"]["verdicts"]



def test_the_good_control_serves_on_three_loops_each_with_its_lifespan(matrix):
    facts = matrix["configurations"]["control-multiloop"]["facts"]
    assert (facts["processes"], facts["loops"], facts["lifespans"]) == (1, 3, 3)
    assert all(facts["serving_loops_started_first"].values())


#: Every way each property can fail, shown by a control: (control, status, words of the
#: explanation that name the branch). Positive: control-multiloop, except where GOOD_EXCEPT
#: says otherwise (POSITIVE then names a control or server that passes).
BRANCHES: dict[str, list[tuple[str, str, str]]] = {
    "lifespan.supported": [("control-nolifespan", "unsupported", "never ran the lifespan")],
    "lifespan.startup-before-requests": [("control-late", "fail", "before its process's startup")],
    "lifespan.per-loop": [("control-broken", "fail", "never ran a lifespan"),
                          ("control-late", "fail", "before its lifespan began")],
    "lifespan.same-thread": [("control-broken", "fail", "thread that ran no lifespan")],
    "lifespan.resources-usable": [("control-broken", "fail", "could not use the lifespan's")],
    "lifespan.app-object-resources": [
        ("control-multiloop", "fail", "a resource moved across event loops")],
    "context.propagates": [("control-broken", "fail", "did not see the contextvar"),
                           ("control-crossloop", "fail", "saw the contextvar set by loop")],
    "context.propagates-websocket": [("control-broken", "fail", "did not see the contextvar"),
                                     ("control-crossloop", "fail", "saw the contextvar set by")],
    "context.isolated": [("control-leaky", "fail", "on the same connection"),
                         ("control-leaky", "fail", "HTTP/2: 'h2-1' (stream "),
                         ("control-shared-context", "fail", "(new connections: ")],
    "state.supported": [("control-broken", "fail", "did not get the state"),
                        ("control-crossloop", "fail", "saw the state set by loop"),
                        ("control-nostate", "unsupported", "had no 'state' key")],
    "state.shallow-copy": [("control-broken", "fail", "on another connection"),
                           # one dict for all, scope["client"] port 0 / ASGITransport's fake
                           ("control-shared-state", "fail", "on another connection"),
                           ("control-harness-shared-state", "fail", "on another connection")],
    "state.isolated-keepalive": [("control-leaky", "fail", "share one state")],
    "state.isolated-http2": [("control-leaky", "fail", "the connection's streams share one"),
                             ("control-broken", "n/a", "does not declare")],
    "requests.all-answered": [("control-broken", "fail", "got no answer")],
    "shutdown.delivered.sigterm-main": [("control-broken", "fail", "never got lifespan.shutdown")],
    "shutdown.delivered.sigterm-group": [("control-broken", "fail",
                                          "never got lifespan.shutdown")],
    "shutdown.after-drain.sigterm-main": [("control-broken", "fail", "was cut"),
                                          ("control-leaky", "fail", "before the request in")],
    "shutdown.after-drain.sigterm-group": [("control-broken", "fail", "was cut"),
                                           ("control-leaky", "fail", "before the request in")],
    "shutdown.long-lived-task": [("control-tasks-first", "fail",
                                  "never got lifespan.shutdown while the lifespan kept")],
    "shutdown.no-orphans": [("control-broken", "fail", "SIGTERM to the main process"),
                            ("control-leaky", "fail", "kept running")],
    "shutdown.clean-exit": [("control-broken", "fail", "as a crash would"),
                            ("control-crossloop", "fail", "without a graceful stop")],
    "startup-failure.exits-nonzero": [("control-broken", "fail", "kept serving"),
                                      ("control-leaky", "fail", "status 0"),
                                      ("control-hang", "fail", "still running")],
    "lifespan-rejected.keeps-serving": [("control-broken", "fail", "it exited"),
                                        ("control-rejected-hang", "fail", "it did not answer")],
}
#: The lifecycle properties (issue #17): control-broken drops concurrent connections and
#: cuts everything at the stop, so the edges of what is open at the stop need a control that
#: keeps them open and mishandles them; control-broken exits at its recycle budget.
BRANCHES.update({p.id: [("control-stop-hang", "fail", "")] for p in PROPERTIES
                 if p.scenario in ("open-stop", "startup-hang", "recycle")})
BRANCHES["recycle.server-stays"] = [("control-broken", "fail", "")]
#: Where the good control is not the positive one (or not the only one).
POSITIVE = {"lifespan.app-object-resources": ["control-leaky", "uvicorn", "hypercorn"],
            "state.isolated-http2": ["control-multiloop", "hypercorn", "granian"],
            "lifespan-rejected.keeps-serving": ["control-multiloop", "control-nolifespan"],
            "startup-failure.exits-nonzero": ["control-multiloop", "control-late"]}


def test_every_property_has_its_failing_branches_listed():
    assert set(BRANCHES) == {p.id for p in PROPERTIES}


@pytest.mark.parametrize(("prop", "control", "status", "words"), [
    (prop, *branch) for prop, branches in BRANCHES.items() for branch in branches])
def test_each_failing_branch_is_shown_by_a_control(matrix, prop, control, status, words):
    verdict = matrix["configurations"][control]["verdicts"][prop]
    assert (verdict["status"], words in verdict["explanation"]) == (status, True), verdict


@pytest.mark.parametrize("prop", [p.id for p in PROPERTIES])
def test_each_property_passes_on_a_positive_control(matrix, prop):
    for config in POSITIVE.get(prop, ["control-multiloop"]):
        verdict = matrix["configurations"][config]["verdicts"][prop]
        assert verdict["status"] == "pass", (config, verdict)


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
    assert got["lifespan-rejected.keeps-serving"] == "pass"  # it never sends a lifespan scope
    assert got["startup-failure.exits-nonzero"] == "n/a"


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


#: The controls' verdicts as last recorded on purpose. A change that alters a control's
#: verdict by design records a new file and says why in it ("recorded", "changes").
RECORDED = json.loads((Path(__file__).parents[1] / "data" / "controls-verdicts-http2.json")
                      .read_text())


@pytest.mark.parametrize("config", sorted(RECORDED["verdicts"]))
def test_the_controls_verdicts_are_those_recorded(matrix, config):
    got = verdicts(matrix, config)
    recorded = RECORDED["verdicts"][config]
    assert {p: got.get(p) for p in recorded} == recorded
