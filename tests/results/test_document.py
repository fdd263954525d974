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
