"""Probe images for the docker backend: one image per (requirements, Python), built offline.

The pieces, in order:

* ``ensure_base``: a base image with ``python3`` and ``venv``: the official
  ``python:X.Y-slim`` when asked for and present locally, else a local Debian image made
  by ``probes/docker/build-base.sh`` (debootstrap + ``docker import``), since no
  registry may be reachable.
* ``download_wheelhouse``: every wheel the requirements need for the *image's* Python and
  platform, downloaded on the host with pip's target options and cached per
  (requirements, Python, glibc, arch). pip judges environment markers for the host's
  Python even with ``--python-version``, so the closure is checked again here with
  ``packaging`` for the target and whatever pip left out is fetched.
* ``build_image``: a temporary build context (Dockerfile, probe app, wheels/) built with
  the classic builder and ``network_mode="none"``: the image provably needs no network.
  The tag is a content hash (``image_tag``), so an unchanged configuration is reused.
"""

from __future__ import annotations

import contextlib
import email.parser
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from asgi_matrix.resources import (
    BUILD_BASE,
    CONTROLS_DIR,
    DOCKERFILE,
    HARNESSES_DIR,
    PROBE_FILE,
)

__all__ = [
    "BASES",
    "BASE_GLIBC",
    "BaseImageError",
    "BuiltImage",
    "DockerUnavailable",
    "ImageBuildError",
    "NoWheelError",
    "SystemPackagesUnavailable",
    "WheelhouseError",
    "build_image",
    "cache_root",
    "docker_client",
    "download_wheelhouse",
    "ensure_base",
    "ensure_system_base",
    "image_tag",
    "normalize_requirements",
]

#: What goes into an image besides wheels, as (repo path, path in the build context):
#: the context mirrors the checkout, so compose can build from the repository root too.
IMAGE_FILES = [(PROBE_FILE, "probes/asgi_probe.py"),
               *[(p, f"probes/controls/{p.name}") for p in sorted(CONTROLS_DIR.glob("*.py"))],
               *[(p, f"probes/harnesses/{p.name}") for p in sorted(HARNESSES_DIR.glob("*.py"))]]

#: Python minor -> (Debian suite, local base image tag made by build-base.sh).
BASES: dict[str, tuple[str, str]] = {
    "3.11": ("bookworm", "asgi-matrix-base:bookworm"),
    "3.13": ("trixie", "asgi-matrix-base:trixie"),
    "3.14": ("sid", "asgi-matrix-base:sid"),
    "3.15": ("sid", "asgi-matrix-base:sid-py3.15"),
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

IMAGE_REPO = "asgi-matrix-probe"
LABEL = "asgi-matrix"
LOG_TAIL_LINES = 40
_PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
_NO_MATCH = re.compile(r"No matching distribution found for ([^\s]+)")
_NOT_SATISFIED = re.compile(r"Could not find a version that satisfies the requirement ([^\s]+)")


class DockerUnavailable(RuntimeError):
    """The Docker engine cannot be reached (not running, no permission, no socket)."""


class BaseImageError(RuntimeError):
    """No base image for this Python, or building one failed."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class SystemPackagesUnavailable(BaseImageError):
    """The Debian packages a configuration needs could not be put into a base image here."""

    def __init__(self, packages: Sequence[str], suite: str, why: str, log_tail: str = "") -> None:
        super().__init__(
            f"needs system packages {', '.join(packages)}: no Debian {suite} base image with "
            f"them could be built here ({why})",
            log_tail,
        )
        self.packages = list(packages)


class WheelhouseError(RuntimeError):
    """pip could not download the wheelhouse."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class NoWheelError(WheelhouseError):
    """A requirement (or one of its dependencies) has no wheel for the target Python."""

    def __init__(self, package: str, python: str, platform_desc: str, log_tail: str = "") -> None:
        super().__init__(
            f"no wheel for Python {python} ({platform_desc}) of package {package!r}: "
            "images are built offline from wheels only (pip --only-binary=:all:); "
            "pick a version that publishes wheels for this Python, or another Python",
            log_tail,
        )
        self.package = package
        self.python = python


class ImageBuildError(RuntimeError):
    """``docker build`` of a probe image failed; ``log_tail`` has the end of its log."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(
            f"{message}\n--- build log (tail) ---\n{log_tail}" if log_tail else message
        )
        self.log_tail = log_tail


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    image_id: str
    base: str
    python: str
    built: bool  # False when an existing image with this tag was reused
    seconds: float
    log_tail: str


# --------------------------------------------------------------------------- helpers


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def cache_root() -> Path:
    """``$ASGI_MATRIX_CACHE`` if set, else ``~/.cache/asgi-matrix``."""
    env = os.environ.get("ASGI_MATRIX_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "asgi-matrix"


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
    except docker.errors.DockerException as exc:
        if client is not None:
            client.close()
        raise DockerUnavailable(
            f"cannot reach the Docker engine ({exc}): use --backend local"
        ) from exc
    except OSError as exc:  # e.g. a socket that refuses connections
        if client is not None:
            client.close()
        raise DockerUnavailable(
            f"cannot reach the Docker engine ({exc}): use --backend local"
        ) from exc
    return client


@contextlib.contextmanager
def _client_scope(client: Any | None) -> Iterator[Any]:
    """The given client, or a new one that is closed afterwards."""
    if client is not None:
        yield client
        return
    own = docker_client()
    try:
        yield own
    finally:
        own.close()


def _image(client: Any, ref: str) -> Any | None:
    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None


def normalize_requirements(requirements: Iterable[str]) -> list[str]:
    """Validate pip requirement specs; return them normalized (no spaces) and sorted.

    Markers and URLs are refused: the specs are passed to the image build as one
    space-separated build-arg, and the target environment is fixed by the image anyway.
    """
    out: set[str] = set()
    for raw in requirements:
        raw = raw.strip()
        if not raw:
            continue
        try:
            req = Requirement(raw)
        except InvalidRequirement as exc:
            raise ValueError(f"invalid requirement {raw!r}: {exc}") from exc
        if req.marker is not None or req.url:
            raise ValueError(f"requirement {raw!r}: markers and URLs are not supported here")
        out.add(str(req).replace(" ", ""))
    if not out:
        raise ValueError("no requirements given")
    return sorted(out)


def _arch(arch: str | None) -> str:
    machine = (arch or platform.machine()).lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def _platform_tags(glibc: str, arch: str) -> list[str]:
    """Every manylinux tag a glibc ``glibc`` system accepts (pip does not expand them)."""
    major, minor = (int(p) for p in glibc.split(".")[:2])
    if major != 2:
        raise ValueError(f"unexpected glibc version {glibc!r}")
    tags: list[str] = []
    if arch in ("x86_64", "i686"):
        tags += [f"manylinux1_{arch}", f"manylinux2010_{arch}"]
    tags.append(f"manylinux2014_{arch}")
    tags += [f"manylinux_2_{m}_{arch}" for m in range(5 if arch == "x86_64" else 17, minor + 1)]
    return tags


def _glibc_for(python: str) -> str:
    suite = BASES.get(python, ("", ""))[0]
    return BASE_GLIBC.get(suite, DEFAULT_GLIBC)


def _python_minor(python: str) -> str:
    parts = python.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"python must look like '3.11' (got {python!r})")
    return ".".join(parts[:2])


# --------------------------------------------------------------------------- base image


def ensure_base(python: str, *, official: bool = False, client: Any | None = None) -> str:
    """An image reference with Python ``python`` (minor, e.g. "3.11") and ``venv``.

    ``official``: use ``python:{python}-slim`` when it is present locally (nothing is
    pulled). Otherwise the local debootstrap base of ``BASES``, built with
    ``probes/docker/build-base.sh`` when missing (needs root and Debian's mirror, ~40 s).
    """
    python = _python_minor(python)
    with _client_scope(client) as docker_api:
        return _ensure_base(python, official, docker_api)


def _ensure_base(python: str, official: bool, client: Any) -> str:
    if official:
        ref = f"python:{python}-slim"
        if _image(client, ref) is not None:
            return ref
    if python not in BASES:
        known = ", ".join(sorted(BASES))
        raise BaseImageError(
            f"no local base image for Python {python}: known are {known}"
            + ("" if official else f"; or pass official=True with python:{python}-slim present")
        )
    suite, tag = BASES[python]
    if _image(client, tag) is not None:
        return tag
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
    if proc.returncode != 0 or _image(client, tag) is None:
        raise BaseImageError(
            f"building base image {tag} from Debian {suite} with {BUILD_BASE.name} failed "
            f"(exit {proc.returncode}):\n{_tail(log)}",
            _tail(log),
        )
    return tag


_SYSTEM_LOCK = threading.Lock()
#: system base tag -> why it could not be built, so a run tries each at most once
_SYSTEM_FAILED: dict[str, SystemPackagesUnavailable] = {}
_MISSING_DEBS = re.compile(r"Couldn't find these debs: (.+)")


def system_base_tag(python: str, system: Sequence[str]) -> str:
    """``asgi-matrix-base:SUITE-sys-<hash>``: the Python's base plus those Debian packages."""
    python = _python_minor(python)
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
    python = _python_minor(python)
    tag = system_base_tag(python, packages)
    suite = BASES[python][0]
    with _client_scope(client) as docker_api, _SYSTEM_LOCK:
        if _image(docker_api, tag) is not None:
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
            if proc.returncode != 0 or _image(docker_api, tag) is None:
                missing = _MISSING_DEBS.search(log)
                last = next((line for line in reversed(log.strip().splitlines()) if line), "")
                why = (f"Debian {suite} has no package {missing.group(1).strip()}" if missing
                       else f"{BUILD_BASE.name} exit {proc.returncode}: {last}")
                failure = SystemPackagesUnavailable(packages, suite, why, _tail(log))
        if failure is not None:
            _SYSTEM_FAILED[tag] = failure
            raise failure
        return tag


# --------------------------------------------------------------------------- wheelhouse


def _pip_command() -> list[str]:
    """A pip to run: this interpreter's, else a helper venv seeded by ensurepip (offline)."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    helper = cache_root() / "pip-venv"
    py = helper / "bin" / "python"
    if not py.exists():
        proc = subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(helper)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 and shutil.which("uv"):
            proc = subprocess.run(
                ["uv", "venv", "--seed", "--python", sys.executable, str(helper)],
                capture_output=True,
                text=True,
                check=False,
            )
        if proc.returncode != 0 or not py.exists():
            raise WheelhouseError(
                "no pip to download wheels with: install pip for "
                f"{sys.executable} ({_tail(proc.stderr, 5)})"
            )
    return [str(py), "-m", "pip"]


def _target_env(python: str, arch: str) -> dict[str, str]:
    full = python if python.count(".") >= 2 else f"{python}.0"
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "posix",
        "platform_machine": arch,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": full,
        "python_version": _python_minor(python),
        "sys_platform": "linux",
    }


def _wheel_index(directory: Path) -> dict[str, list[tuple[Version, list[str]]]]:
    """name -> [(version, Requires-Dist lines)] for every wheel in ``directory``."""
    index: dict[str, list[tuple[Version, list[str]]]] = {}
    for whl in sorted(directory.glob("*.whl")):
        try:
            name, version, _build, _tags = parse_wheel_filename(whl.name)
        except Exception:
            continue
        requires: list[str] = []
        with zipfile.ZipFile(whl) as zf:
            meta = next(
                (
                    n
                    for n in zf.namelist()
                    if n.endswith(".dist-info/METADATA") and n.count("/") == 1
                ),
                None,
            )
            if meta is not None:
                msg = email.parser.HeaderParser().parsestr(zf.read(meta).decode("utf-8", "replace"))
                requires = msg.get_all("Requires-Dist") or []
        index.setdefault(str(name), []).append((version, requires))
    return index


def _missing_for_target(top: Sequence[str], directory: Path, env: dict[str, str]) -> list[str]:
    """Requirement specs the target needs (markers judged for it) with no wheel here."""
    index = _wheel_index(directory)
    extras: dict[str, set[str]] = {}
    specs: dict[str, list[Requirement]] = {}
    queue: list[Requirement] = [Requirement(r) for r in top]
    seen: set[tuple[str, frozenset[str], str]] = set()
    missing: dict[str, list[Requirement]] = {}
    while queue:
        req = queue.pop()
        name = str(canonicalize_name(req.name))
        key = (name, frozenset(req.extras), str(req.specifier))
        if key in seen:
            continue
        seen.add(key)
        extras.setdefault(name, set()).update(req.extras)
        specs.setdefault(name, []).append(req)
        candidates = [
            (v, deps)
            for v, deps in index.get(name, [])
            if req.specifier.contains(v, prereleases=True)
        ]
        if not candidates:
            missing.setdefault(name, []).append(req)
            continue
        _version, deps = max(candidates, key=lambda c: c[0])
        for line in deps:
            try:
                dep = Requirement(line)
            except InvalidRequirement:
                continue
            if dep.marker is not None:
                wanted = ["", *sorted(req.extras)]
                if not any(dep.marker.evaluate({**env, "extra": e}) for e in wanted):
                    continue
            dep.marker = None
            queue.append(dep)
    out: list[str] = []
    for name in sorted(missing):
        all_specs = [str(r.specifier) for r in specs[name] if str(r.specifier)]
        ex = sorted(extras.get(name, set()))
        out.append(name + (f"[{','.join(ex)}]" if ex else "") + ",".join(all_specs))
    return out


def _pip_download(
    pip: list[str], specs: Sequence[str], python: str, platforms: Sequence[str], dest: Path,
    abi: str = "",
) -> subprocess.CompletedProcess[str]:
    # abi "cp314t": a free-threaded target takes only its own ABI's and pure wheels (no abi3)
    abis = ["--abi", abi, "--abi", "none"] if abi else []
    cmd = [
        *pip,
        "download",
        "--only-binary=:all:",
        "--python-version",
        python,
        "--implementation",
        "cp",
        *abis,
        *[arg for p in platforms for arg in ("--platform", p)],
        "--dest",
        str(dest),
        "--progress-bar",
        "off",
        *specs,
    ]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env={**os.environ, **_PIP_ENV},
        timeout=900,
        check=False,
    )


def _raise_for_pip(proc: subprocess.CompletedProcess[str], python: str, platform_desc: str) -> None:
    log = (proc.stdout or "") + (proc.stderr or "")
    m = _NO_MATCH.search(log) or _NOT_SATISFIED.search(log)
    if m:
        spec = m.group(1).strip("'\"")
        try:
            package = Requirement(spec).name
        except InvalidRequirement:
            package = spec
        raise NoWheelError(package, python, platform_desc, _tail(log))
    raise WheelhouseError(
        f"pip download for Python {python} ({platform_desc}) failed "
        f"(exit {proc.returncode}):\n{_tail(log, 15)}",
        _tail(log),
    )


def download_wheelhouse(
    requirements: list[str],
    python: str,
    dest: Path,
    *,
    glibc: str | None = None,
    arch: str | None = None,
    abi: str = "",
) -> Path:
    """Fill ``dest`` with wheels for ``requirements`` on CPython ``python`` (e.g. "3.14").

    Linux wheels only (manylinux up to ``glibc``, default: that of the Python's Debian
    base; ``arch`` default: this machine's) and pure-Python ones. Cached under
    ``cache_root()/wheels/<hash>``; ``dest`` gets copies. Raises ``NoWheelError`` naming the
    package when a requirement or a dependency has no wheel for that Python.
    """
    minor = _python_minor(python)
    reqs = normalize_requirements(requirements)
    glibc = glibc or _glibc_for(minor)
    arch_ = _arch(arch)
    platforms = _platform_tags(glibc, arch_)
    platform_desc = f"linux {arch_}, glibc {glibc}"
    key = hashlib.sha256(
        json.dumps(
            {"requirements": reqs, "python": minor, "glibc": glibc, "arch": arch_, "v": 1,
             **({"abi": abi} if abi else {})},
            sort_keys=True,
        ).encode()
    ).hexdigest()[:24]
    cache = cache_root() / "wheels" / key
    if not (cache / "wheelhouse.json").is_file():
        cache.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache.parent))
        work.chmod(0o755)
        try:
            pip = _pip_command()
            env = _target_env(minor, arch_)
            todo: list[str] = list(reqs)
            rounds = 0
            while todo:
                rounds += 1
                if rounds > 8:
                    raise WheelhouseError(
                        f"wheelhouse for {reqs} on Python {minor} does not close: still "
                        f"missing {todo}"
                    )
                proc = _pip_download(pip, todo, minor, platforms, work, abi)
                if proc.returncode != 0:
                    _raise_for_pip(proc, minor, platform_desc)
                # pip judged markers for the host's Python: add what the target needs.
                todo = _missing_for_target(reqs, work, env)
            wheels = sorted(p.name for p in work.glob("*.whl"))
            (work / "wheelhouse.json").write_text(
                json.dumps(
                    {
                        "requirements": reqs,
                        "python": minor,
                        "glibc": glibc,
                        "arch": arch_,
                        "wheels": wheels,
                        "rounds": rounds,
                    },
                    indent=1,
                )
                + "\n"
            )
            try:
                work.rename(cache)
            except OSError:  # another process finished first: keep its copy
                if not (cache / "wheelhouse.json").is_file():
                    raise
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    dest.mkdir(parents=True, exist_ok=True)
    for whl in cache.glob("*.whl"):
        target = dest / whl.name
        if not target.exists():
            try:
                os.link(whl, target)
            except OSError:
                shutil.copy2(whl, target)
    return dest


# --------------------------------------------------------------------------- images


def _base_id(client: Any, base: str) -> str:
    img = _image(client, base)
    if img is None:
        raise BaseImageError(f"base image {base} is not present locally")
    return str(img.id)


def image_tag(requirements: list[str], python: str, base: str, *, client: Any | None = None,
              system: Sequence[str] = ()) -> str:
    """``asgi-matrix-probe:<hash>``: Dockerfile, probe app, requirements, base image id, Python
    (and the system packages, when there are any)."""
    with _client_scope(client) as docker_api:
        base_id = _base_id(docker_api, base)
    h = hashlib.sha256()
    for part in (
        DOCKERFILE.read_bytes(),
        *[src.read_bytes() for src, _ in IMAGE_FILES],
        "\n".join(normalize_requirements(requirements)).encode(),
        base_id.encode(),
        _python_minor(python).encode(),
        *([" ".join(sorted(set(system))).encode()] if system else []),
    ):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return f"{IMAGE_REPO}:{h.hexdigest()[:16]}"


def build_image(requirements: list[str], python: str, *, official: bool = False,
                system: Sequence[str] = (), base: str = "", abi: str = "") -> BuiltImage:
    """The probe image for ``requirements`` on Python ``python``: reused when its tag exists,
    else built offline (``network_mode="none"``) from a wheelhouse. ``system``: Debian
    packages the image needs, from a base made with them (``ensure_system_base``). Raises
    ``DockerUnavailable``, ``BaseImageError`` (``SystemPackagesUnavailable``),
    ``NoWheelError``/``WheelhouseError`` or ``ImageBuildError``. ``base``: a base image the
    user gave (a free-threaded Python, which no Debian suite packages), with wheels for
    its ``abi`` ("cp314t")."""
    started = time.monotonic()
    python = _python_minor(python)
    reqs = normalize_requirements(requirements)
    packages = sorted(set(system))
    with _client_scope(None) as client:
        return _build_image(reqs, python, official, client, started, packages, base, abi)


def _build_image(
    reqs: list[str], python: str, official: bool, client: Any, started: float,
    system: list[str] | None = None, given_base: str = "", abi: str = "",
) -> BuiltImage:
    system = system or []
    if given_base and _image(client, given_base) is None:
        raise BaseImageError(f"base image {given_base} is not present locally")
    base = given_base or ensure_base(python, official=official and not system, client=client)
    if system:
        # The wheels first: a configuration that has none is "not run" without a base build.
        plain = _image(client, base)
        glibc0 = ((plain.labels or {}) if plain is not None else {}).get(f"{LABEL}.glibc")
        with tempfile.TemporaryDirectory(prefix="asgi-matrix-wheels.") as tmp:
            download_wheelhouse(reqs, python, Path(tmp), glibc=glibc0 or _glibc_for(python))
        base = ensure_system_base(python, system, client=client)
    tag = image_tag(reqs, python, base, client=client, system=system)  # base id: the ABI
    existing = _image(client, tag)
    if existing is not None:
        return BuiltImage(
            tag=tag,
            image_id=str(existing.id),
            base=base,
            python=python,
            built=False,
            seconds=time.monotonic() - started,
            log_tail="",
        )
    base_image = _image(client, base)
    base_labels: dict[str, str] = (base_image.labels or {}) if base_image is not None else {}
    glibc = base_labels.get(f"{LABEL}.glibc") or _glibc_for(python)
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="asgi-matrix-build.") as tmp:
        ctx = Path(tmp)
        shutil.copy2(DOCKERFILE, ctx / "Dockerfile")
        for src, rel in IMAGE_FILES:
            (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, ctx / rel)
        download_wheelhouse(reqs, python, ctx / "wheels", glibc=glibc, abi=abi)
        error: str | None = None
        try:
            stream = client.api.build(
                path=str(ctx),
                dockerfile="Dockerfile",
                tag=tag,
                buildargs={"BASE": base, "REQUIREMENTS": " ".join(reqs),
                           "SYSTEM": " ".join(system)},
                network_mode="none",
                # Labels (asgi-matrix=1, .base, .requirements) come from the Dockerfile's
                # one LABEL: the SDK's labels= adds one ~1 s build step per label.
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
            )
            for chunk in stream:
                if "stream" in chunk:
                    lines.extend(str(chunk["stream"]).rstrip("\n").splitlines())
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
                    lines.append(error)
        except docker.errors.APIError as exc:
            error = str(exc)
            lines.append(error)
        log_tail = _tail("\n".join(lines))
        if error is not None:
            raise ImageBuildError(
                f"building {tag} ({' '.join(reqs)} on Python {python}, base {base}) failed: "
                f"{error}",
                log_tail,
            )
    image = _image(client, tag)
    if image is None:
        raise ImageBuildError(f"build of {tag} reported success but the image is missing", log_tail)
    return BuiltImage(
        tag=tag,
        image_id=str(image.id),
        base=base,
        python=python,
        built=True,
        seconds=time.monotonic() - started,
        log_tail=log_tail,
    )
