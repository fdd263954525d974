"""The Python interpreters a developer has, found where their tools install them.

Searched in this order, each where its tool puts interpreters (its environment variable
first, then the default folder):

- pyenv: ``$PYENV_ROOT/versions/*/bin`` (``~/.pyenv``)
- asdf: ``$ASDF_DATA_DIR/installs/python/*/bin`` (``~/.asdf``)
- mise: ``$MISE_DATA_DIR/installs/python/*/bin`` (``$XDG_DATA_HOME/mise``, ``~/.local/share/mise``)
- uv: ``$UV_PYTHON_INSTALL_DIR/*/bin`` (``$XDG_DATA_HOME/uv/python``, ``~/.local/share/uv/python``),
  the interpreters ``uv python install`` made
- PATH: ``python3`` and ``python3.N`` in each folder of ``$PATH``, but the tools' shim
  folders: what a shim leads to is searched above

A candidate is called by its real path (pyenv's shims are scripts that fail for a
version not selected: ``pyenv: python3.13: command not found``) and asked for its
version; one that does not answer is passed over. Only CPython counts: the catalogue's
servers ship CPython wheels.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

#: Executable names worth asking, in a tool's bin folder or on PATH ("python3.13t" too).
_NAME = re.compile(r"^python3(\.\d+t?)?$")
#: What a candidate prints: implementation, version, free-threaded and its own executable
#: (a shim that works names the real one). Runs on any Python 3.
_ASK = ("import os, platform, sys, sysconfig; sys.stdout.write('%s %s %d %s' % ("
        "platform.python_implementation(), platform.python_version(), "
        "bool(sysconfig.get_config_var('Py_GIL_DISABLED')), os.path.realpath(sys.executable)))")
_ASK_TIMEOUT_S = 10


@dataclass(frozen=True)
class Place:
    """A folder searched for interpreters, and the tool that installs them there."""

    tool: str  #: "pyenv", "asdf", "mise", "uv" or "PATH"
    folder: Path  #: the folder searched: one holding a folder per version, or a PATH entry

    def describe(self) -> str:
        return f"{self.tool} {self.folder}" if self.tool != "PATH" else "PATH"


@dataclass(frozen=True)
class Interpreter:
    """One interpreter found: its real path, its version and where it was found."""

    path: str  #: the real path (symlinks resolved): what is called, never a shim
    version: str  #: "3.13.0"
    free_threaded: bool
    tool: str  #: the Place.tool it was found by

    @property
    def release(self) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", self.version)[:3])


def places(env: Mapping[str, str] | None = None, home: Path | None = None) -> list[Place]:
    """Where interpreters are searched, in order, for this environment and home folder."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    data = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else home / ".local" / "share"

    def folder(var: str, default: Path) -> Path:
        return Path(env[var]).expanduser() if env.get(var) else default

    pyenv = folder("PYENV_ROOT", home / ".pyenv")
    asdf = folder("ASDF_DATA_DIR", home / ".asdf")
    mise = folder("MISE_DATA_DIR", data / "mise")
    found = [
        Place("pyenv", pyenv / "versions"),
        Place("asdf", asdf / "installs" / "python"),
        Place("mise", mise / "installs" / "python"),
        Place("uv", folder("UV_PYTHON_INSTALL_DIR", data / "uv" / "python")),
    ]
    # The tools' shims are scripts that pick a version by folder and settings (slow, and
    # broken for a version not selected); what they lead to is searched above.
    shims = {pyenv / "shims", asdf / "shims", mise / "shims"}
    for entry in env.get("PATH", "").split(os.pathsep):
        if entry and Path(entry).expanduser() not in shims:
            found.append(Place("PATH", Path(entry).expanduser()))
    return found


def _bin_folders(place: Place) -> list[Path]:
    if place.tool == "PATH":
        return [place.folder]
    try:
        versions = sorted(p for p in place.folder.iterdir() if p.is_dir())
    except OSError:
        return []
    return [v / "bin" for v in versions]


def candidates(searched: list[Place]) -> list[tuple[str, str]]:
    """(tool, real path) of every executable named like a Python 3, each path once."""
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for place in searched:
        for folder in _bin_folders(place):
            try:
                names = sorted(p.name for p in folder.iterdir() if _NAME.match(p.name))
            except OSError:
                continue
            for name in names:
                real = os.path.realpath(folder / name)
                if real in seen or not os.path.isfile(real) or not os.access(real, os.X_OK):
                    continue
                seen.add(real)
                found.append((place.tool, real))
    return found


@functools.cache
def _ask(path: str) -> tuple[str, str, bool, str] | None:
    """(implementation, version, free-threaded, real executable) of the interpreter at
    ``path``, or None when it does not answer (a broken shim, not a Python)."""
    try:
        done = subprocess.run([path, "-I", "-c", _ASK], capture_output=True, text=True,
                              timeout=_ASK_TIMEOUT_S, stdin=subprocess.DEVNULL,
                              env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"})
    except (OSError, subprocess.SubprocessError):
        return None
    parts = done.stdout.split(" ", 3)
    if done.returncode != 0 or len(parts) != 4 or not re.match(r"^\d+\.\d+", parts[1]):
        return None
    executable = os.path.realpath(parts[3]) if os.path.isfile(parts[3]) else path
    return parts[0], parts[1], parts[2] == "1", executable


def discover(searched: list[Place] | None = None) -> list[Interpreter]:
    """Every working CPython 3 found in ``searched`` (default: :func:`places`), in order."""
    todo = candidates(places() if searched is None else searched)
    with ThreadPoolExecutor(max_workers=8) as pool:  # each answer is a process start
        answers = list(pool.map(_ask, [path for _, path in todo]))
    found: list[Interpreter] = []
    seen: set[str] = set()
    for (tool, _), answer in zip(todo, answers, strict=True):
        if answer is None or answer[0] != "CPython" or answer[3] in seen:
            continue
        seen.add(answer[3])
        found.append(Interpreter(path=answer[3], version=answer[1], free_threaded=answer[2],
                                 tool=tool))
    return found


def choose(spec: str, found: list[Interpreter], free_threaded: bool = False) -> Interpreter | None:
    """The interpreter for a PEP 440 ``spec``: the oldest minor release that matches (the
    one servers most likely have wheels for), its newest patch release; None if none."""
    from packaging.specifiers import SpecifierSet

    wanted = SpecifierSet(spec) if spec else SpecifierSet()
    matching = [i for i in found if i.free_threaded == free_threaded
                and wanted.contains(i.version, prereleases=True)]
    if not matching:
        return None
    return min(matching, key=lambda i: (i.release[:2], tuple(-n for n in i.release[2:])))


def searched_words(searched: list[Place] | None = None) -> str:
    """What was searched, for a not-run reason: "pyenv ~/.pyenv/versions, ..., PATH"."""
    home = Path.home()
    words: list[str] = []
    for place in places() if searched is None else searched:
        text = place.describe()
        if place.tool != "PATH" and place.folder.is_relative_to(home) and home != Path("/"):
            text = f"{place.tool} ~/{place.folder.relative_to(home)}"
        if text not in words:
            words.append(text)
    return ", ".join(words)
