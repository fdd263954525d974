"""The Python 3.15 axis, for real in containers: a sid base whose python3 is 3.15
(build-base.sh --python 3.15), one mainstream server measured on it, and a server without
a 3.15 wheel "not run" with the package named."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from asgi_matrix.exceptions import DockerUnavailable
from asgi_matrix.measure.backends.docker.bases import BASE_REPO
from asgi_matrix.measure.backends.docker.engine import docker_client
from asgi_matrix.results import document as _results

pytestmark = [pytest.mark.containers, pytest.mark.servers]

try:
    docker_client().close()
except DockerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(str(exc), allow_module_level=True)

RUN_TAG = f"py315-{uuid.uuid4().hex[:8]}"


def test_uvicorn_runs_on_315_and_a_server_without_a_315_wheel_is_not_run(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "asgi_matrix", "run", "uvicorn-py315", "granian-py315",
         "--no-patterns", "--backend", "docker", "--out", str(tmp_path), "--jobs", "2"],
        capture_output=True, text=True, timeout=1500,
        env={**os.environ, "ASGI_MATRIX_RUN": RUN_TAG})
    assert done.returncode == 0, done.stderr
    cells = _results.load(tmp_path)["configurations"]
    uvicorn = cells["uvicorn-py315"]
    assert uvicorn["status"] == "measured", uvicorn.get("reason")
    assert uvicorn["facts"]["python"][0].startswith("3.15.")
    assert uvicorn["provenance"]["base"] == f"{BASE_REPO}:sid-py3.15"
    assert uvicorn["verdicts"]["lifespan.per-loop"]["status"] == "pass"
    granian = cells["granian-py315"]
    # granian is a compiled extension: measured once it ships cp315 wheels, until then
    # "not run" naming the package (never an error cell)
    if granian["status"] == "not-run":
        assert granian["reason"].startswith("no wheel for Python 3.15")
        assert "'granian'" in granian["reason"]
    else:
        assert granian["status"] == "measured", granian.get("reason")
        assert granian["facts"]["python"][0].startswith("3.15.")
