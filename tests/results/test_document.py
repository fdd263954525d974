"""Results carry each property's level and scenario; older documents get them on load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asgi_matrix.exceptions import ResultsError
from asgi_matrix.results import document as _results
from asgi_matrix.verdicts import PROPERTIES
from helpers.results_docs import sample


def test_a_new_document_carries_every_property_level_and_scenario():
    document = _results.new_document({})
    for prop in PROPERTIES:
        assert document["properties"][prop.id]["level"] == prop.level
        assert document["properties"][prop.id]["scenario"] == prop.scenario


def test_an_older_document_gets_levels_from_todays_table_and_a_bad_level_is_refused(
        tmp_path: Path):
    document = sample()
    for prop in document["properties"].values():
        prop.pop("level", None)
        prop.pop("scenario", None)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(document))
    loaded = _results.load(path)
    assert loaded["properties"]["shutdown.delivered.sigterm-group"]["scenario"] == "group"
    assert loaded["properties"]["lifespan.per-loop"]["level"] == "SHOULD"
    document["properties"]["lifespan.per-loop"]["level"] = "MAY"
    path.write_text(json.dumps(document))
    with pytest.raises(ResultsError, match=r"properties/lifespan\.per-loop/level"):
        _results.load(path)


# -- the partial document's text: cells encoded once, the same bytes ------------------------

def _reference(document: dict) -> str:
    return json.dumps(document, indent=1, default=repr, ensure_ascii=False)


def test_cells_encoded_once_give_the_same_text_as_the_whole_document() -> None:
    document = json.loads((Path(__file__).parents[1] / "data" / "results-sample.json")
                          .read_text())
    cells: _results.CellTexts = {}
    assert _results.encode(document, cells) == _reference(document)
    assert set(cells) == set(document["configurations"])
    assert _results.encode(document, cells) == _reference(document)  # from the texts


def test_a_cell_replaced_or_added_is_encoded_again() -> None:
    document = {"run": {"id": "r"}, "configurations": {"a": {"status": "measured"}}}
    cells: _results.CellTexts = {}
    _results.encode(document, cells)
    document["configurations"]["a"] = {"status": "error", "reason": "x\ny"}  # a new object
    document["configurations"]["b"] = {"status": "not-run", "verdicts": {}}
    assert _results.encode(document, cells) == _reference(document)
    document["configurations"] = {}
    assert _results.encode(document, cells) == _reference(document)


def test_a_cell_with_a_lone_surrogate_is_cleaned_alone() -> None:
    document = {"run": {}, "configurations": {"a": {"log_tail": "bad \udcff byte"},
                                               "b": {"log_tail": "fine"}}}
    text = _results.encode(document, {})
    assert text == _reference(_results._clean(document))
    text.encode()  # writable as UTF-8
