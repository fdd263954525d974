"""Results documents for tests, derived from one recorded run (data/results-sample.json).

Variants are edits of a deep copy, so every test starts from real measurements and
changes only what it is about.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from asgi_matrix.results.document import with_levels

SAMPLE = Path(__file__).parents[1] / "data" / "results-sample.json"

Document = dict[str, Any]


@cache
def _recorded() -> Document:
    loaded: Document = with_levels(json.loads(SAMPLE.read_text()))  # as results.document.load does
    return loaded


def sample() -> Document:
    """A fresh copy of the recorded run, safe to edit."""
    return copy.deepcopy(_recorded())


def without_patterns(document: Document) -> Document:
    """The document as a run with --no-patterns (or one before the axis) writes it."""
    document.pop("patterns", None)
    document["run"].pop("patterns", None)
    for cell in document["configurations"].values():
        cell.pop("patterns", None)
    return document


def config_ids() -> list[str]:
    return list(_recorded()["configurations"])


def shard(ids: list[str], run_id: str, started: str | None = None,
          finished: str | None = None) -> Document:
    """The recorded run cut down to ``ids``, as if a shard had measured only those."""
    document = sample()
    document["configurations"] = {i: document["configurations"][i] for i in ids}
    run = document["run"]
    run.update(id=run_id, selected=list(ids))
    if started is not None:
        run["started"] = started
    if finished is not None:
        run["finished"] = finished
    return document


def set_status(document: Document, config_id: str, prop: str, status: str) -> None:
    document["configurations"][config_id]["verdicts"][prop]["status"] = status


def write(path: Path, document: Document) -> Path:
    path.write_text(json.dumps(document))
    return path
