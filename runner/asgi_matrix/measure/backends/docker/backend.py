"""The docker backend: each configuration in a container of its own probe image.

The container runs on a private network made for the run; the runner reaches it only
through a port published on 127.0.0.1 (or, when the runner itself runs in a container
on that network, by the container's name). The probe writes into a named volume
mounted at /obs, read back with the engine's archive API, so the same code works
whether the runner is on the host or in a container. Every container, network and
volume carries the label ``asgi-matrix.run=<id>`` and is removed when its scenario or
run ends, whatever happened.
"""

from __future__ import annotations

import io
import os
import socket
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from packaging.requirements import Requirement

from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.exceptions import (
    ImageBuildFailed,
    NotRunnable,
    NoWheelError,
    SystemPackagesUnavailable,
)
from asgi_matrix.measure.backends import leftovers as _leftovers
from asgi_matrix.measure.backends.docker.engine import docker_client, docker_name
from asgi_matrix.measure.backends.docker.images import (
    CONTAINER_PORT,
    IMAGE_PYTHON,
    build_image,
    container_command,
    free_threaded_base_variable,
    python_for,
)
from asgi_matrix.measure.backends.observations import CLIENT, OBSERVATIONS
from asgi_matrix.measure.backends.protocol import (
    PROBE_REQUIREMENTS,
    Prepared,
    StopOutcome,
    StopScope,
    parse_freeze,
)

#: "network" when the runner itself runs in a container (docker-compose's matrix service):
#: it then joins the run's network and reaches servers by name, not by published port.
REACH = os.environ.get("ASGI_MATRIX_DOCKER_REACH", "published")


def _free_threaded_base(config: ServerConfig, python: str) -> tuple[str, str]:
    """(base image, wheel ABI) for a free-threaded configuration, from the user's base.

    No Debian suite packages a free-threaded CPython, so build-base.sh cannot make one:
    the user names an image with ``python3`` a free-threaded build and its venv module.
    """
    variable = free_threaded_base_variable(python)
    if not (base := os.environ.get(variable, "")):
        raise NotRunnable(f"needs a free-threaded Python {python} ({python}t) and no base "
                          f"image has one: Debian packages none; name an image whose python3 "
                          f"is {python}t as {variable}",
                          prefix=f"{variable}=IMAGE ", hint="--backend docker")
    return base, f"cp{python.replace('.', '')}t"


class DockerServer:
    """A started container: reached on a published loopback port."""

    def __init__(self, container: Any, base_url: str) -> None:
        self.container = container
        self.base_url = base_url
        self.pid: int | None = None  # PID 1 of the container: not a process of this host

    def read_file(self, name: str) -> bytes | None:
        try:
            stream, _ = self.container.get_archive(f"/obs/{name}")
        except Exception:  # not written yet, or the container is gone
            return None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile(tar.getmembers()[0])
            return member.read() if member else None

    def _state(self) -> dict[str, Any]:
        with suppress(Exception):
            self.container.reload()
        state: dict[str, Any] = self.container.attrs.get("State", {})
        return state

    def is_alive(self) -> bool:
        return bool(self._state().get("Running"))

    def exit_code(self) -> int | None:
        state = self._state()
        return None if state.get("Running") else state.get("ExitCode")

    def send_signal(self, name: str) -> None:
        with suppress(Exception):  # already gone
            self.container.kill(signal=name)

    def stop(self, scope: StopScope, grace_s: float) -> StopOutcome:
        """main: SIGTERM to PID 1, as ``docker stop``; group: to every process inside."""
        start = time.monotonic()
        with suppress(Exception):
            if scope == "main":
                self.container.kill(signal="SIGTERM")
            else:
                # kill(-1) skips the caller and PID 1, so PID 1 is signalled first by name.
                self.container.exec_run(
                    [IMAGE_PYTHON, "-c", "import os, signal; os.kill(1, signal.SIGTERM); "
                     "os.kill(-1, signal.SIGTERM)"], detach=True)
        killed = False
        try:
            result = self.container.wait(timeout=grace_s)
            code = int(result.get("StatusCode", -1))
        except Exception:  # still running after the grace period
            killed = True
            with suppress(Exception):
                self.container.kill()
            code = -9
        return StopOutcome(scope=scope, exit_code=None if killed else code,
                           exit_signal="SIGKILL" if killed else None,
                           seconds=round(time.monotonic() - start, 3), killed=killed,
                           orphans=None)  # the container's processes end with PID 1

    def log_tail(self, lines: int = 40) -> str:
        try:
            return str(self.container.logs(tail=lines).decode("utf-8", "replace"))
        except Exception:
            return ""


class DockerBackend:
    """Servers in containers built from probes/Dockerfile, through the Docker SDK."""

    kind = "docker"

    def __init__(self) -> None:
        self.client = docker_client()  # DockerUnavailable: one line, before any cell
        # ASGI_MATRIX_RUN lets a caller (a test) find exactly what this run created.
        self.run_id = os.environ.get("ASGI_MATRIX_RUN") or uuid.uuid4().hex[:12]
        self.labels = {"asgi-matrix": "1", "asgi-matrix.run": self.run_id,
                       _leftovers.LABEL: f"{socket.gethostname()}/{_leftovers.runner_mark()}",
                       _leftovers.TAG_LABEL: _leftovers.run_tag()}
        self._network: Any = None
        self._lock = threading.Lock()
        self._live: set[Any] = set()

    def network(self) -> Any:
        """The run's private network, made on first use."""
        with self._lock:
            if self._network is None:
                self._network = self.client.networks.create(
                    docker_name("asgi-matrix", self.run_id), driver="bridge",
                    labels=self.labels)
                if REACH == "network":  # reach the servers by name, over the private network
                    with suppress(Exception):
                        self._network.connect(os.environ.get("HOSTNAME", ""))
            return self._network

    def prepare(self, config: ServerConfig) -> Prepared:
        python = python_for(config.python)
        if urls := [r for r in config.requires if Requirement(r).url]:
            raise NotRunnable(f"{urls[0]!r}: an image is built offline from the index's "
                              "wheels, not from a URL", hint="--backend local")
        base, abi = _free_threaded_base(config, python) if config.free_threaded else ("", "")
        requirements = [*config.requires, *PROBE_REQUIREMENTS]
        try:
            image = build_image(requirements, python, system=config.system, base=base, abi=abi)
        except (NoWheelError, SystemPackagesUnavailable) as err:
            raise NotRunnable(str(err)) from err
        except ImageBuildFailed as err:  # base image, wheelhouse or the build itself
            raise ImageBuildFailed(f"image for {config.id}: {err}", err.log_tail) from err
        command = container_command(config.argv)
        return Prepared(config=config, command=command, versions=self._versions(image.tag),
                        python=python, created=image.built,
                        provenance={"image": image.tag, "image_id": image.image_id,
                                    "base": image.base, "build_seconds": image.seconds,
                                    **({"system": list(config.system)} if config.system else {})})

    def _versions(self, tag: str) -> dict[str, str]:
        """What the image's pip froze at build time."""
        out = self.client.containers.run(tag, ["cat", "/opt/venv/asgi-matrix-freeze.txt"],
                                         remove=True, network_mode="none", labels=self.labels)
        return parse_freeze(out.decode())

    @contextmanager
    def start(self, prepared: Prepared, scenario: str,
              env: dict[str, str]) -> Iterator[DockerServer]:
        name = docker_name("asgi-matrix", self.run_id, prepared.config.id, scenario)
        volume = self.client.volumes.create(name=name, labels=self.labels)
        container = None
        try:
            container = self.client.containers.run(
                prepared.provenance["image"], prepared.command, name=name, detach=True,
                environment={**env, "ASGI_MATRIX_OBS": f"/obs/{OBSERVATIONS}",
                             "ASGI_MATRIX_CLIENT": f"/obs/{CLIENT}"},
                volumes={volume.name: {"bind": "/obs", "mode": "rw"}},
                ports={f"{CONTAINER_PORT}/tcp": ("127.0.0.1", None)},
                network=self.network().name, labels=self.labels)
            with self._lock:
                self._live.add(container)
            yield DockerServer(container, self._url(container, name))
        finally:
            if container is not None:
                with suppress(Exception):
                    container.remove(force=True)
                with self._lock:
                    self._live.discard(container)
            with suppress(Exception):
                volume.remove(force=True)

    def _url(self, container: Any, name: str) -> str:
        if REACH == "network":
            return f"http://{name}:{CONTAINER_PORT}"
        for _ in range(50):  # the published port shows up in attrs only after a reload
            container.reload()
            ports = container.attrs["NetworkSettings"]["Ports"].get(f"{CONTAINER_PORT}/tcp")
            if ports:
                return f"http://127.0.0.1:{ports[0]['HostPort']}"
            if container.status != "running" and container.status != "created":
                break
            time.sleep(0.02)
        return "http://127.0.0.1:9"  # exited before publishing: readiness says so, with logs

    def stop_all(self) -> None:
        with self._lock:
            live = list(self._live)
        for container in live:
            with suppress(Exception):
                container.remove(force=True)

    def end_leftovers(self) -> int:
        """Remove the containers, volumes and networks of killed runs on this host: those
        whose runner mark names a runner that is gone (and this run's tag, see
        measure.backends.leftovers). Others' are never touched."""
        host = socket.gethostname()
        ended = 0
        wanted = {"label": _leftovers.LABEL}
        # Containers first: a volume or network still in use cannot go.
        listings = (self.client.containers.list(
            all=True, ignore_removed=True, filters=wanted),
                    self.client.volumes.list(filters=wanted),
                    self.client.networks.list(filters=wanted))
        for listed in listings:
            for item in listed:
                labels = (item.attrs.get("Labels") or item.attrs.get("Config", {}).get("Labels")
                          or {})
                where, _, mark = str(labels.get(_leftovers.LABEL, "")).partition("/")
                tag = str(labels.get(_leftovers.TAG_LABEL, ""))
                if where != host or not _leftovers.is_leftover(mark, tag):
                    continue
                with suppress(Exception):
                    item.remove(**({"force": True} if listed is listings[0] else {}))
                    ended += 1
        return ended

    def close(self) -> None:
        """Remove the run's network; containers and volumes went with their scenarios."""
        self.stop_all()
        if self._network is not None:
            if REACH == "network":  # we joined it ourselves: a network in use cannot go
                with suppress(Exception):
                    self._network.disconnect(os.environ.get("HOSTNAME", ""))
            with suppress(Exception):
                self._network.remove()
