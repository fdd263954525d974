"""The pattern axis in results documents: schema, merge and diff carry it.

Documents are the recorded run with a pattern axis added the way a run writes it
(a top-level ``patterns`` map and a ``patterns`` map per configuration).
"""

from __future__ import annotations

from typing import Any

import pytest
from asgi_matrix.catalogue import pattern_catalogue as catalogue
from asgi_matrix.exceptions import ResultsError
from asgi_matrix.results import document as _results
from asgi_matrix.results.diff import diff
from asgi_matrix.results.merge import merge
from helpers.results_docs import config_ids, sample, shard, without_patterns

PATTERNS = {p.id: p for p in catalogue.load() if p.default}


def with_patterns(document: dict[str, Any], status: str = "works") -> dict[str, Any]:
    document["patterns"] = {pid: p.to_json() for pid, p in PATTERNS.items()}
    document["run"]["patterns"] = list(PATTERNS)
    for cell in document["configurations"].values():
        cell["patterns"] = {pid: {"status": status, "explanation": f"{status} here",
                                  "evidence": {"requests": 12}, "start": p.start,
                                  "seconds": 1.5, "command": ["python", "x"]}
                            for pid, p in PATTERNS.items()}
    return document


def test_a_document_with_the_pattern_axis_is_valid_and_a_bad_status_is_not():
    document = with_patterns(sample())
    _results.validate(document)
    first = next(iter(document["configurations"].values()))
    first["patterns"]["global-resource"]["status"] = "fine"
    with pytest.raises(ResultsError, match="patterns"):
        _results.validate(document)


def test_merge_keeps_the_pattern_axis_of_every_shard():
    ids = config_ids()
    shards = [(f"s{i}", with_patterns(shard(ids[i::2], f"run{i}"))) for i in range(2)]
    merged = merge(shards)
    assert set(merged["patterns"]) == set(PATTERNS)
    assert merged["run"]["patterns"] == list(PATTERNS)
    for cell in merged["configurations"].values():
        assert set(cell["patterns"]) == set(PATTERNS)


def test_diff_reports_a_pattern_that_broke_as_a_regression():
    old, new = with_patterns(sample()), with_patterns(sample())
    config = next(iter(new["configurations"]))
    new["configurations"][config]["patterns"]["global-resource"]["status"] = "breaks"
    result = diff(old, new)
    assert [(c.config, c.property, c.kind) for c in result.changes] == [
        (config, "pattern:global-resource", "regression")]
    back = diff(new, old)
    assert [c.kind for c in back.changes] == ["improvement"]


def test_diff_does_not_compare_patterns_when_one_run_lacks_the_axis():
    result = diff(without_patterns(sample()), with_patterns(sample()))
    assert result.changes == []
    assert any("app patterns" in note for note in result.notes)
