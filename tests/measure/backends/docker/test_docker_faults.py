"""Docker faults, for real: two runs at once on a machine without the base image, and the
engine becoming unreachable in the middle of a run.

The base images here are the test's own (ASGI_MATRIX_BASE_REPO): built from Debian by
these tests and removed after, so shared bases are never touched. Slow on purpose (one
debootstrap, one image build): marked cold.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.exceptions import DockerUnavailable
from asgi_matrix.measure.backends.docker.engine import docker_client, docker_name
from asgi_matrix.results import document as _results
from helpers import wait_for
from helpers.prerequisites import missing

# at least the inner timeouts: two runs of up to 1500 s each may share one test
pytestmark = [pytest.mark.containers, pytest.mark.servers, pytest.mark.cold,
              pytest.mark.timeout(3100)]

try:
    docker_client().close()
except DockerUnavailable as exc:  # pragma: no cover - depends on the machine
    missing("docker", str(exc), module=True)

CONFIGS = ["control-multiloop", "control-broken"]  # one image (no requirements), one base


def run(out: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "asgi_matrix", "run", *args, "--no-patterns", "--backend", "docker",
         "--out", str(out)], env={**os.environ, **env}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def labelled(label: str) -> dict[str, list[str]]:
    client = docker_client()
    try:
        found = {"containers": [c.name for c in client.containers.list(
                     all=True, ignore_removed=True, filters={"label": label})],
                 "networks": [n.name for n in client.networks.list(filters={"label": label})],
                 "volumes": [v.name for v in client.volumes.list(filters={"label": label})]}
    finally:
        client.close()
    return {kind: names for kind, names in found.items() if names}


@pytest.fixture(scope="module")
def own_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment for runs on a base repository of this test's own; removed after."""
    repo = f"asgi-matrix-test-base-{uuid.uuid4().hex[:8]}"
    env = {"ASGI_MATRIX_BASE_REPO": repo,
           "ASGI_MATRIX_CACHE": str(tmp_path_factory.mktemp("cache"))}
    yield env
    client = docker_client()
    try:
        for image in client.images.list(filters={"label": f"asgi-matrix.base={repo}:bookworm"}):
            for name in image.tags:
                client.images.remove(name, force=True)
        for image in client.images.list(name=repo):
            for name in image.tags:
                client.images.remove(name, force=True)
    finally:
        client.close()


def test_two_runs_at_once_without_a_base_build_it_once_and_measure_everything(
        tmp_path: Path, own_base: dict[str, str]) -> None:
    tags = [f"twice-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    procs = [run(tmp_path / f"out{i}", *CONFIGS, "--jobs", "2",
                 env={**own_base, "ASGI_MATRIX_RUN": tags[i]}) for i in range(2)]
    for proc in procs:
        _, stderr = proc.communicate(timeout=1500)
        assert proc.returncode == 0, stderr
    for i in range(2):
        cells = _results.load(tmp_path / f"out{i}")["configurations"]
        assert {c["status"] for c in cells.values()} == {"measured"}, {
            k: c.get("reason") for k, c in cells.items()}
        assert labelled(f"asgi-matrix.run={tags[i]}") == {}
    repo = own_base["ASGI_MATRIX_BASE_REPO"]
    client = docker_client()
    try:
        assert [t for i in client.images.list(name=repo) for t in i.tags] == [f"{repo}:bookworm"]
    finally:
        client.close()


class SocketProxy:
    """A Docker socket of our own in front of the engine's, to cut mid-run."""

    def __init__(self, path: Path, target: str = "/var/run/docker.sock") -> None:
        self.path, self.target = path, target
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(path))
        self.listener.listen(64)
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """The engine is gone: no new connection, every open one closed."""
        self.listener.close()
        self.path.unlink(missing_ok=True)
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


def test_the_engine_gone_mid_run_gives_error_cells_and_keeps_the_rest(
        tmp_path: Path, own_base: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = SocketProxy(tmp_path / "docker.sock")
    tag = f"cut-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out"
    proc = run(out, "control-nolifespan", *CONFIGS, "--jobs", "1",
               env={**own_base, "ASGI_MATRIX_RUN": tag,
                    "DOCKER_HOST": f"unix://{tmp_path / 'docker.sock'}"})
    partial = out / "results.partial.json"
    # One job, the order given: once control-nolifespan is on record and a container of
    # the second configuration exists, the last (control-broken) has not started, so it
    # needs the engine after the cut whatever the timing.
    second = docker_name("asgi-matrix", tag, CONFIGS[0], "")

    def second_running() -> bool:
        if proc.poll() is not None:
            return True  # ended early: said below, with its stderr
        return partial.exists() and any(
            name.startswith(second) for name in labelled(f"asgi-matrix.run={tag}").get(
                "containers", []))

    try:  # the first cold base build can take minutes
        wait_for(f"a container of {CONFIGS[0]}", second_running, 1500)
        assert proc.poll() is None, proc.communicate()[1]
        cut_at = time.monotonic()
        proxy.cut()
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()  # reaped and its pipes closed: no warning in the next test
    assert time.monotonic() - cut_at < 120, "a run without its engine must end soon"
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    document: dict[str, Any] = _results.load(out)
    cells = document["configurations"]
    assert list(cells) == ["control-nolifespan", *CONFIGS]  # nothing recorded lost
    assert cells["control-nolifespan"]["status"] == "measured"
    errored = [c for c in cells.values() if c["status"] == "error"]
    assert cells[CONFIGS[-1]]["status"] == "error", "started after the cut: it cannot be measured"
    assert all(c["reason"] for c in errored)
    # What the cut left in the engine is ended by the next run, found by its mark (a run
    # with the same tag: runs with other tags, such as other tests', never end it).
    from asgi_matrix.measure.backends.docker.backend import DockerBackend

    monkeypatch.setenv("ASGI_MATRIX_RUN", tag)

    backend = DockerBackend()
    try:
        backend.end_leftovers()
    finally:
        backend.close()
    assert labelled(f"asgi-matrix.run={tag}") == {}
