"""Wheelhouses: every wheel a probe image needs, downloaded on the host, for the image.

pip's target options (``--python-version``, ``--platform`` with every manylinux tag up
to the base's glibc, ``--only-binary=:all:``) fetch wheels for the *image's* Python and
platform; the result is cached per (requirements, Python, glibc, arch) under the cache
root. pip judges environment markers for the host's Python even so, so the closure is
checked again here with ``packaging`` for the target and whatever pip left out is
fetched. A requirement with no wheel for the target is ``NoWheelError``, naming it,
unless the index has its sdist and this host is the target (same Python minor and
architecture, an older or equal glibc): then its wheel is built here (socketify).
"""

from __future__ import annotations

import email.parser
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from asgi_matrix.exceptions import NoWheelError, WheelhouseError
from asgi_matrix.measure.backends.docker.bases import glibc_for, python_minor
from asgi_matrix.measure.backends.docker.engine import tail
from asgi_matrix.resources import cache_root

_PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
_NO_MATCH = re.compile(r"No matching distribution found for ([^\s]+)")
_NOT_SATISFIED = re.compile(r"Could not find a version that satisfies the requirement ([^\s]+)")


def normalize_requirements(requirements: Iterable[str], python: str,
                           arch: str | None = None) -> list[str]:
    """Pip requirement specs for CPython ``python`` on Linux: normalized (no spaces), sorted.

    The specs go to the image build as one space-separated build-arg, so environment
    markers are judged here, for the image's Python and platform: a requirement whose
    marker does not hold there is left out, one whose marker holds loses it. URLs are
    refused: an image is built offline from wheels of the index.
    """
    env = target_env(python_minor(python), _arch(arch))
    out: set[str] = set()
    for raw in requirements:
        raw = raw.strip()
        if not raw:
            continue
        try:
            req = Requirement(raw)
        except InvalidRequirement as exc:
            raise WheelhouseError(f"invalid requirement {raw!r}: {exc}") from exc
        if req.url:
            raise WheelhouseError(f"requirement {raw!r}: a URL cannot go into an image built "
                                  "offline from wheels; use --backend local")
        if req.marker is not None:
            if not req.marker.evaluate(env):
                continue
            req.marker = None
        out.add(str(req).replace(" ", ""))
    if not out:
        raise WheelhouseError("no requirements given")
    return sorted(out)


def _arch(arch: str | None) -> str:
    machine = (arch or platform.machine()).lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def _platform_tags(glibc: str, arch: str) -> list[str]:
    """Every manylinux tag a glibc ``glibc`` system accepts (pip does not expand them)."""
    major, minor = (int(p) for p in glibc.split(".")[:2])
    if major != 2:
        raise WheelhouseError(f"unexpected glibc version {glibc!r}")
    tags: list[str] = []
    if arch in ("x86_64", "i686"):
        tags += [f"manylinux1_{arch}", f"manylinux2010_{arch}"]
    tags.append(f"manylinux2014_{arch}")
    tags += [f"manylinux_2_{m}_{arch}" for m in range(5 if arch == "x86_64" else 17, minor + 1)]
    return tags




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
                f"{sys.executable} ({tail(proc.stderr, 5)})"
            )
    return [str(py), "-m", "pip"]


def target_env(python: str, arch: str) -> dict[str, str]:
    """The values environment markers are judged with, for CPython ``python`` on Linux."""
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
        "python_version": python_minor(python),
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


def _build_here(pip: list[str], err: NoWheelError, todo: Sequence[str], python: str,
                arch: str, glibc: str, abi: str, dest: Path) -> bool:
    """Build the wheel of a package the index has only as an sdist, on this host, when
    a wheel made here fits the image: the same Python minor and architecture, a glibc no
    newer than the image's, no special ABI. True when a wheel of it is now in ``dest``."""
    host_glibc = platform.libc_ver()[1]
    if (python != f"{sys.version_info[0]}.{sys.version_info[1]}" or abi
            or arch != _arch(None) or not host_glibc
            or Version(host_glibc) > Version(glibc)):
        return False
    name = canonicalize_name(err.package)
    specs = [t for t in todo if canonicalize_name(Requirement(t).name) == name]
    if not specs:
        return False
    try:
        subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(dest), specs[0]],
                       capture_output=True, text=True, env={**os.environ, **_PIP_ENV},
                       timeout=900, check=False)
    except subprocess.TimeoutExpired:
        return False
    return any(canonicalize_name(parse_wheel_filename(w.name)[0]) == name
               for w in dest.glob("*.whl"))


def _raise_for_pip(proc: subprocess.CompletedProcess[str], python: str, platform_desc: str) -> None:
    log = (proc.stdout or "") + (proc.stderr or "")
    m = _NO_MATCH.search(log) or _NOT_SATISFIED.search(log)
    if m:
        spec = m.group(1).strip("'\"")
        try:
            package = Requirement(spec).name
        except InvalidRequirement:
            package = spec
        raise NoWheelError(package, python, platform_desc, tail(log))
    raise WheelhouseError(
        f"pip download for Python {python} ({platform_desc}) failed "
        f"(exit {proc.returncode}):\n{tail(log, 15)}",
        tail(log),
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
    minor = python_minor(python)
    reqs = normalize_requirements(requirements, minor, arch)
    glibc = glibc or glibc_for(minor)
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
            env = target_env(minor, arch_)
            todo: list[str] = list(reqs)
            built: list[str] = []  #: packages with no wheel on the index, built from sdists
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
                    try:
                        _raise_for_pip(proc, minor, platform_desc)
                    except NoWheelError as err:
                        # sdist only (socketify): a wheel built here, when here is the target
                        if not _build_here(pip, err, todo, minor, arch_, glibc, abi, work):
                            raise
                        built.append(err.package)
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
                        **({"built_from_sdist": built} if built else {}),
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

