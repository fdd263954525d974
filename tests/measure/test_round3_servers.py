"""The servers of #26 started for real on the local backend: one warm run shared by all.

One entry per server (its multi-loop or multi-worker mode): it became ready, answered,
every scenario ended in bounded time (several of these respawn a worker whose startup
failed; the run must not wait on them), the cell names its command and versions, and
lifespan.per-loop is judged from the topology the probe saw. weft's thread mode is
checked for what makes it a multi-loop server (several loops serving in one process,
each loop's own lifespan) and its PR #277 pattern cells for the per-loop evidence they
carry; the verdicts themselves are the server's to decide.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from helpers import assert_started_answered_stopped, processes_tagged, tagged_run

#: the shared run below may take up to its 900 s subprocess timeout on a loaded machine
pytestmark = [pytest.mark.servers, pytest.mark.timeout(960)]

#: one entry per round-3 server (its worker or thread mode) -> its package
SERVERS = {"weft-thread2": "weft-server", "h2corn-workers2": "h2corn",
           "tigrcorn-workers2": "tigrcorn", "gunicorn-palfrey-worker2": "palfrey",
           "tsuno-workers2": "tsuno", "saltare-workers2": "saltare",
           "tremolo-workers2": "tremolo", "caddysnake06-workers2": "caddysnake"}
#: the seed's patterns (asgiref PR #277): the task group on the app object, the RunVar fix
PATTERNS = ("taskgroup-on-instance", "taskgroup-runvar")
STOP_TIMEOUT = 8.0
#: the longest any scenario may take: ready (20 s) + traffic + the bounded watch of a
#: failed startup or a hung one + a kill after the stop timeout, on a loaded machine
SCENARIO_BOUND_S = 90.0
RUN_TAG = f"tests-round3-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("round3-servers")
    patterns = [arg for pattern in PATTERNS for arg in ("--pattern", pattern)]
    return tagged_run(out, RUN_TAG, *SERVERS, *patterns, "--jobs", "2",
                      "--stop-timeout", str(STOP_TIMEOUT))


def cell(matrix: dict[str, Any], config_id: str) -> dict[str, Any]:
    found: dict[str, Any] = matrix["configurations"][config_id]
    return found


@pytest.mark.parametrize("config_id", list(SERVERS))
def test_each_round3_server_starts_answers_and_stops(matrix, config_id):
    assert_started_answered_stopped(cell(matrix, config_id), SERVERS[config_id],
                                    STOP_TIMEOUT)


@pytest.mark.parametrize("config_id", list(SERVERS))
def test_every_scenario_ends_in_bounded_time(matrix, config_id):
    """A failed or hung startup (a worker respawned again and again) ends the scenario:
    the whole configuration, every scenario included, is measured within the bound."""
    got = cell(matrix, config_id)
    scenarios = got["attempts"][-1]["scenarios"]
    assert {"main", "startup-fail", "startup-hang", "open-stop"} <= set(scenarios)
    assert got["seconds"] <= SCENARIO_BOUND_S * len(scenarios)
    for name, verdict in got["verdicts"].items():
        assert verdict["status"] != "error" or verdict["explanation"], name


def test_no_server_process_outlives_the_run(matrix):
    assert processes_tagged(RUN_TAG) == []


def per_loop_from_topology(facts: dict[str, Any]) -> str:
    """What lifespan.per-loop must say given the topology alone: every loop that served
    ran its lifespan first, and there were as many lifespans as loops with one."""
    started = facts["serving_loops_started_first"]
    ok = bool(started) and all(started.values()) and facts["lifespans"] == facts["lifespan_loops"]
    return "pass" if ok else "fail"


@pytest.mark.parametrize("config_id", list(SERVERS))
def test_per_loop_is_judged_from_the_topology(matrix, config_id):
    facts = cell(matrix, config_id)["facts"]
    if not facts["lifespans"]:
        pytest.skip(f"{config_id} ran no lifespan here: lifespan.per-loop has no topology")
    assert cell(matrix, config_id)["verdicts"]["lifespan.per-loop"]["status"] == \
        per_loop_from_topology(facts)


def test_weft_thread_mode_serves_from_several_loops_in_one_process(matrix):
    facts = cell(matrix, "weft-thread2")["facts"]
    assert facts["processes"] == 1, facts
    assert facts["loops"] > 1, facts  # thread workers: an event loop each, one pid
    assert facts["threads"] > 1, facts


@pytest.mark.parametrize("pattern", PATTERNS)
def test_weft_thread_mode_pattern_cells_carry_per_loop_evidence(matrix, pattern):
    """The seed's patterns on weft's thread workers: a verdict, with the loops its
    requests ran on and each loop's own lifespan, whatever that verdict is."""
    got = cell(matrix, "weft-thread2")["patterns"][pattern]
    assert got["status"] in {"works", "caveat", "breaks"}, got  # judged, never error or n/a
    evidence = got["evidence"]
    assert evidence["processes"] == 1, evidence
    assert evidence["loops"] > 1, evidence
    lifespans = {(span["pid"], span["loop_id"]) for span in evidence["lifespans"]}
    assert len({pid for pid, _ in lifespans}) == 1, lifespans
    assert len(lifespans) > 1, lifespans
