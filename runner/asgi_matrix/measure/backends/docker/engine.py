"""The Docker engine, as the docker backend reaches it: a client, or ``DockerUnavailable``.

Also the few helpers every docker module shares: looking an image up without an
exception, and the tail of a long log.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors

from asgi_matrix.exceptions import DockerUnavailable

#: label on everything the project makes (images, containers, networks, volumes)
LABEL = "asgi-matrix"
LOG_TAIL_LINES = 40


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _probe_unix_socket() -> None:
    """Fail fast (and without leaking the SDK's socket) when the engine's socket is dead."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        return
    path = host[len("unix://") :]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(path)
    except OSError as exc:
        raise DockerUnavailable(
            f"cannot reach the Docker engine ({host}: {exc.strerror or exc}): use --backend local"
        ) from exc


def docker_client(timeout: int = 600) -> Any:
    """A client for the local engine (API version negotiated), or ``DockerUnavailable``."""
    _probe_unix_socket()
    client = None
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:  # OSError: a refusing socket
        if client is not None:
            client.close()
        raise DockerUnavailable(
            f"cannot reach the Docker engine ({exc}): use --backend local"
        ) from exc
    return client


@contextlib.contextmanager
def client_scope(client: Any | None) -> Iterator[Any]:
    """The given client, or a new one that is closed afterwards."""
    if client is not None:
        yield client
        return
    own = docker_client()
    try:
        yield own
    finally:
        own.close()


def find_image(client: Any, ref: str) -> Any | None:
    """The image ``ref`` if the engine has it, else None (nothing is pulled)."""
    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None


_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")
NAME_MAX = 63  #: also a host name on the run's network: one DNS label


def docker_name(*parts: str) -> str:
    """A container, volume or network name the engine accepts ([a-zA-Z0-9][a-zA-Z0-9_.-]*),
    from ids that may hold others (a release's ``@``, a catalogue's ``+``). Where a
    character was replaced or the name cut short, a hash of the original keeps two ids
    apart (``a@1`` and ``a+1`` stay two names)."""
    wanted = "-".join(parts)
    name = _NAME_UNSAFE.sub("-", wanted)
    if name != wanted or len(name) > NAME_MAX:
        digest = hashlib.sha256(wanted.encode()).hexdigest()[:10]
        name = f"{name[:NAME_MAX - 11]}-{digest}"
    return name
