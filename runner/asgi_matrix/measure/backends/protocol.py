"""Backends start a configuration's server somewhere and hand back a handle to it.

A backend only starts and stops processes; what traffic to send and what it means
live elsewhere (``_traffic``, ``verdicts``). Kinds are imported lazily, so the local
backend works without the Docker SDK's engine being reachable.
"""

from __future__ import annotations

import importlib
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.exceptions import AsgiMatrixError

StopScope = Literal["main", "group"]

#: What the probe itself needs in every server's environment or image.
PROBE_REQUIREMENTS = ("anyio>=4",)

#: backend kind -> module:class, imported on demand
BACKENDS = {"local": "asgi_matrix.measure.backends.local.backend:LocalBackend",
            "docker": "asgi_matrix.measure.backends.docker.backend:DockerBackend",
            # local where the host can, docker for the rest when the engine is reachable
            "auto": "asgi_matrix.measure.backends.auto:AutoBackend"}


@dataclass
class Prepared:
    """A configuration made runnable: the command and what exactly will run it."""

    config: ServerConfig
    command: list[str]
    versions: dict[str, str]
    python: str
    provenance: dict[str, Any] = field(default_factory=dict)  #: env path, image id, ...
    created: bool = False  #: the environment or image was built just now


@dataclass
class StopOutcome:
    """How a server ended after the stop signal."""

    scope: StopScope
    exit_code: int | None  #: None when it had to be killed
    exit_signal: str | None  #: the signal that ended it, if one did
    seconds: float  #: signal to exit
    killed: bool  #: it ignored SIGTERM and was killed after the grace period
    #: processes of the server still alive after its main process exited; None where that
    #: cannot happen (in a container every process ends with PID 1)
    orphans: list[int] | None


class RunningServer(Protocol):
    """A started server: where to reach it, and how to stop it."""

    base_url: str
    #: the server's main process, to tell a supervisor from its workers; None where it is
    #: not a process of this machine (a container's PID 1)
    pid: int | None

    def read_file(self, name: str) -> bytes | None:
        """A file the probe or a harness wrote in the server's working folder, if any."""
        ...

    def is_alive(self) -> bool: ...

    def exit_code(self) -> int | None:
        """How the main process exited; None while it runs."""
        ...

    def stop(self, scope: StopScope, grace_s: float) -> StopOutcome: ...
    def send_signal(self, name: str) -> None:
        """That signal (e.g. "SIGINT") to the main process only; no wait."""
        ...
    def log_tail(self, lines: int = 40) -> str: ...


class Backend(Protocol):
    """Where servers run: local processes, containers, ..."""

    kind: str

    def prepare(self, config: ServerConfig) -> Prepared: ...

    def start(self, prepared: Prepared, scenario: str,
              env: dict[str, str]) -> AbstractContextManager[RunningServer]: ...

    def stop_all(self) -> None:
        """Kill every server still running: asgi-matrix itself is being stopped."""
        ...

    def close(self) -> None:
        """Release what outlives single scenarios (a run's network); called once, last."""
        ...

    def end_leftovers(self) -> int:
        """End what killed runs left behind on this host (never others'); how many."""
        ...


def get_backend(kind: str, **options: Any) -> Backend:
    """The backend of that kind, its module imported only now."""
    try:
        target = BACKENDS[kind]
    except KeyError:
        raise AsgiMatrixError(f"unknown backend {kind!r}; known: {', '.join(BACKENDS)}") from None
    module, _, name = target.partition(":")
    backend: Backend = getattr(importlib.import_module(module), name)(**options)
    return backend


def parse_freeze(text: str) -> dict[str, str]:
    """``name==version`` lines of ``pip freeze`` as {lowercase name: version}."""
    versions = {}
    for line in text.splitlines():
        name, sep, version = line.partition("==")
        if sep:
            versions[name.strip().lower()] = version.strip()
    return versions
