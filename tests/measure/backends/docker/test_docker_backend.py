"""The docker backend: same verdicts as the local backend, nothing left behind, clear
errors. Needs a Docker engine (skipped with the reason printed otherwise)."""

from __future__ import annotations

import subprocess
import uuid
from typing import Any

import pytest
from asgi_matrix.exceptions import DockerUnavailable
from asgi_matrix.measure.backends.docker.engine import docker_client
from asgi_matrix.results import document as _results
from helpers import cli
from helpers.prerequisites import missing

# at least the inner timeouts: two 900 s runs in one fixture (local, then docker)
pytestmark = [pytest.mark.containers, pytest.mark.servers, pytest.mark.timeout(1860)]

try:
    docker_client().close()
except DockerUnavailable as exc:  # pragma: no cover - depends on the machine
    missing("docker", str(exc), module=True)

#: control-shared-state and control-harness-shared-state hand every request one state dict
#: (scope["client"] port 0; ASGITransport's fake address): state.shallow-copy fails there
AGREEING = ["uvicorn", "hypercorn", "granian", "control-multiloop", "control-broken",
            "control-shared-state", "control-harness-shared-state"]
#: The raw app patterns run in the probe's own image; the framework apps would build one
#: image per configuration and framework, minutes for what the local tests show.
RAW_PATTERNS = [arg for pattern in ("taskgroup-on-instance", "taskgroup-runvar",
                                    "global-resource", "factory-resource",
                                    "contextvar-resource", "lifespan-state")
                for arg in ("--pattern", pattern)]


def asgi_matrix(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return cli(*args, env=env, timeout=900)


def leftovers(tag: str) -> dict[str, list[str]]:
    """What runs tagged ``tag`` left behind (other runs on the machine are not ours)."""
    label = {"label": f"asgi-matrix.run={tag}"}
    client = docker_client()
    try:
        found = {"containers": [c.name for c in client.containers.list(
            all=True, ignore_removed=True, filters=label)],
                 "networks": [n.name for n in client.networks.list(filters=label)],
                 "volumes": [v.name for v in client.volumes.list(filters=label)]}
    finally:
        client.close()
    return {kind: names for kind, names in found.items() if names}


def tag() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    runs: dict[str, Any] = {"tag": tag()}
    for backend in ("local", "docker"):
        out = tmp_path_factory.mktemp(backend)
        done = asgi_matrix("run", *AGREEING, "--backend", backend, "--out", str(out),
                           *RAW_PATTERNS, env={"ASGI_MATRIX_RUN": runs["tag"]})
        assert done.returncode == 0, done.stderr
        runs[backend] = _results.load(out)
    return runs


#: In a container every process ends with PID 1, so orphans cannot be observed there.
ONLY_LOCAL = {"shutdown.no-orphans"}


@pytest.mark.parametrize("config", AGREEING)
def test_docker_and_local_backends_agree_on_every_property(both, config):
    def statuses(backend: str) -> dict[str, str]:
        cell = both[backend]["configurations"][config]
        return {k: v["status"] for k, v in cell["verdicts"].items() if k not in ONLY_LOCAL}

    assert statuses("docker") == statuses("local")


@pytest.mark.parametrize("config", AGREEING)
def test_the_app_patterns_are_measured_in_containers(both, config):
    patterns = both["docker"]["configurations"][config]["patterns"]
    assert len(patterns) == len(RAW_PATTERNS) // 2
    errors = {p: c.get("explanation") for p, c in patterns.items() if c["status"] == "error"}
    assert errors == {}


@pytest.mark.parametrize("config", ["control-shared-state", "control-harness-shared-state"])
def test_one_state_dict_for_every_request_fails_shallow_copy_in_containers(both, config):
    verdict = both["docker"]["configurations"][config]["verdicts"]["state.shallow-copy"]
    assert verdict["status"] == "fail", verdict
    assert "on another connection" in verdict["explanation"]


def test_orphans_are_not_applicable_in_containers(both):
    cell = both["docker"]["configurations"]["control-broken"]["verdicts"]
    assert cell["shutdown.no-orphans"]["status"] == "n/a"


def test_the_image_goes_into_the_provenance(both):
    provenance = both["docker"]["configurations"]["uvicorn"]["provenance"]
    assert provenance["image"].startswith("asgi-matrix-probe:")
    assert provenance["image_id"].startswith("sha256:")
    assert both["docker"]["configurations"]["uvicorn"]["versions"]["uvicorn"]


def test_no_container_network_or_volume_is_left_behind(both):
    assert leftovers(both["tag"]) == {}


def test_a_container_that_never_becomes_ready_is_an_error_cell_and_removed(tmp_path):
    run_tag = tag()
    done = asgi_matrix("run", "fault-never-ready", "fault-exit-before-bind", "--backend",
                       "docker", "--ready-timeout", "3", "--out", str(tmp_path),
                       env={"ASGI_MATRIX_RUN": run_tag})
    assert done.returncode == 0, done.stderr
    cells = _results.load(tmp_path)["configurations"]
    assert cells["fault-never-ready"]["status"] == "error"
    assert "did not answer within" in cells["fault-never-ready"]["reason"]
    assert "exiting before binding" in cells["fault-exit-before-bind"]["log_tail"]
    assert leftovers(run_tag) == {}


def test_an_image_that_cannot_be_built_is_an_error_cell_with_the_build_log(tmp_path):
    extra = tmp_path / "extra.toml"
    extra.write_text('[[config]]\nid = "unbuildable"\nserver = "x"\nrequires = ["anyio<4"]\n'
                     'argv = ["{python}", "-m", "x", "--port", "{port}", "{app}"]\n')
    done = asgi_matrix("run", "unbuildable", "--backend", "docker", "--catalogue", str(extra),
                       "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    cell = _results.load(tmp_path / "out")["configurations"]["unbuildable"]
    assert cell["status"] == "error"
    assert "image for unbuildable" in cell["reason"]
    assert cell["log_tail"]


def test_no_engine_is_one_line_suggesting_the_local_backend(tmp_path):
    done = asgi_matrix("run", "uvicorn", "--backend", "docker", "--out", str(tmp_path),
                       env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith("asgi-matrix: cannot reach the "
                                                           "Docker engine")
    assert "use --backend local" in done.stderr
    assert "Traceback" not in done.stderr
