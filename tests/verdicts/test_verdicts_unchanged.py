"""Re-judging recorded observations gives the verdicts recorded before the layout moved.

Issue #22 moves and renames modules and joins the two verdict models; it must not change
a verdict. The observations are recorded real runs: the scenarios of the controls and the
mainstream servers in ``tests/data/results-sample.json`` (14 configurations) and the
pattern starts in ``tests/verdicts/data/patterns-*.json``. Their verdicts (status,
explanation and evidence), facts and cell status, judged by the code before the move, are
in ``tests/verdicts/data/verdicts-before-move.json``; this test judges the same records
with today's code and compares. ``python tests/verdicts/test_verdicts_unchanged.py``
writes the recording again (only on purpose: when a verdict is meant to change).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.catalogue import pattern_catalogue
from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.verdicts.judge import attempt_verdicts, judge
from asgi_matrix.verdicts.pattern_verdicts import judge as judge_pattern
from asgi_matrix.verdicts.pattern_verdicts import needs

HERE = Path(__file__).parent
SAMPLE = HERE.parent / "data" / "results-sample.json"
STARTS = sorted((HERE / "data").glob("patterns-*.json"))
RECORDING = HERE / "data" / "verdicts-before-move.json"


def _cells() -> dict[str, Any]:
    cells: dict[str, Any] = json.loads(SAMPLE.read_text())["configurations"]
    return cells


def recorded_config(cell: dict[str, Any]) -> ServerConfig:
    """The configuration as the cell recorded it, not as today's catalogue has it (an
    entry that changes, e.g. uvicorn's extras, must not move a verdict of this test)."""
    return ServerConfig(cell["id"], cell["server"], tuple(cell["command"]),
                        tuple(cell["requires"]), kind=cell["kind"],
                        websocket=cell["declared"]["websocket"],
                        lifespan=cell["declared"]["lifespan"])


def judge_cell(config_id: str) -> dict[str, Any]:
    """The judged fields of one recorded cell: status, reason, facts, verdicts."""
    config = recorded_config(_cells()[config_id])
    attempts = _cells()[config_id]["attempts"]
    per_attempt = [attempt_verdicts(config, a["scenarios"]) for a in attempts]
    return judge(config, per_attempt, attempts[-1]["scenarios"])


def judge_start(path: Path) -> dict[str, Any]:
    """Every pattern's verdict on one recorded start (the patterns whose apps recorded)."""
    record = json.loads(path.read_text())
    served = {e.get("pattern") for e in record["events"]}
    return {p.id: judge_pattern(needs(p), record).to_json()
            for p in pattern_catalogue.load() if p.id in served}


def everything() -> dict[str, Any]:
    return {"properties": {c: judge_cell(c) for c in _cells()},
            "patterns": {p.stem: judge_start(p) for p in STARTS}}


RECORDED: dict[str, Any] = (json.loads(RECORDING.read_text()) if RECORDING.exists()
                            else {"properties": {}, "patterns": {}})


def test_the_recording_covers_the_controls_and_mainstream_servers() -> None:
    # A recording of nothing would compare nothing.
    assert {"control-multiloop", "control-broken", "uvicorn", "hypercorn", "daphne",
            "granian"} <= set(RECORDED["properties"])
    assert len(RECORDED["properties"]) == len(_cells()) == 14
    assert {"patterns-uvicorn", "patterns-control-multiloop",
            "patterns-frameworks-hypercorn"} <= set(RECORDED["patterns"])
    statuses = {v["status"] for cell in RECORDED["properties"].values()
                for v in cell["verdicts"].values()}
    assert {"pass", "fail"} <= statuses
    shapes = {v["status"] for start in RECORDED["patterns"].values() for v in start.values()}
    assert {"works", "breaks"} <= shapes


@pytest.mark.parametrize("config_id", sorted(_cells()))
def test_property_verdicts_are_unchanged(config_id: str) -> None:
    assert judge_cell(config_id) == RECORDED["properties"][config_id]


@pytest.mark.parametrize("start", STARTS, ids=lambda p: p.stem)
def test_pattern_verdicts_are_unchanged(start: Path) -> None:
    assert judge_start(start) == RECORDED["patterns"][start.stem]


def test_a_changed_observation_changes_the_comparison() -> None:
    # The comparison can fail: one request of uvicorn's main scenario made to fail
    # changes its verdicts.
    cells = _cells()
    config = recorded_config(cells["uvicorn"])
    scenarios = json.loads(json.dumps(cells["uvicorn"]["attempts"][-1]["scenarios"]))
    for request in scenarios["main"]["requests"]:
        request["status"] = 500
    judged = judge(config, [attempt_verdicts(config, scenarios)], scenarios)
    assert judged != RECORDED["properties"]["uvicorn"]


if __name__ == "__main__":
    RECORDING.write_text(json.dumps(everything(), indent=1, sort_keys=True) + "\n")
    sys.exit(0)
