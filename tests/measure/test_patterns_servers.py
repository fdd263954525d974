"""The pattern axis end to end on real servers: one warm run shared by every test here.

The controls of asgiref PR #277: on control-multiloop (three event loops in one process,
each with the app object the factory made for it) the task group kept on the module's
app object and the pool made at import time break while the RunVar task group and the
pool an app factory's lifespan makes work; on single-loop servers (uvicorn,
hypercorn) they all work; under starlette-testclient-bare (a new loop per request)
the import-time pool breaks and the lifespan patterns are n/a. pyvoy with two worker
threads, a server users install, shows the seed's failure the way the control does.
The framework apps run in the default matrix too: all but Django share one start
(patterns.dispatch) in one environment, each on the loop library it is built for
(quart-trio on hypercorn-trio); every pattern gets the probe's traffic, reused
connections and HTTP/2 streams included.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from asgi_matrix.results import document as _results

pytestmark = pytest.mark.servers

# pyvoy-threads2: a real server that runs an event loop per worker thread in one process
CONFIGS = ["control-multiloop", "uvicorn", "hypercorn", "starlette-testclient-bare",
           "pyvoy-threads2", "hypercorn-trio"]


def run(out: Any, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "asgi_matrix", "run", *args, "--out", str(out), "--jobs", "2"],
        capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    return _results.load(out / "results.json")  # validates against the JSON Schema


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run(tmp_path_factory.mktemp("patterns"), *CONFIGS)


@pytest.fixture(scope="module")
def litestar(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Litestar's own-headers handler on a server that copies the state per request, on
    the broken control, whose requests share one state dict, and on the leaky one, which
    shares one per kept-alive connection (as hypercorn 0.17 did), beside the other
    frameworks of its start."""
    return run(tmp_path_factory.mktemp("litestar"), "uvicorn", "control-broken",
               "control-leaky", "--pattern", "litestar-headers", "--pattern",
               "starlette-yielded-state", "--pattern", "django-asgi")


def status(matrix: dict[str, Any], config: str, pattern: str) -> str:
    cell = matrix["configurations"][config]["patterns"][pattern]
    return f"{cell['status']}: {cell['explanation']}"


def test_every_default_pattern_on_every_configuration(matrix):
    assert set(matrix["patterns"]) >= {"taskgroup-on-instance", "taskgroup-runvar",
                                       "global-resource", "factory-resource",
                                       "contextvar-resource", "lifespan-state",
                                       "starlette-app-state", "litestar-headers",
                                       "quart-trio-serving", "django-asgi"}
    for config in CONFIGS:
        assert set(matrix["configurations"][config]["patterns"]) == set(matrix["patterns"])


def test_multiloop_control_breaks_the_naive_patterns_and_not_their_fixes(matrix):
    assert status(matrix, "control-multiloop", "taskgroup-on-instance").startswith("breaks")
    assert "silently" in status(matrix, "control-multiloop", "taskgroup-on-instance")
    assert status(matrix, "control-multiloop", "global-resource").startswith("breaks")
    assert status(matrix, "control-multiloop", "taskgroup-runvar").startswith("works")
    assert status(matrix, "control-multiloop", "factory-resource").startswith("works")
    assert status(matrix, "control-multiloop", "lifespan-state").startswith("works")


def test_the_multiloop_control_makes_an_app_per_loop_with_the_factory(matrix):
    cell = matrix["configurations"]["control-multiloop"]["patterns"]["factory-resource"]
    assert cell["evidence"]["app"] == {"reference": "patterns.dispatch:create_app",
                                       "factory": True, "factory_args": ["--factory"]}
    assert cell["command"][-1] == "--factory"
    assert "patterns.dispatch:create_app" in cell["command"]
    loaded = matrix["configurations"]["hypercorn"]["patterns"]["factory-resource"]
    assert loaded["evidence"]["app"] == {"reference": "patterns.dispatch:app",
                                         "factory": False}


@pytest.mark.parametrize("config", ["uvicorn", "hypercorn"])
def test_single_loop_servers_run_both_kinds(matrix, config):
    for pattern in ("taskgroup-on-instance", "taskgroup-runvar", "global-resource",
                    "factory-resource", "lifespan-state"):
        assert status(matrix, config, pattern).startswith("works"), pattern


def test_a_new_loop_per_request_breaks_loop_bound_patterns(matrix):
    assert "bound to a different event loop" in status(
        matrix, "starlette-testclient-bare", "global-resource")
    assert status(matrix, "starlette-testclient-bare", "taskgroup-runvar").startswith("n/a")


def test_patterns_share_starts_as_the_catalogue_says(matrix):
    cells = matrix["configurations"]["uvicorn"]["patterns"]
    starts = {c["start"] for c in cells.values()}
    assert starts == {p["start"] for p in matrix["patterns"].values()}
    assert starts == {"patterns", "patterns-runvar", "frameworks", "litestar", "django"}
    for pattern, cell in cells.items():  # uvicorn is told it is a factory: --factory
        if pattern == "django-asgi":  # Django meets the server itself
            assert cell["command"][-1] == "frameworks.django_app:app"
        elif cell["start"] == "litestar":  # its own start: its lifespan keeps a task
            assert cell["command"][-1] == "frameworks.litestar_app:app"
        else:
            assert cell["command"][-2:] == ["patterns.dispatch:create_app", "--factory"]


@pytest.mark.parametrize("config", ["uvicorn", "hypercorn"])
def test_frameworks_sharing_a_start_work_on_single_loop_servers(matrix, config):
    for pattern in ("starlette-app-state", "starlette-yielded-state", "fastapi-app-state",
                    "fastapi-yielded-state", "litestar-state", "litestar-headers",
                    "quart-serving", "django-asgi"):
        assert status(matrix, config, pattern).startswith("works"), pattern
    assert status(matrix, config, "quart-trio-serving").startswith("n/a")


def test_pattern_traffic_is_the_probes_reused_connections_and_streams_included(matrix):
    for config, kinds in (("uvicorn", {"new", "ka", "pipe"}),
                          ("hypercorn", {"new", "ka", "pipe", "h2"})):
        for pattern in ("lifespan-state", "litestar-headers", "django-asgi"):
            evidence = matrix["configurations"][config]["patterns"][pattern]["evidence"]
            assert set(evidence["carriers"]) == kinds, (config, pattern)
            assert evidence["carriers"]["ka"]["body_sent"] > 64 * 1024


def test_trio_servers_run_the_trio_framework_and_not_the_asyncio_ones(matrix):
    assert status(matrix, "hypercorn-trio", "quart-trio-serving").startswith("works")
    for pattern in ("starlette-app-state", "quart-serving", "django-asgi"):
        got = status(matrix, "hypercorn-trio", pattern)
        assert got.startswith("n/a"), pattern
        assert "built on asyncio" in got, pattern


@pytest.mark.xfail(strict=False, reason="issue #23 (open): where pyvoy-threads2 is killed "
                   "at the stop, the server-fault rule calls the seed's lost jobs a caveat")
def test_a_real_multi_loop_server_shows_the_seeds_failure(matrix):
    if matrix["configurations"]["pyvoy-threads2"]["status"] != "measured":
        pytest.fail("pyvoy-threads2 was not measured: "
                    + str(matrix["configurations"]["pyvoy-threads2"].get("reason")))
    assert status(matrix, "pyvoy-threads2", "taskgroup-on-instance").startswith("breaks")
    assert "bound to a different event loop" in status(matrix, "pyvoy-threads2",
                                                       "global-resource")
    assert status(matrix, "pyvoy-threads2", "taskgroup-runvar").startswith("works")


def test_litestar_reads_another_requests_headers_where_state_is_shared(litestar):
    assert status(litestar, "uvicorn", "litestar-headers").startswith("works")
    for config in ("control-broken", "control-leaky"):
        broken = status(litestar, config, "litestar-headers")
        assert broken.startswith("breaks")
        assert "read another request's headers" in broken
    assert "on a kept-alive connection" in status(litestar, "control-leaky",
                                                  "litestar-headers")
    # Starlette, in the frameworks' start, keeps nothing of a request in scope["state"]
    assert status(litestar, "control-leaky", "starlette-yielded-state").startswith("works")
    cell = litestar["configurations"]["control-broken"]["patterns"]["litestar-headers"]
    assert cell["start"] == "litestar"  # its own: its lifespan keeps a task of its own
    assert "litestar" in cell["versions"]


def test_django_breaks_where_the_server_exits_on_its_rejected_lifespan(litestar):
    """control-broken exits when the app rejects the lifespan scope (--lifespan-rejected
    exit); uvicorn and control-leaky log it and serve."""
    for config in ("uvicorn", "control-leaky"):
        assert status(litestar, config, "django-asgi").startswith("works"), config
    broken = litestar["configurations"]["control-broken"]["patterns"]["django-asgi"]
    assert broken["status"] == "breaks", broken["explanation"]
    assert broken["explanation"].startswith("the server exited before it answered")
    assert "Django can only handle ASGI/HTTP connections" in broken["evidence"]["first_error"]
