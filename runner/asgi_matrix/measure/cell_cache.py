"""Measured release cells, kept so a release is measured once per probe suite.

What a server release does with the probe cannot change unless the release, its
environment's requirements, the interpreter, the backend or the probe suite changes;
those make the key (the suite: its version, the probe's hash, and a hash of the code that
drives the scenarios and traffic, whose observations the cell records). One JSON file
per key under ``<cache_root>/history/cells/``. A hit is returned marked
``"cached": true`` with the time it was measured; its verdicts are judged again from the
recorded observations, so a fix to a verdict's logic applies to cached releases without
running them again. ``force`` skips reading (but still writes).

A release measured with app patterns keys on them too: each pattern's code hash, and
the code that drives them. Their cells are judged again too, from the records of the
server starts that served them (``pattern_starts``), kept beside the scenarios. A
release measured without patterns keeps the key it always had.

Only configurations pinned to a release are cached, and only cells that say something
lasting: measured, or not run because the release cannot be installed here. Error
cells and interrupted ones are measured again next time.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.catalogue.pattern_catalogue import Pattern
from asgi_matrix.files import write_atomic
from asgi_matrix.resources import PACKAGE_DIR, cache_root
from asgi_matrix.results import document as _results
from asgi_matrix.verdicts.judge import attempt_verdicts, judge
from asgi_matrix.verdicts.pattern_verdicts import pattern_cells

LAYOUT = 1  #: bump when what a cached cell holds changes


def cache_dir() -> Path:
    return cache_root() / "history" / "cells"


@cache
def observers_sha256() -> str:
    """The code that makes the observations a cell records: scenarios and traffic."""
    digest = hashlib.sha256()
    for name in ("scenarios.py", "traffic.py"):
        digest.update((PACKAGE_DIR / "measure" / "drive" / name).read_bytes())
    return digest.hexdigest()[:16]


@cache
def pattern_observers_sha256() -> str:
    """The code that starts the servers for the patterns and drives their traffic."""
    path = PACKAGE_DIR / "measure" / "drive" / "pattern_starts.py"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def key_parts(config: ServerConfig, backend: str, repeat: int,
              suite: dict[str, Any] | None = None,
              patterns: Sequence[Pattern] = ()) -> dict[str, Any]:
    """Everything a release's measured cell depends on."""
    suite = suite or _results.suite()
    release = config.release
    with_patterns = ({"patterns": {p.id: p.code_sha256() for p in patterns},
                      "pattern_observers_sha256": pattern_observers_sha256(),
                      # how the patterns' app was made (catalogue factory), where it was
                      **({"factory": list(config.factory)} if config.factory else {})}
                     if patterns else {})
    return {**with_patterns, "layout": LAYOUT, "id": config.id,
            "release": release.to_json() if release else None,
            "requires": sorted(config.requires), "argv": list(config.argv),
            "kind": config.kind, "python_spec": config.python,
            "python": platform.python_version(), "machine": platform.machine(),
            "backend": backend, "repeat": repeat,
            "suite": {"version": suite["version"], "probe_sha256": suite["probe_sha256"],
                      "observers_sha256": suite.get("observers_sha256", observers_sha256())}}


def key(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


class CellCache:
    """The cell store the runner consults for configurations pinned to a release."""

    def __init__(self, backend: str, repeat: int = 1, force: bool = False,
                 root: Path | None = None, suite: dict[str, Any] | None = None) -> None:
        self.backend = backend
        self.repeat = repeat
        self.force = force
        self.root = root or cache_dir()
        self.suite = suite
        self.hits = 0
        self.stored = 0

    def _key(self, config: ServerConfig, patterns: Sequence[Pattern]) -> dict[str, Any]:
        return key_parts(config, self.backend, self.repeat, self.suite, patterns)

    def _path(self, config: ServerConfig, patterns: Sequence[Pattern]) -> Path:
        return self.root / f"{key(self._key(config, patterns))}.json"

    def get(self, config: ServerConfig,
            patterns: Sequence[Pattern] = ()) -> dict[str, Any] | None:
        """The cached cell for this release, marked as cached; None to measure it."""
        if self.force or config.release is None or config.unavailable:
            return None
        try:
            stored = json.loads(self._path(config, patterns).read_text())
            cell = stored["cell"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent, or unreadable: measure it again
        if not isinstance(cell, dict) or cell.get("id") != config.id:
            return None
        self.hits += 1
        cell = rejudge(config, cell, patterns)
        cell["cached"] = True
        cell["measured_at"] = stored.get("measured_at") or cell.get("measured_at") or ""
        return cell

    def put(self, config: ServerConfig, cell: dict[str, Any],
            patterns: Sequence[Pattern] = ()) -> None:
        """Keep a lasting cell; marks it with when it was measured."""
        if config.release is None or cell.get("cached") or cell.get("interrupted"):
            return
        cell.setdefault("measured_at", _results.now())
        if cell.get("status") not in ("measured", "not-run") or config.unavailable:
            return
        path = self._path(config, patterns)
        record = {"key": self._key(config, patterns),
                  "measured_at": cell["measured_at"], "cell": cell}
        try:
            write_atomic(path, json.dumps(record, default=repr))
            self.stored += 1
        except OSError:
            pass  # a cache that cannot be written only costs a measurement next time


def rejudge(config: ServerConfig, cell: dict[str, Any],
            patterns: Sequence[Pattern] = ()) -> dict[str, Any]:
    """The cell with its verdicts, facts and pattern cells judged again from its
    recorded observations."""
    attempts = cell.get("attempts")
    if cell.get("status") != "measured" or not attempts:
        return dict(cell)
    try:
        per_attempt = [attempt_verdicts(config, a["scenarios"]) for a in attempts]
        judged = {**cell, **judge(config, per_attempt, attempts[-1]["scenarios"])}
        if patterns and isinstance(cell.get("pattern_starts"), dict):
            judged["patterns"] = pattern_cells(patterns, cell["pattern_starts"])
        return judged
    except Exception:  # observations this suite cannot read: keep what was judged then
        return dict(cell)
