"""What ``asgi-matrix check`` is given, made into a plan, or refused in one line.

``module:attr`` (attr defaults to ``app``; dotted attributes allowed), the folder it is
imported from, the requests (``--get PATH``, ``--post PATH [@FILE | TEXT]``, ...), and
the app's requirements: a requirements file, or what a virtualenv has installed
(``pip freeze`` of its interpreter: pinned ``name==version`` lines; editable and
direct-URL lines cannot be reinstalled elsewhere and are left out, named).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from asgi_matrix.exceptions import AsgiMatrixError, CheckInputError
from asgi_matrix.measure.check_run import Plan, Request

_APP = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def app_reference(text: str) -> str:
    if not _APP.match(text):
        raise CheckInputError(f"{text!r} is not an app reference: use MODULE:ATTR, for "
                              "example main:app or mypkg.web:application")
    return text if ":" in text else f"{text}:app"


def app_folder(reference: str, app_dir: Path) -> Path:
    """The folder the app is imported from; its module must be found there (file or
    package), or be importable from the app's environment (checked by the layer)."""
    folder = app_dir.expanduser().resolve()
    if not folder.is_dir():
        raise CheckInputError(f"--app-dir {app_dir}: not a folder")
    return folder


def request(method: str, path: str, body: str | None = None) -> Request:
    """One named request; ``body`` as ``@FILE`` (read now) or literal text."""
    if not path.startswith("/"):
        raise CheckInputError(f"--{method.lower()} {path!r}: a path starts with / "
                              "(for example /health)")
    if body is None:
        return Request(method, path)
    if body.startswith("@"):
        file = Path(body[1:]).expanduser()
        try:
            data = file.read_bytes()
        except OSError as err:
            raise CheckInputError(f"--{method.lower()} {path} {body}: cannot read "
                                  f"{file}: {err.strerror or err}") from None
        return Request(method, path, data, body_from=str(file),
                       content_type=content_type(data, file.suffix))
    data = body.encode()
    return Request(method, path, data, body_from="inline text",
                   content_type=content_type(data, ""))


def content_type(data: bytes, suffix: str) -> str:
    """JSON for a .json file or a body that parses as JSON; else a form for a .form
    file; else bytes."""
    import json

    if suffix.lower() == ".json":
        return "application/json"
    try:
        json.loads(data)
        return "application/json"
    except ValueError:
        pass
    return ("application/x-www-form-urlencoded" if suffix.lower() == ".form"
            else "application/octet-stream")


def requests_from(pairs: Sequence[tuple[str, tuple[str, ...]]]) -> tuple[Request, ...]:
    """(method, [path, body?]) as parsed from the command line, in order; GET / when none."""
    out = []
    for method, values in pairs:
        if not values or len(values) > 2:
            raise CheckInputError(f"--{method.lower()} takes PATH and, optionally, a body "
                                  "(@FILE or text)")
        out.append(request(method, values[0], values[1] if len(values) > 1 else None))
    return tuple(out) or (Request("GET", "/"),)


def read_requirements(file: Path) -> tuple[str, ...]:
    """The requirement lines of a requirements file (comments and options left out)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise CheckInputError(f"--requirements {file}: {err.strerror or err}") from None
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            Requirement(line)
        except InvalidRequirement as err:
            raise CheckInputError(f"--requirements {file}:{number}: {err}") from None
        out.append(line)
    return tuple(out)


def current_virtualenv() -> Path | None:
    """The virtualenv the user is in: ``$VIRTUAL_ENV``, else ours if it is one."""
    if env := os.environ.get("VIRTUAL_ENV"):
        return Path(env)
    return Path(sys.prefix) if sys.prefix != sys.base_prefix else None


def freeze(venv: Path) -> tuple[tuple[str, ...], list[str]]:
    """The pinned packages of a virtualenv, and the lines left out (editable, URLs)."""
    python = venv / "bin" / "python"
    if not python.exists():
        raise CheckInputError(f"--venv {venv}: no bin/python there; name a virtualenv")
    from asgi_matrix.measure.backends.local.envs import uv_binary

    try:
        uv = uv_binary()
    except AsgiMatrixError:
        uv = "uv"
    commands = [[uv, "pip", "freeze", "--python", str(python)],
                [str(python), "-m", "pip", "freeze"]]
    for command in commands:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            break
    else:
        raise CheckInputError(f"--venv {venv}: could not list its packages (neither uv nor "
                              "its pip could)")
    kept: list[str] = []
    left: list[str] = []
    for line in done.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        (kept if re.match(r"^[A-Za-z0-9][\w.-]*==[\w.!+-]+$", line) else left).append(line)
    return tuple(kept), left


def headers(texts: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``--header "Name: value"`` (repeatable)."""
    out = []
    for text in texts:
        name, sep, value = text.partition(":")
        if not sep or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name.strip()):
            raise CheckInputError(f"--header {text!r}: use 'Name: value'")
        out.append((name.strip(), value.strip()))
    return tuple(out)


def plan(app: str, app_dir: Path, pairs: Sequence[tuple[str, tuple[str, ...]]],
         requirements: Path | None, venv: Path | None, use_venv: bool,
         header_texts: Sequence[str] = ()) -> tuple[Plan, list[str]]:
    """The plan, and notes for the user (what was left out of the requirements)."""
    reference = app_reference(app)
    folder = app_folder(reference, app_dir)
    notes: list[str] = []
    needs: tuple[str, ...] = ()
    source = ""
    if requirements is not None:
        needs, source = read_requirements(requirements), f"requirements file {requirements}"
    elif use_venv or venv is not None:
        found = venv or current_virtualenv()
        if found is None:
            raise CheckInputError("--venv: not in a virtualenv; name one (--venv PATH) or "
                                  "give --requirements FILE")
        needs, left = freeze(found)
        source = f"virtualenv {found}"
        if left:
            notes.append(f"left out of {found}'s packages (cannot be installed elsewhere): "
                         + ", ".join(left[:5]) + (" ..." if len(left) > 5 else ""))
    return Plan(app=reference, app_dir=folder, requests=requests_from(pairs),
                requirements=needs, requirements_from=source,
                headers=headers(header_texts)), notes
