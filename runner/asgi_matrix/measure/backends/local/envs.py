"""Per-configuration virtualenvs, made once by uv and shared by every run.

One environment per distinct set of resolved versions and interpreter, under the user
cache (``$ASGI_MATRIX_CACHE`` or ``~/.cache/asgi-matrix``): requirements that are not
all pinned are resolved again (``uv pip compile``, newest releases first) once a day,
so a new release of a server is measured the day after it is out, in an environment
keyed by the versions it resolved to (the resolution is kept under ``resolved/``; when
the index cannot be reached, the last resolution is used). uv is used because it creates
and fills an environment in about a second from its cache, which keeps cold test runs
and the matrix fast. An environment is built under a file lock and marked complete
by a manifest written last, so two runs at once never see, or build, a half-made one.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from asgi_matrix.exceptions import EnvironmentFailed, NotRunnable
from asgi_matrix.files import write_atomic
from asgi_matrix.measure.backends.local import pythons as _pythons
from asgi_matrix.measure.backends.protocol import PROBE_REQUIREMENTS, parse_freeze
from asgi_matrix.resources import cache_root

_LAYOUT = 1  #: bump when the way environments are built changes
RESOLVE_EVERY_S = 24 * 3600.0  #: unpinned requirements are resolved again after a day


_UV_LOCK = threading.Lock()


@functools.cache
def _uv_binary() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if not found:
            raise EnvironmentFailed("uv is not installed: pip install uv") from None
        return found


def uv_binary() -> str:
    """The uv that came with our own install, else one on PATH.

    Looked up once, under a lock: find_uv_bin reads sysconfig, whose first use is not
    thread-safe on 3.11 (two jobs at once got None for a config variable).
    """
    with _UV_LOCK:
        return _uv_binary()


def find_interpreter(spec: str, default: str | None = None, free_threaded: bool = False) -> str:
    """An interpreter satisfying the PEP 440 ``spec``: ours if it does, else one the
    developer installed (pyenv, asdf, mise, uv, PATH: ``pythons.py``), else uv's find.

    ``free_threaded``: only a free-threaded build will do (``3.14t``), ours or one found.
    uv may download one only where the user allows it (UV_PYTHON_DOWNLOADS); a spec
    nothing satisfies raises NotRunnable naming what was searched, so the configuration
    is "not run", not failed.
    """
    from packaging.specifiers import SpecifierSet

    ours = default or sys.executable
    if free_threaded:
        return _find_free_threaded(spec, ours)
    if not spec or SpecifierSet(spec).contains(platform.python_version()):
        return ours
    found = _pythons.choose(spec, _installed())
    path = found.path if found else _uv_find(spec)
    if not path:
        raise NotRunnable(f"no Python interpreter matching {spec!r} on this machine "
                          f"(this one is {platform.python_version()}; searched "
                          f"{_pythons.searched_words()}, and uv python find)",
                          hint="--backend docker")
    return path


_INSTALLED_LOCK = threading.Lock()


def _installed() -> list[_pythons.Interpreter]:
    """The interpreters found on this machine, searched once per process (under a lock:
    jobs ask at the same time)."""
    with _INSTALLED_LOCK:
        return _discover_once()


@functools.cache
def _discover_once() -> list[_pythons.Interpreter]:
    return _pythons.discover()


_FOUND_BY_UV: dict[str, str] = {}
_FOUND_LOCK = threading.Lock()


def _uv_find(request: str, fresh: bool = False) -> str:
    """The interpreter uv finds for ``request`` (never downloading), or "": asked once per
    request and process (a run asked it again for every configuration of that Python: a
    second of uv each under load), unless ``fresh`` (after an install)."""
    with _FOUND_LOCK:
        if not fresh and request in _FOUND_BY_UV:
            return _FOUND_BY_UV[request]
        found = _FOUND_BY_UV[request] = _ask_uv_find(request)
        return found


def _ask_uv_find(request: str) -> str:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    try:
        found = subprocess.run([uv_binary(), "python", "find", "--no-project", request],
                               capture_output=True, text=True, env=env, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return ""
    path = found.stdout.strip().splitlines()[-1] if found.stdout.strip() else ""
    return path if found.returncode == 0 else ""


#: What lets uv fetch an interpreter: the user's UV_PYTHON_DOWNLOADS, never our default.
DOWNLOADS_ALLOWED = ("automatic", "manual")


def _find_free_threaded(spec: str, ours: str) -> str:
    """A free-threaded interpreter for ``spec`` ("==3.14.*"): ours when it is one, else one
    installed (``pythons.py``), else uv's.

    uv's request "3.14t" matches free-threaded builds only. Where the user allows
    downloads (UV_PYTHON_DOWNLOADS=automatic or manual), uv installs one first.
    """
    minor = spec.strip().removeprefix("==").removesuffix(".*")
    request = f"{minor}t"
    if (sysconfig.get_config_var("Py_GIL_DISABLED") and ours == sys.executable
            and platform.python_version().startswith(f"{minor}.")):
        return ours
    found = _pythons.choose(spec, _installed(), free_threaded=True)
    path = found.path if found else _uv_find(request)
    allowed = os.environ.get("UV_PYTHON_DOWNLOADS", "") in DOWNLOADS_ALLOWED
    if not path and allowed:
        _run([uv_binary(), "python", "install", request], f"uv python install {request}")
        path = _uv_find(request, fresh=True)
    if not path:
        how = ("uv could not install one" if allowed else
               "uv found none, and may download one only where UV_PYTHON_DOWNLOADS allows it")
        raise NotRunnable(f"needs a free-threaded Python {minor} ({request}); none in "
                          f"{_pythons.searched_words()}; {how} (or in "
                          f"docker: a base with python{request} as ASGI_MATRIX_BASE_"
                          f"{minor.replace('.', '')}T)",
                          prefix="UV_PYTHON_DOWNLOADS=manual ")
    return path


@dataclass(frozen=True)
class Environment:
    """A ready virtualenv: its interpreter and the exact versions installed in it."""

    path: Path
    python: Path
    versions: dict[str, str]
    created: bool  #: False when it came from the cache


def _key(requirements: tuple[str, ...], interpreter: str) -> str:
    text = json.dumps([_LAYOUT, sorted(requirements), interpreter])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _run(argv: list[str], what: str) -> str:
    # COLUMNS: uv wraps its messages to the terminal's width, and a message cut in two
    # loses the reason a release is not installable (read from one line of this output)
    env = {**os.environ, "COLUMNS": "1000",
           "UV_PYTHON_DOWNLOADS": os.environ.get("UV_PYTHON_DOWNLOADS", "never")}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-12:])
        last = tail.splitlines()[-1] if tail else f"exit {done.returncode}"
        raise EnvironmentFailed(f"{what}: {last}", log_tail=tail)
    return done.stdout


def _freeze(python: Path) -> dict[str, str]:
    return parse_freeze(_run([uv_binary(), "pip", "freeze", "--python", str(python)],
                             "listing versions"))


def _pinned(requirement: str) -> bool:
    """Exactly one version (``name==1.2.3``, no wildcard): nothing to resolve."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        specs = list(Requirement(requirement).specifier)
    except InvalidRequirement:
        return False
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version


def resolve(wanted: tuple[str, ...], interpreter: str, root: Path,
            now: float | None = None) -> tuple[str, ...]:
    """Every package ``wanted`` installs, pinned to the newest versions that satisfy it
    for this interpreter (``name==version``), as uv resolves them; a resolution younger
    than RESOLVE_EVERY_S is reused, and so is an older one when the index cannot be
    reached. All-pinned requirements are returned as they are."""
    if all(_pinned(r) for r in wanted):
        return wanted
    now = time.time() if now is None else now
    kept = root / "resolved" / f"{_key(wanted, interpreter)}.json"
    old = json.loads(kept.read_text()) if kept.exists() else None
    if old is not None and now - float(old.get("resolved_at", 0)) < RESOLVE_EVERY_S:
        return tuple(old["pins"])
    kept.parent.mkdir(parents=True, exist_ok=True)
    listing = kept.with_suffix(".in")
    listing.write_text("\n".join(wanted) + "\n")
    try:
        out = _run([uv_binary(), "pip", "compile", "-q", "--no-header", "--no-annotate",
                    "--python", interpreter, str(listing)], f"cannot install {' '.join(wanted)}")
    except EnvironmentFailed:
        if old is not None:  # offline: the last resolution stands
            return tuple(old["pins"])
        raise
    pins = tuple(sorted(line.strip() for line in out.splitlines()
                        if "==" in line and not line.lstrip().startswith("#")))
    write_atomic(kept, json.dumps({"requirements": wanted, "interpreter": interpreter,
                                   "pins": pins, "resolved_at": now}, indent=1))
    return pins


def resolved_versions(requirements: tuple[str, ...], interpreter: str | None = None
                      ) -> tuple[dict[str, str], float] | None:
    """The versions these requirements last resolved to here, and when (no resolving)."""
    wanted = tuple(sorted({*requirements, *PROBE_REQUIREMENTS}))
    key = _key(wanted, interpreter or sys.executable)
    kept = cache_root() / "envs" / "resolved" / f"{key}.json"
    if not kept.exists():
        return None
    data = json.loads(kept.read_text())
    return parse_freeze("\n".join(data["pins"])), float(data.get("resolved_at", 0))


def ensure(requirements: tuple[str, ...], interpreter: str | None = None) -> Environment:
    """Return the environment for these requirements, resolved again once a day, creating
    it once per resolved set of versions."""
    interpreter = interpreter or sys.executable
    wanted = tuple(sorted({*requirements, *PROBE_REQUIREMENTS}))
    root = cache_root() / "envs"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "resolve.lock", "a") as lock:  # one resolution at a time per cache
        fcntl.flock(lock, fcntl.LOCK_EX)
        pins = resolve(wanted, interpreter, root)
    final = root / _key(pins, interpreter)
    python = final / "bin" / "python"
    with open(root / f"{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be building the same one
        manifest = final / "asgi-matrix.json"
        if manifest.exists():
            return Environment(final, python, json.loads(manifest.read_text())["versions"],
                               created=False)
        shutil.rmtree(final, ignore_errors=True)  # a build that was interrupted
        try:
            uv = uv_binary()
            _run([uv, "venv", "-q", "--python", interpreter, str(final)],
                 f"creating a virtualenv with {interpreter}")
            _run([uv, "pip", "install", "-q", "--python", str(python), *pins],
                 f"cannot install {' '.join(wanted)}")
            versions = _freeze(python)
            # the manifest last: its presence means "complete"
            write_atomic(manifest, json.dumps({"requirements": wanted, "pins": pins,
                                               "interpreter": interpreter,
                                               "versions": versions}, indent=1))
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        return Environment(final, python, versions, created=True)
