"""Servers that run several event loops in one process, or need Python 3.14 or system
packages, measured for real in containers; and the reasons a configuration is "not run"
on the docker backend (no image Python, no wheel, a system package Debian lacks)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.exceptions import DockerUnavailable
from asgi_matrix.measure.backends.docker.bases import BASE_REPO
from asgi_matrix.measure.backends.docker.engine import docker_client
from asgi_matrix.results import document as _results
from helpers.prerequisites import missing

# at least the 1500 s of the run in its fixture
pytestmark = [pytest.mark.containers, pytest.mark.servers, pytest.mark.timeout(1560)]

try:
    docker_client().close()
except DockerUnavailable as exc:  # pragma: no cover - depends on the machine
    missing("docker", str(exc), module=True)

ABSENT = "asgi-matrix-no-such-package"
NOT_RUNNABLE = f'''
[[config]]
id = "needs-py312"
server = "x"
requires = ["uvicorn"]
python = "==3.12.*"
argv = ["{{python}}", "-m", "uvicorn", "--port", "{{port}}", "{{app}}"]

[[config]]
id = "needs-absent-package"
server = "x"
requires = ["uvicorn"]
system = ["{ABSENT}"]
argv = ["{{python}}", "-m", "uvicorn", "--port", "{{port}}", "{{app}}"]
'''


RUN_TAG = f"new-servers-{uuid.uuid4().hex[:8]}"


def asgi_matrix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "asgi_matrix", *args], capture_output=True,
                          text=True, timeout=1500, env={**os.environ, "ASGI_MATRIX_RUN": RUN_TAG})


def leftovers() -> list[str]:
    """What this module's runs left behind (other runs on the machine are not ours)."""
    label = {"label": f"asgi-matrix.run={RUN_TAG}"}
    client = docker_client()
    try:
        return ([c.name for c in client.containers.list(
            all=True, ignore_removed=True, filters=label)]
                + [n.name for n in client.networks.list(filters=label)]
                + [v.name for v in client.volumes.list(filters=label)])
    finally:
        client.close()


@pytest.fixture(scope="module")
def cells(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One real run: pounce in sub-interpreters and alone (both Python 3.14 only), and
    caddysnake 0.3 (libpython3.11 from a base image made with it)."""
    out = tmp_path_factory.mktemp("new-servers")
    done = asgi_matrix("run", "pounce-subinterpreter2", "pounce", "caddysnake-thread",
                       "--no-patterns", "--backend", "docker", "--out", str(out))
    assert done.returncode == 0, done.stderr
    configurations: dict[str, dict[str, Any]] = _results.load(out)["configurations"]
    return configurations


def serving(cell: dict[str, Any]) -> list[dict[str, Any]]:
    events = cell["attempts"][-1]["scenarios"]["main"]["events"]
    return [e for e in events if e["event"] in ("http", "websocket")]


def statuses(cell: dict[str, Any]) -> dict[str, str]:
    return {k: v["status"] for k, v in cell["verdicts"].items()}


def test_sub_interpreters_in_one_process_are_each_a_serving_loop_with_its_interpreter(cells):
    cell = cells["pounce-subinterpreter2"]
    facts = cell["facts"]
    assert cell["status"] == "measured", cell.get("reason")
    assert facts["python"][0].startswith("3.14.")
    assert facts["processes"] == 1
    assert facts["interpreters"] >= 2
    assert facts["loops"] >= 2
    events = serving(cell)
    assert all(e["interpreter"] > 0 for e in events), "served from the main interpreter"
    assert facts["interpreters"] == len({(e["pid"], e["interpreter"]) for e in events})
    assert set(facts["serving_loops_started_first"]) == {e["loop_id"] for e in events}
    # The verdict and the per-loop facts tell the same story.
    per_loop = statuses(cell)["lifespan.per-loop"]
    assert per_loop == ("pass" if all(facts["serving_loops_started_first"].values())
                        and facts["lifespan_loops"] >= facts["loops"] else "fail")
    # Its own per-worker hook, sent beside the lifespan, is listed as observed.
    assert "pounce.worker.startup" in facts["other_scope_types"]


def test_a_server_that_needs_python_314_runs_on_the_314_image(cells):
    cell = cells["pounce"]
    assert cell["status"] == "measured", cell.get("reason")
    assert cell["python"] == "3.14"
    assert cell["facts"]["python"][0].startswith("3.14.")
    assert cell["axes"]["python"] == ">=3.14"
    assert cell["provenance"]["base"] == f"{BASE_REPO}:sid"
    assert statuses(cell)["lifespan.supported"] == "pass"
    assert cell["facts"]["processes"] == 1
    assert cell["facts"]["loops"] == 1


def test_system_packages_come_from_a_base_image_made_with_them(cells):
    cell = cells["caddysnake-thread"]
    assert cell["status"] == "measured", cell.get("reason")
    assert cell["provenance"]["system"] == ["libpython3.11"]
    assert cell["provenance"]["base"].startswith(f"{BASE_REPO}:bookworm-sys-")
    assert cell["facts"]["requests_recorded"] > 0
    client = docker_client()
    try:
        labels = client.images.get(cell["provenance"]["image"]).labels
    finally:
        client.close()
    assert labels["asgi-matrix.system"] == "libpython3.11"


def test_what_cannot_run_here_is_not_run_with_its_reason(tmp_path: Path):
    extra = tmp_path / "extra.toml"
    extra.write_text(NOT_RUNNABLE)
    done = asgi_matrix("run", "falcorn-task-py314", "needs-py312", "needs-absent-package",
                       "--backend", "docker", "--catalogue", str(extra), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    cells = _results.load(tmp_path)["configurations"]
    assert {c["status"] for c in cells.values()} == {"not-run"}
    assert cells["falcorn-task-py314"]["reason"].startswith(
        "no wheel for Python 3.14 (linux x86_64, glibc ")
    assert "of package 'falcorn'" in cells["falcorn-task-py314"]["reason"]
    assert cells["needs-py312"]["reason"] == ("no image Python matches '==3.12.*' "
                                              "(images have: 3.11, 3.13, 3.14, 3.15)")
    assert cells["needs-absent-package"]["reason"] == (
        f"needs system packages {ABSENT}: no Debian bookworm base image with them could be "
        f"built here (Debian bookworm has no package {ABSENT})")
    assert leftovers() == []
