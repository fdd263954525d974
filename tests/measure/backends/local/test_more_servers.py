"""The servers of #16 started for real on the local backend: one warm run shared by all.

A smoke test per server (it became ready, answered, was stopped in bounded time, and the
cell names its command and versions), and the multi-loop entries' lifespan.per-loop judged
from the topology the probe saw (processes, loops, lifespans).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from helpers import assert_started_answered_stopped, no_processes_tagged, tagged_run

#: the shared run below may take up to its 900 s subprocess timeout on a loaded machine
#: (the lifecycle edges wait, bounded, on servers that hang at an open stop)
pytestmark = [pytest.mark.servers, pytest.mark.timeout(960)]

#: one entry per new server (its multi-loop variant where it has one) -> its package
SERVERS = {"gunicorn-asgi-workers2": "gunicorn", "anycorn-trio": "anycorn",
           "peregrine": "peregrine-server", "pyvoy-threads2": "pyvoy",
           "socketify": "socketify", "caddysnake-lifespan-thread": "caddysnake"}
STOP_TIMEOUT = 8.0
RUN_TAG = f"tests-more-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("more-servers")
    return tagged_run(out, RUN_TAG, *SERVERS, "--jobs", "2",
                      "--stop-timeout", str(STOP_TIMEOUT))


def cell(matrix: dict[str, Any], config_id: str) -> dict[str, Any]:
    found: dict[str, Any] = matrix["configurations"][config_id]
    return found


@pytest.mark.parametrize("config_id", list(SERVERS))
def test_each_new_server_starts_answers_and_stops(matrix, config_id):
    assert_started_answered_stopped(cell(matrix, config_id), SERVERS[config_id],
                                    STOP_TIMEOUT)


def test_no_server_process_outlives_the_run(matrix):
    assert no_processes_tagged(RUN_TAG) == []  # a killed process is gone a moment later


def per_loop_from_topology(facts: dict[str, Any]) -> str:
    """What lifespan.per-loop must say given the topology alone: every loop that served
    ran its lifespan first, and there were as many lifespans as loops with one."""
    started = facts["serving_loops_started_first"]
    ok = bool(started) and all(started.values()) and facts["lifespans"] == facts["lifespan_loops"]
    return "pass" if ok else "fail"


@pytest.mark.parametrize(("config_id", "processes", "several_loops_per_process"), [
    pytest.param("pyvoy-threads2", {1}, True, id="pyvoy-worker-threads"),
    # which worker the kernel hands each connection to is not ours to choose: 1 or 2 serve
    pytest.param("gunicorn-asgi-workers2", {1, 2}, False, id="gunicorn-asgi-two-workers"),
])
def test_multi_loop_entries_are_judged_from_their_topology(matrix, config_id, processes,
                                                           several_loops_per_process):
    got = cell(matrix, config_id)
    facts = got["facts"]
    assert facts["processes"] in processes, facts
    assert (facts["loops"] > facts["processes"]) is several_loops_per_process, facts
    assert got["verdicts"]["lifespan.per-loop"]["status"] == per_loop_from_topology(facts)
