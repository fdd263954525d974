"""Base images for probe images: Python and ``venv``, from a registry or made from Debian.

Where a base comes from, first that works (``ensure_base``):

1. the image the user names (``--base-image`` / ``ASGI_MATRIX_BASE_IMAGE``, ``{python}``
   replaced by the minor version), present or pulled;
2. a Debian base already made here (``asgi-matrix-base:SUITE``): kept, since another base
   would rebuild every probe image;
3. the official ``python:X.Y-slim``, present or pulled (GitHub's runners: a non-root user
   in the docker group, a registry reachable);
4. a Debian base made now by ``probes/docker/build-base.sh`` (debootstrap + ``docker
   import``): the offline path, for root only;
5. none: ``BaseUnavailable``, and the configuration is "not run" saying why.

A registry that cannot be reached is tried once per run. A configuration that needs
Debian packages beside Python gets a base made with them (``ensure_system_base``): probe
images are built with ``--network none``, so nothing can be installed with apt later.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import docker.errors

from asgi_matrix.exceptions import BaseImageError, BaseUnavailable, SystemPackagesUnavailable
from asgi_matrix.measure.backends.docker.engine import client_scope, find_image, tail
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


#: The official image for a Python; the user may name another (a mirror, a hardened image).
OFFICIAL = "python:{python}-slim"
#: The environment variable naming a base image ("{python}" is replaced by "3.11"), as
#: ``run --base-image`` does.
BASE_IMAGE_VARIABLE = "ASGI_MATRIX_BASE_IMAGE"

#: "never": no image is pulled (offline machines, and CI that measures on Debian bases).
PULL_VARIABLE = "ASGI_MATRIX_PULL"
_PULL_LOCK = threading.Lock()
#: Why the registry could not be reached, once it could not: later pulls are not tried.
_NO_REGISTRY: list[str] = []


def named_base(python: str) -> str:
    """The base image the user named for ``python`` (ASGI_MATRIX_BASE_IMAGE), or ""."""
    template = os.environ.get(BASE_IMAGE_VARIABLE, "").strip()
    return template.replace("{python}", python) if template else ""


def ensure_base(python: str, *, official: bool = False, client: Any | None = None) -> str:
    """An image reference with Python ``python`` (minor, e.g. "3.11") and ``venv``, from
    the first source that works (the module's docstring). ``official``: the official
    image before a Debian base made here. Raises ``BaseUnavailable`` (not run) when no
    source works, ``BaseImageError`` when making a Debian base failed."""
    python = python_minor(python)
    with client_scope(client) as docker_api:
        return _ensure_base(python, official, docker_api)


def _ensure_base(python: str, official: bool, client: Any) -> str:
    if named := named_base(python):
        if find_image(client, named) is not None or not (why := _pull(client, named)):
            return named
        raise BaseUnavailable(f"the base image {named} ({BASE_IMAGE_VARIABLE} or "
                              f"--base-image) is not here and could not be pulled: {why}",
                              prefix=f"{BASE_IMAGE_VARIABLE}=IMAGE ", hint="--backend docker")
    suite, tag = BASES.get(python, ("", ""))
    ref = OFFICIAL.format(python=python)
    if official and find_image(client, ref) is not None:
        return ref
    if tag and find_image(client, tag) is not None:
        return tag
    if find_image(client, ref) is not None:
        return ref
    why_not_pulled = _pull(client, ref)
    if not why_not_pulled:
        return ref
    why_not_built = _cannot_build(python)
    if why_not_built:
        # Worded without the Python where the cause is the same for every Python (no
        # registry, no root): the run then says it in one line (measure/run.py).
        raise BaseUnavailable(
            f"no base image for the probe images: the official "
            f"{OFFICIAL.format(python='X.Y')} could not be pulled ({why_not_pulled}) and "
            f"{why_not_built}; name an image that is here with --base-image or "
            f"{BASE_IMAGE_VARIABLE}",
            prefix=f"{BASE_IMAGE_VARIABLE}=IMAGE ", hint="--backend docker")
    with base_build_lock(tag):  # another job or run may be building it: wait, then reuse
        if find_image(client, tag) is not None:
            return tag
        return _build_base(python, suite, tag, client)


def _cannot_build(python: str) -> str:
    """Why a Debian base for ``python`` cannot be made here, or ""."""
    if python not in BASES:
        return f"no Debian base is known for Python {python} (known: {', '.join(sorted(BASES))})"
    if os.geteuid() != 0:
        return "a Debian base (debootstrap) can be made only as root"
    if not BUILD_BASE.is_file():
        return f"{BUILD_BASE} is not there to make a Debian base"
    if shutil.which("debootstrap") is None and shutil.which("apt-get") is None:
        return "neither debootstrap nor apt-get is here to make a Debian base"
    return ""


def _pull(client: Any, ref: str) -> str:
    """Pull ``ref``: "" when it is here afterwards, else why not (one line). A registry
    that cannot be reached is not asked again in this run."""
    if os.environ.get(PULL_VARIABLE) == "never":
        return f"pulls are off ({PULL_VARIABLE}=never)"
    repository, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    with _PULL_LOCK:
        if _NO_REGISTRY:
            return _NO_REGISTRY[0]
        try:
            client.images.pull(repository, tag=tag or "latest")
        except docker.errors.NotFound as exc:  # the registry answered: no such image
            return f"no such image: {_one_line(exc)}"
        except (docker.errors.DockerException, OSError) as exc:
            why = _one_line(exc)
            _NO_REGISTRY.append(why)
            return why
        return "" if find_image(client, ref) is not None else "pulled, yet not here"


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "explanation", "") or exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__


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
        if why_not := _cannot_build(python):
            failure = SystemPackagesUnavailable(packages, suite, why_not)
            _SYSTEM_FAILED[tag] = failure
            raise failure
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

