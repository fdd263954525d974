"""The auto backend: each configuration where it can run, locally first, else in docker.

A configuration the local backend cannot run here (no matching Python, a Debian package
missing: ``NotRunnable``) is run on the docker backend when the engine can be reached;
what neither can run is "not run" with both reasons. Each cell's provenance says which
backend measured it (``provenance.backend``); a configuration keeps the backend it was
first prepared on (its app-pattern variants too).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.exceptions import DockerUnavailable, NotRunnable
from asgi_matrix.measure.backends.local.backend import LocalBackend
from asgi_matrix.measure.backends.protocol import Backend, Prepared, RunningServer


class AutoBackend:
    """Local processes where the host can run a configuration, containers for the rest."""

    kind = "auto"

    def __init__(self) -> None:
        self.local = LocalBackend()
        self._docker: Backend | None = None
        self._no_docker = ""  #: why the engine could not be reached, once it could not
        self._chosen: dict[str, str] = {}  #: configuration id -> "local" or "docker"
        self._lock = threading.Lock()

    def docker(self) -> Backend | None:
        """The docker backend, made on first need; None when the engine is unreachable."""
        with self._lock:
            if self._docker is None and not self._no_docker:
                from asgi_matrix.measure.backends.docker.backend import DockerBackend

                try:
                    self._docker = DockerBackend()
                except DockerUnavailable as err:
                    self._no_docker = str(err)
            return self._docker

    def prepare(self, config: ServerConfig) -> Prepared:
        chosen = self._chosen.get(config.id)
        if chosen == "docker" and self._docker is not None:
            return self._mark(self._docker.prepare(config), "docker")
        try:
            return self._mark(self.local.prepare(config), "local")
        except NotRunnable as err:
            if chosen == "local":
                raise
            local_reason = err
        docker = self.docker()
        if docker is None:
            raise NotRunnable(f"{local_reason}; not in docker either: {self._no_docker}",
                              prefix=local_reason.prefix)
        try:
            return self._mark(docker.prepare(config), "docker")
        except NotRunnable as err:
            raise NotRunnable(f"locally: {local_reason}; in docker: {err}",
                              prefix=err.prefix) from err

    def _mark(self, prepared: Prepared, kind: str) -> Prepared:
        self._chosen.setdefault(prepared.config.id, kind)
        prepared.provenance = {**prepared.provenance, "backend": kind}
        return prepared

    def _of(self, prepared: Prepared) -> Any:  # LocalBackend or DockerBackend
        if prepared.provenance.get("backend") == "docker" and self._docker is not None:
            return self._docker
        return self.local

    @contextmanager
    def start(self, prepared: Prepared, scenario: str,
              env: dict[str, str]) -> Iterator[RunningServer]:
        with self._of(prepared).start(prepared, scenario, env) as server:
            yield server

    def _both(self) -> list[Any]:
        return [self.local, *([self._docker] if self._docker is not None else [])]

    def stop_all(self) -> None:
        for backend in self._both():
            backend.stop_all()

    def close(self) -> None:
        for backend in self._both():
            backend.close()

    def end_leftovers(self) -> int:
        """The local leftovers; docker's too when the engine is there (it is asked now)."""
        docker = self.docker()
        return self.local.end_leftovers() + (docker.end_leftovers() if docker else 0)
