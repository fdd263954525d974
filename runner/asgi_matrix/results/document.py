"""The results document: one JSON file per run, validated against a JSON Schema.

Written atomically (a temporary file in the same folder, then rename), so an
interrupted run never leaves a truncated file, and rewritten after each
configuration completes, so what was measured before an interruption is kept.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from asgi_matrix import __version__
from asgi_matrix.exceptions import ResultsError
from asgi_matrix.resources import PROBE_FILE, RESULTS_SCHEMA, source_commit
from asgi_matrix.verdicts import PROPERTIES

SCHEMA_VERSION = 1
RESULTS_NAME = "results.json"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@cache
def suite() -> dict[str, Any]:
    """What measured: our version, commit, and a hash of the probe (results depend on it)."""
    import hashlib

    probe = hashlib.sha256(PROBE_FILE.read_bytes()).hexdigest()[:16]
    return {"name": "asgi-matrix", "version": __version__, "commit": source_commit(),
            "probe_sha256": probe}


def host() -> dict[str, Any]:
    return {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "os": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count()}


def new_document(run: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "suite": suite(), "run": run, "host": host(),
            "properties": {p.id: p.to_json() for p in PROPERTIES}, "configurations": {}}


def write_atomic(path: Path, document: dict[str, Any]) -> None:
    """Replace ``path`` with the document in one rename: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=1, default=repr)
            handle.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for publishing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(out_dir: Path) -> None:
    """Fail before measuring anything when the results could not be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".asgi-matrix-check-"):
            pass
    except OSError as err:
        raise ResultsError(f"cannot write results to {out_dir}: {err.strerror or err}") from err


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(RESULTS_SCHEMA.read_text())
    return loaded


def validate(document: Any, source: str = "results") -> None:
    if not isinstance(document, dict):
        raise ResultsError(f"{source}: not an asgi-matrix results document")
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultsError(f"{source}: results schema version {version!r}, this asgi-matrix "
                           f"reads version {SCHEMA_VERSION}")
    try:
        jsonschema.validate(document, schema())
    except jsonschema.ValidationError as err:
        at = "/".join(str(p) for p in err.absolute_path) or "(top)"
        raise ResultsError(f"{source}: not valid results at {at}: {err.message[:200]}") from err


def load(path: Path) -> dict[str, Any]:
    """Read and validate a results document; a folder means its results.json."""
    if path.is_dir():
        path = path / RESULTS_NAME
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file") from None
    except OSError as err:
        raise ResultsError(f"{path}: cannot read: {err.strerror or err}") from err
    except ValueError as err:
        raise ResultsError(f"{path}: not JSON (truncated or corrupt?): {err}") from err
    validate(document, str(path))
    return with_levels(document)


def with_levels(document: dict[str, Any]) -> dict[str, Any]:
    """Documents recorded before properties carried ``level`` and ``scenario`` get them
    from today's table, for the ids it still has (the facts did not change)."""
    current = {p.id: p for p in PROPERTIES}
    for prop_id, prop in (document.get("properties") or {}).items():
        if prop_id in current:
            prop.setdefault("level", current[prop_id].level)
            prop.setdefault("scenario", current[prop_id].scenario)
    return document
