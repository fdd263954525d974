"""The results document: one JSON file per run, validated against a JSON Schema.

A run writes ``results.partial.json`` after each configuration completes and puts it
in place of ``results.json`` only when the run finishes: an interrupted run keeps
both the last complete document and what it measured. Every write is atomic (see
asgi_matrix.files). Documents are checked when read for what their readers assume
beyond the schema: timestamps that parse and text that can be encoded.
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from asgi_matrix.exceptions import ResultsError
from asgi_matrix.files import write_atomic as write_file
from asgi_matrix.resources import PROBE_FILE, RESULTS_SCHEMA, VERSION, source_commit
from asgi_matrix.verdicts import PROPERTIES

SCHEMA_VERSION = 1
RESULTS_NAME = "results.json"
#: the document of a run in progress, or of one that did not finish
PARTIAL_NAME = "results.partial.json"
#: the partial document of the run before, kept when a new run starts
PREVIOUS_PARTIAL_NAME = "results.interrupted.json"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@cache
def suite() -> dict[str, Any]:
    """What measured: our version, commit, and a hash of the probe (results depend on it)."""
    import hashlib

    probe = hashlib.sha256(PROBE_FILE.read_bytes()).hexdigest()[:16]
    return {"name": "asgi-matrix", "version": VERSION, "commit": source_commit(),
            "probe_sha256": probe}


def pattern_hashes(document: dict[str, Any]) -> dict[str, str]:
    """pattern id -> the hash of the code that measured it (none for older documents)."""
    hashes: dict[str, str] = document["suite"].get("patterns_sha256") or {}
    return hashes


def mismatched_patterns(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Patterns both documents measured, with other code: their cells are not comparable.
    A pattern only one of them measured, or one without a hash, is not a mismatch."""
    ours, theirs = pattern_hashes(a), pattern_hashes(b)
    return [pid for pid in ours if pid in theirs and ours[pid] != theirs[pid]]


def host() -> dict[str, Any]:
    return {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "os": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count()}


def new_document(run: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "suite": suite(), "run": run, "host": host(),
            "properties": {p.id: p.to_json() for p in PROPERTIES}, "configurations": {}}


#: configuration id -> (the cell object, its text): what encode() already encoded
CellTexts = dict[str, tuple[Any, str]]


def write_atomic(path: Path, document: dict[str, Any], cells: CellTexts | None = None) -> None:
    """Replace ``path`` with the document in one rename: readers see old or new, never half.
    ``cells``: the texts of cells written before (see encode)."""
    write_file(path, encode(document, cells) + "\n")


def encode(document: dict[str, Any], cells: CellTexts | None = None) -> str:
    """The document's text (indent 1). With ``cells``, a configuration whose cell is the
    same object as last time keeps its text: the partial document is rewritten after
    every configuration, and encoding every cell again each time cost the runner more
    CPU than the servers it measured (the pure-Python encoder that indent needs, over a
    document that grows to tens of MB). The text is the same either way."""
    configurations = document.get("configurations")
    if cells is None or not isinstance(configurations, dict) or not configurations:
        return _dumps(document)
    parts = []
    for key, cell in configurations.items():
        known = cells.get(key)
        if known is None or known[0] is not cell:
            # a cell nested two levels deep: each of its lines indented by two more
            known = cells[key] = (cell, _dumps(cell).replace("\n", "\n  "))
        parts.append(f"  {_dumps(key)}: {known[1]}")
    placeholder = "\x00configurations\x00"
    head = _dumps({**document, "configurations": placeholder})
    return head.replace(_dumps(placeholder), "{\n" + ",\n".join(parts) + "\n }", 1)


def _dumps(value: Any) -> str:
    text = json.dumps(value, indent=1, default=repr, ensure_ascii=False)
    if not _encodable(text):  # a server's bytes as lone surrogates: keep the rest readable
        text = json.dumps(_clean(value), indent=1, default=repr, ensure_ascii=False)
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: Any) -> Any:
    """The value with each lone surrogate replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


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
    check_readable(document, source)


def check_readable(document: dict[str, Any], source: str) -> None:
    """What readers assume beyond the schema: timestamps parse, all text is encodable."""
    run = document["run"]
    stamps = [("run/started", run["started"]), ("run/finished", run["finished"])]
    stamps += [(f"run/shards/{i}/{key}", shard.get(key))
               for i, shard in enumerate(run.get("shards") or []) if isinstance(shard, dict)
               for key in ("started", "finished")]
    stamps += [(f"configurations/{cid}/measured_at", config.get("measured_at"))
               for cid, config in document["configurations"].items()]
    for at, stamp in stamps:
        if stamp is None:
            continue
        try:
            datetime.fromisoformat(stamp)
        except (TypeError, ValueError):
            raise ResultsError(f"{source}: not valid results at {at}: {str(stamp)[:60]!r} "
                               "is not an ISO 8601 time") from None
    if not _encodable(json.dumps(document, ensure_ascii=False)):
        raise ResultsError(f"{source}: not valid results at {_unencodable(document)}: text "
                           "with a lone surrogate (not Unicode text)")


def _unencodable(value: Any, at: str = "") -> str:
    """Where in ``value`` the first text that cannot be encoded is."""
    if isinstance(value, str):
        return "" if _encodable(value) else (at or "(top)")
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list) else ())
    for key, item in items:
        if isinstance(key, str) and not _encodable(key):
            return f"{at}/(a key)".lstrip("/")
        if where := _unencodable(item, f"{at}/{key}".lstrip("/")):
            return where
    return ""


def locate(path: Path) -> tuple[Path, str]:
    """The document a path stands for (a folder: its complete run, else its partial one)
    and a line saying which it is, for readers to show."""
    if not path.is_dir():
        return path, f"reading {path}"
    complete, partial = path / RESULTS_NAME, path / PARTIAL_NAME
    if complete.is_file():
        return complete, (f"reading {complete}, the last complete run"
                          + (f" ({partial} holds a run that did not finish)"
                             if partial.is_file() else ""))
    if partial.is_file():
        return partial, f"reading {partial}: a run that did not finish (no complete run here)"
    return complete, f"reading {complete}"


def state(document: dict[str, Any]) -> str:
    """complete, interrupted, or did not finish (killed, or still running)."""
    run = document["run"]
    if run.get("interrupted"):
        return "interrupted"
    return "complete" if run.get("finished") else "did not finish"


def load(path: Path) -> dict[str, Any]:
    """Read and validate a results document; a folder means the document ``locate`` finds."""
    path, _ = locate(path)
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
