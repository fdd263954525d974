"""The docker backend as GitHub's hosted runners use it: a non-root user in the docker
group, asgi-matrix installed from its wheel into a virtualenv of that user's, no Debian
base image, a registry to pull ``python:X.Y-slim`` from.

Simulated for real on this machine: the test makes the user (``ghrunner``, removed after
only if the test made it), installs the built wheel with that user's ``pip``, and stands
a ``python:3.11-slim`` built from the Debian base in for the pull (this machine reaches
no registry; removed after only if the test made it). The runs see no Debian base: their
ASGI_MATRIX_BASE_REPO names a repository with none. It then replays the ``Measure`` step
of matrix.yml's shard job, as that user, with a few configurations appended and without
``--history`` and the app patterns (tests/test_wheel.py says why): the 3.11 ones are
measured on the stand-in, and the 3.13 ones, whose official image cannot be pulled here
and whose Debian base needs root, are "not run", said in one line, never error cells.
Needs root (to make the user); CI runs as root.
"""

from __future__ import annotations

import grp
import io
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.exceptions import DockerUnavailable
from asgi_matrix.measure.backends.docker.bases import ensure_base
from asgi_matrix.measure.backends.docker.engine import docker_client, find_image
from helpers import REPO
from helpers.prerequisites import missing

pytestmark = [pytest.mark.containers, pytest.mark.servers, pytest.mark.wheel,
              pytest.mark.timeout(1800)]

try:
    docker_client().close()
except DockerUnavailable as exc:  # pragma: no cover - depends on the machine
    missing("docker", str(exc), module=True)
if os.geteuid() != 0:  # pragma: no cover - CI runs as root
    pytest.skip("making a user to run as needs root", allow_module_level=True)
if not all(shutil.which(tool) for tool in ("useradd", "userdel", "usermod", "runuser")):
    pytest.skip("useradd, usermod, userdel or runuser missing", allow_module_level=True)

USER = "ghrunner"
STAND_IN = "python:3.11-slim"
UV = Path(sys.executable).parent / "uv"
MEASURED = ["control-multiloop", "uvicorn"]  # Python 3.11: the stand-in's
NO_BASE = ["uvicorn-py313", "granian-py313"]  # Python 3.13: no image, no root
LEFT_OUT = shutil.ignore_patterns(".git", ".venv", "out", "build", "dist", "wheels",
                                  "*.egg-info", "__pycache__", ".*_cache", "artifacts")


def sh(*argv: str, timeout: float = 300) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (argv, done.stdout, done.stderr)
    return done.stdout


class Runner:
    """The non-root user, a folder of its own and its virtualenv with the wheel."""

    def __init__(self, home: Path, work: Path, venv: Path) -> None:
        self.home, self.work, self.venv = home, work, venv

    def bash(self, script: str, env: dict[str, str] | None = None,
             timeout: float = 1500) -> subprocess.CompletedProcess[str]:
        """A workflow step's ``run:`` script as GitHub runs it (bash -e), as the user,
        with only the user's environment, its virtualenv first on PATH."""
        base = {"HOME": str(self.home), "USER": USER, "LANG": "C.UTF-8",
                "PATH": f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
        argv = ["runuser", "-u", USER, "--", "env", "-i",
                *[f"{k}={v}" for k, v in {**base, **(env or {})}.items()],
                "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                f"cd {self.work} && {script}"]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def user() -> Iterator[Path]:
    """The user, in the group of the engine's socket; removed after if made here."""
    made = subprocess.run(["id", USER], capture_output=True).returncode != 0
    if made:
        sh("useradd", "--create-home", "--shell", "/bin/bash", USER)
    group = grp.getgrgid(os.stat("/var/run/docker.sock").st_gid).gr_name
    joined = USER not in grp.getgrnam(group).gr_mem
    if joined:
        sh("usermod", "-aG", group, USER)
    try:
        yield Path(sh("getent", "passwd", USER).split(":")[5])
    finally:
        if made:
            sh("userdel", "--remove", USER)
        elif joined:
            sh("gpasswd", "-d", USER, group)


@pytest.fixture(scope="module")
def runner(user: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """The wheel built from the checkout, installed by the user's own pip (as matrix.yml's
    ``python -m pip install .`` does) into a virtualenv in a folder of the user's."""
    if not UV.exists():
        pytest.skip(f"uv is not installed next to {sys.executable} (to build the wheel)")
    build = tmp_path_factory.mktemp("wheel")
    shutil.copytree(REPO, build / "source", ignore=LEFT_OUT)
    sh(str(UV), "build", "--wheel", "--out-dir", str(build / "dist"), str(build / "source"))
    [wheel] = (build / "dist").glob("asgi_matrix-*.whl")
    work = user / f"asgi-matrix-sim-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    shutil.copy(wheel, work)
    shutil.copytree(REPO / ".github", work / ".github")
    sh("chown", "-R", f"{USER}:", str(work))
    found = Runner(user, work, work / "venv")
    try:
        done = found.bash(f"/usr/bin/python3 -m venv venv && venv/bin/python -m pip install "
                          f"-q --disable-pip-version-check ./{wheel.name}", timeout=600)
        assert done.returncode == 0, done.stderr
        yield found
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def stand_in() -> Iterator[str]:
    """``python:3.11-slim`` as a pull would leave it, made from the Debian base here;
    with the probe images built on it, removed after if the test made it."""
    client = docker_client()
    made = find_image(client, STAND_IN) is None
    if made:
        dockerfile = (f"FROM {ensure_base('3.11', client=client)}\n"
                      "RUN ln -sf /usr/bin/python3 /usr/local/bin/python3\n")
        client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=STAND_IN, rm=True)
    before = {i.id for i in client.images.list(filters={"label": "asgi-matrix.image=probe"})}
    try:
        yield STAND_IN
    finally:
        for image in client.images.list(filters={"label": f"asgi-matrix.base={STAND_IN}"}):
            if image.id not in before:
                client.images.remove(image.id, force=True)
        if made:
            client.images.remove(STAND_IN, force=True)
        client.close()


def shard_step() -> str:
    """The run: script of the ``Measure`` step of matrix.yml's shard job."""
    yaml = pytest.importorskip("ruamel.yaml", reason="ruamel.yaml (from check-jsonschema)")
    data = yaml.YAML(typ="safe").load((REPO / ".github/workflows/matrix.yml").read_text())
    [step] = [s for s in data["jobs"]["shard"]["steps"] if s.get("name") == "Measure"]
    return str(step["run"])


def test_a_non_root_runner_measures_on_the_pulled_image_and_says_what_it_cannot(
        runner: Runner, stand_in: str) -> None:
    measure = shard_step()
    assert measure.startswith("asgi-matrix run --backend docker ")
    assert '--shard "$SHARD/$TOTAL"' in measure
    replay = (measure.replace(" --history", "")
              .replace("--out out", f"--out out --no-patterns {' '.join(MEASURED + NO_BASE)}"))
    repo = f"asgi-matrix-sim-base-{uuid.uuid4().hex[:8]}"  # no Debian base in it
    done = runner.bash(replay, {"SHARD": "1", "TOTAL": "1", "ASGI_MATRIX_BASE_REPO": repo,
                                "ASGI_MATRIX_RUN": f"sim-{uuid.uuid4().hex[:8]}",
                                "UV_PYTHON_DOWNLOADS": "never"})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    document: dict[str, Any] = json.loads((runner.work / "out" / "results.json").read_text())
    cells = document["configurations"]
    assert document["run"]["backend"] == "docker"
    measured = errors = 0
    for config_id in MEASURED:
        cell = cells[config_id]
        assert cell["status"] == "measured", cell.get("reason")
        assert cell["provenance"]["base"] == stand_in
        assert cell["provenance"]["image"].startswith("asgi-matrix-probe:")
        for name, verdict in cell["verdicts"].items():
            if verdict["status"] != "error":
                measured += 1
                continue
            # An observation the server's run did not give (a recycle that a loaded
            # machine did not reach) may be an error cell; the image never may.
            errors += 1
            assert not re.search(r"image|base|debootstrap|root|docker", verdict["explanation"],
                                 re.IGNORECASE), (config_id, name, verdict["explanation"])
    assert measured >= 0.9 * (measured + errors), (measured, errors)
    print(f"\nnon-root simulation: {measured} cells measured, {errors} error cells, on "
          f"{stand_in} ({', '.join(MEASURED)})\n{done.stderr}")
    said = [line for line in done.stderr.splitlines() if line.startswith("not run: ")]
    assert len(said) == 1, said  # one line for both cells
    assert said[0].startswith("not run: no base image for the probe images: the official "
                              "python:X.Y-slim could not be pulled ("), said
    assert "a Debian base (debootstrap) can be made only as root" in said[0]
    for config_id in NO_BASE:
        cell = cells[config_id]
        assert cell["status"] == "not-run", cell
        assert f"not run: {cell['reason']}" == said[0]
        assert cell["verdicts"] == {}
    client = docker_client()
    try:
        assert find_image(client, f"{repo}:bookworm") is None  # nothing was debootstrapped
    finally:
        client.close()
