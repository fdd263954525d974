"""The cell cache judges a cached cell again: its properties from the recorded scenarios,
its app patterns from the recorded server starts (``pattern_starts``), so a fix to a
verdict applies to cached releases without measuring them again. No server here: the
records are real ones (tests/data/results-sample.json, tests/verdicts/data)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from asgi_matrix.catalogue import pattern_catalogue
from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.catalogue.release_sets import Release
from asgi_matrix.measure.cell_cache import CellCache, rejudge
from asgi_matrix.verdicts.pattern_verdicts import judge, needs, pattern_cells

TESTS = Path(__file__).resolve().parents[1]
RAW = [p for p in pattern_catalogue.load() if p.start == "patterns"]
CONFIG = ServerConfig("uvicorn", "uvicorn", ("uvicorn",), kind="server")


def _cell() -> dict[str, Any]:
    """uvicorn's recorded cell, with the records of its raw patterns' start."""
    sample = json.loads((TESTS / "data" / "results-sample.json").read_text())
    cell: dict[str, Any] = sample["configurations"]["uvicorn"]
    start = json.loads((TESTS / "verdicts" / "data" / "patterns-uvicorn.json").read_text())
    cell["pattern_starts"] = {"patterns": {"patterns": [p.id for p in RAW], **start},
                              "django": {"patterns": ["django-asgi"],
                                         "not_started": "built for another loop library",
                                         "libraries": ["trio"]}}
    return cell


def test_a_pattern_cell_is_its_verdict_on_its_start() -> None:
    cell = _cell()
    cells = pattern_cells(RAW, cell["pattern_starts"])
    assert list(cells) == [p.id for p in RAW]
    for pattern in RAW:
        verdict = judge(needs(pattern), cell["pattern_starts"]["patterns"]).to_json()
        assert {k: cells[pattern.id][k] for k in verdict} == verdict
        assert cells[pattern.id]["start"] == "patterns"
    assert {c["status"] for c in cells.values()} >= {"works", "breaks"}


def test_a_start_not_made_gives_its_patterns_n_a_with_why() -> None:
    django = [p for p in pattern_catalogue.load() if p.id == "django-asgi"]
    cells = pattern_cells(django, _cell()["pattern_starts"])
    assert cells["django-asgi"]["status"] == "n/a"
    assert cells["django-asgi"]["explanation"] == "built for another loop library"
    assert cells["django-asgi"]["evidence"] == {"libraries": ["trio"]}


def test_rejudging_a_cached_cell_judges_its_patterns_again() -> None:
    cell = _cell()
    cell["patterns"] = {p.id: {"status": "works", "explanation": "judged by older code"}
                        for p in RAW}  # what an older suite judged
    again = rejudge(CONFIG, cell, RAW)
    assert again["patterns"] == pattern_cells(RAW, cell["pattern_starts"])
    assert again["patterns"] != cell["patterns"]
    assert again["verdicts"] == rejudge(CONFIG, _cell(), RAW)["verdicts"]


def test_a_cell_without_start_records_keeps_its_pattern_cells() -> None:
    cell = _cell()
    del cell["pattern_starts"]
    cell["patterns"] = {"global-resource": {"status": "works", "explanation": "kept"}}
    assert rejudge(CONFIG, copy.deepcopy(cell), RAW)["patterns"] == cell["patterns"]


def test_the_cache_returns_a_cell_judged_again(tmp_path: Path) -> None:
    pinned = ServerConfig("uvicorn-0.30.0", "uvicorn", ("uvicorn",),
                          release=Release("uvicorn", "uvicorn", "0.30.0"))
    cache = CellCache("local", root=tmp_path)
    cell = {**_cell(), "id": pinned.id, "measured_at": "2026-12-01T00:00:00Z"}
    stale = {p.id: {"status": "works", "explanation": "old"} for p in RAW}
    cache.put(pinned, {**cell, "patterns": stale}, RAW)
    got = cache.get(pinned, RAW)
    assert got is not None
    assert got["cached"] is True
    assert got["patterns"] == pattern_cells(RAW, cell["pattern_starts"])
