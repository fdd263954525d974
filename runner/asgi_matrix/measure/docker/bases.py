"""Base images for probe images: Python and ``venv`` on Debian, made here without a registry.

The official ``python:X.Y-slim`` is used when asked for and present locally; otherwise a
local Debian image made by ``probes/docker/build-base.sh`` (debootstrap + ``docker
import``), since no registry may be reachable. A configuration that needs Debian
packages beside Python gets a base made with them (``ensure_system_base``): probe images
are built with ``--network none``, so nothing can be installed with apt later.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import subprocess
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from asgi_matrix.exceptions import BaseImageError, SystemPackagesUnavailable
from asgi_matrix.measure.docker.engine import client_scope, find_image, tail
from asgi_matrix.resources import BUILD_BASE, cache_root

#: The repository of the local base images; another one (ASGI_MATRIX_BASE_REPO) gives a
#: test bases of its own to build and remove without touching the shared ones.
BASE_REPO = os.environ.get("ASGI_MATRIX_BASE_REPO") or "asgi-matrix-base"
#: Python minor -> (Debian suite, local base image tag made by build-base.sh).
BASES: dict[str, tuple[str, str]] = {
    "3.11": ("bookworm", f"{BASE_REPO}:bookworm"),
    "3.13": ("trixie", f"{BASE_REPO}:trixie"),
    "3.14": ("sid", f"{BASE_REPO}:sid"),
    "3.15": ("sid", f"{BASE_REPO}:sid-py3.15"),
}
#: Pythons a suite packages beside its default python3 (sid: python3.15 and its venv):
#: their base is made with ``build-base.sh --python X.Y``, which makes it the python3.
NOT_SUITE_DEFAULT = frozenset({"3.15"})


def _python_args(python: str) -> list[str]:
    return ["--python", python] if python in NOT_SUITE_DEFAULT else []


#: glibc of each suite (verified 2026-11). build-base.sh also records the real one as the
#: image label ``asgi-matrix.glibc``, which wins (sid moves).
BASE_GLIBC: dict[str, str] = {"bookworm": "2.36", "trixie": "2.41", "sid": "2.43"}

#: Used for a Python with no known base (e.g. an official image): old enough to be safe.
DEFAULT_GLIBC = "2.36"


def glibc_for(python: str) -> str:
    """The glibc of the Debian base for ``python`` (manylinux wheels up to it fit)."""
    suite = BASES.get(python, ("", ""))[0]
    return BASE_GLIBC.get(suite, DEFAULT_GLIBC)


def python_minor(python: str) -> str:
    parts = python.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise BaseImageError(f"python must look like '3.11' (got {python!r})")
    return ".".join(parts[:2])


def ensure_base(python: str, *, official: bool = False, client: Any | None = None) -> str:
    """An image reference with Python ``python`` (minor, e.g. "3.11") and ``venv``.

    ``official``: use ``python:{python}-slim`` when it is present locally (nothing is
    pulled). Otherwise the local debootstrap base of ``BASES``, built with
    ``probes/docker/build-base.sh`` when missing (needs root and Debian's mirror, ~40 s).
    """
    python = python_minor(python)
    with client_scope(client) as docker_api:
        return _ensure_base(python, official, docker_api)


def _ensure_base(python: str, official: bool, client: Any) -> str:
    if official:
        ref = f"python:{python}-slim"
        if find_image(client, ref) is not None:
            return ref
    if python not in BASES:
        known = ", ".join(sorted(BASES))
        raise BaseImageError(
            f"no local base image for Python {python}: known are {known}"
            + ("" if official else f"; or pass official=True with python:{python}-slim present")
        )
    suite, tag = BASES[python]
    if find_image(client, tag) is not None:
        return tag
    with base_build_lock(tag):  # another job or run may be building it: wait, then reuse
        if find_image(client, tag) is not None:
            return tag
        return _build_base(python, suite, tag, client)


@contextlib.contextmanager
def base_build_lock(tag: str) -> Iterator[None]:
    """One build of a base image at a time on this machine, across jobs and runs: two
    debootstraps at once collide on apt's lock. A file lock, like the environment cache's."""
    folder = cache_root() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", tag)
    with open(folder / f"base-{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # flock: per open file, so threads wait too
        yield


def _build_base(python: str, suite: str, tag: str, client: Any) -> str:
    if not BUILD_BASE.is_file():
        raise BaseImageError(f"base image {tag} is missing and {BUILD_BASE} is not there")
    try:
        proc = subprocess.run(
            ["bash", str(BUILD_BASE), *_python_args(python), suite, tag],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BaseImageError(f"building base image {tag} ({suite}) timed out") from exc
    log = (proc.stdout or "") + (proc.stderr or "")
    if proc.returncode != 0 or find_image(client, tag) is None:
        raise BaseImageError(
            f"building base image {tag} from Debian {suite} with {BUILD_BASE.name} failed "
            f"(exit {proc.returncode}):\n{tail(log)}",
            tail(log),
        )
    return tag


_SYSTEM_LOCK = threading.Lock()
#: system base tag -> why it could not be built, so a run tries each at most once
_SYSTEM_FAILED: dict[str, SystemPackagesUnavailable] = {}
_MISSING_DEBS = re.compile(r"Couldn't find these debs: (.+)")


def system_base_tag(python: str, system: Sequence[str]) -> str:
    """``asgi-matrix-base:SUITE-sys-<hash>``: the Python's base plus those Debian packages."""
    python = python_minor(python)
    if python not in BASES:
        raise BaseImageError(f"no local base image for Python {python}: known are "
                             + ", ".join(sorted(BASES)))
    digest = hashlib.sha256(",".join(sorted(set(system))).encode()).hexdigest()[:12]
    return f"{BASES[python][1]}-sys-{digest}"


def ensure_system_base(python: str, system: Sequence[str], *, client: Any | None = None) -> str:
    """A base image for Python ``python`` that also has the Debian packages ``system``.

    Probe images are built with ``--network none`` from bases without apt lists, so the
    packages go in when the base is made: ``build-base.sh --include`` (debootstrap), once
    per package set, tagged by its hash. Raises ``SystemPackagesUnavailable`` with the
    reason (a package Debian does not have, no root for debootstrap, no mirror).
    """
    packages = sorted(set(system))
    python = python_minor(python)
    tag = system_base_tag(python, packages)
    suite = BASES[python][0]
    with client_scope(client) as docker_api, _SYSTEM_LOCK, base_build_lock(tag):
        if find_image(docker_api, tag) is not None:
            return tag
        if tag in _SYSTEM_FAILED:
            raise _SYSTEM_FAILED[tag]
        failure: SystemPackagesUnavailable | None = None
        try:
            proc = subprocess.run(
                ["bash", str(BUILD_BASE), "--include", ",".join(packages),
                 *_python_args(python), suite, tag],
                capture_output=True,
                text=True,
                timeout=1200,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            failure = SystemPackagesUnavailable(packages, suite, f"{BUILD_BASE.name}: {exc}")
        else:
            log = (proc.stdout or "") + (proc.stderr or "")
            if proc.returncode != 0 or find_image(docker_api, tag) is None:
                missing = _MISSING_DEBS.search(log)
                last = next((line for line in reversed(log.strip().splitlines()) if line), "")
                why = (f"Debian {suite} has no package {missing.group(1).strip()}" if missing
                       else f"{BUILD_BASE.name} exit {proc.returncode}: {last}")
                failure = SystemPackagesUnavailable(packages, suite, why, tail(log))
        if failure is not None:
            _SYSTEM_FAILED[tag] = failure
            raise failure
        return tag

