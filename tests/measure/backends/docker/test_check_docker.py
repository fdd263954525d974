"""``asgi-matrix check --backend docker``: the user's app travels into the container
(its folder through the environment, the recording layer in an image on top of the
probe image), is judged as on the local backend, and nothing is left behind. Raw apps
without dependencies, so no framework image is built."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.exceptions import DockerUnavailable
from asgi_matrix.measure.backends.docker.engine import docker_client
from helpers import cli
from helpers.prerequisites import missing

pytestmark = [pytest.mark.containers, pytest.mark.servers, pytest.mark.timeout(900)]

try:
    docker_client().close()
except DockerUnavailable as exc:  # pragma: no cover - depends on the machine
    missing("docker", str(exc), module=True)

APPS = Path(__file__).resolve().parents[3] / "data" / "check_apps"
TAG = f"test-check-{uuid.uuid4().hex[:8]}"


def check(*args: str) -> tuple[int, dict[str, Any], str]:
    done = cli("check", *args, "--backend", "docker", "--format", "json", cwd=APPS,
               env={"ASGI_MATRIX_RUN": TAG}, timeout=800)
    return done.returncode, json.loads(done.stdout or "{}"), done.stderr


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[int, dict[str, Any], str]]:
    return {"no-lifespan": check("raw_no_lifespan:app", "-c", "uvicorn", "--get", "/ok",
                                 "--get", "/missing"),
            "global-pool": check("raw_global_pool:app", "-c", "uvicorn", "-c",
                                 "control-multiloop", "--get", "/")}


def test_an_app_in_a_container_is_judged_from_its_own_records(
        runs: dict[str, tuple[int, dict[str, Any], str]]) -> None:
    code, doc, stderr = runs["no-lifespan"]
    assert code == 0, stderr
    answer = doc["answers"][0]
    assert answer["status"] == "caveats", answer
    assert "GET /missing answered 404" in answer["explanation"]
    assert any("has no lifespan" in f["text"] for f in answer["findings"])
    assert answer["record"]["backend"] == "docker"
    assert answer["facts"]["answered"] == {"200": 12, "404": 12}


def test_the_import_time_pool_breaks_on_the_multiloop_server_in_a_container(
        runs: dict[str, tuple[int, dict[str, Any], str]]) -> None:
    code, doc, stderr = runs["global-pool"]
    by = {a["config"]: a for a in doc["answers"]}
    assert by["uvicorn"]["status"] == "works", by["uvicorn"]
    assert by["control-multiloop"]["status"] == "breaks", by["control-multiloop"]
    assert "is bound to a different event loop" in by["control-multiloop"]["explanation"]
    assert code == 1, stderr


def test_nothing_of_the_checks_is_left_behind(
        runs: dict[str, tuple[int, dict[str, Any], str]]) -> None:
    label = {"label": f"asgi-matrix.run={TAG}"}
    client = docker_client()
    try:
        left = [*client.containers.list(
            all=True, ignore_removed=True, filters=label),
                *client.networks.list(filters=label), *client.volumes.list(filters=label)]
    finally:
        client.close()
    assert left == []
