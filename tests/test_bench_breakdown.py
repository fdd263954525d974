"""bench/_breakdown.py: the wall-time breakdown adds up to what the run recorded, and the
CPU floor is CPU / cores (read from a recorded run; the bench itself runs servers)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "tests" / "data" / "results-sample.json"


def _breakdown() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_breakdown", REPO / "bench" / "_breakdown.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_starts_phases_add_up_to_its_wall_time() -> None:
    phases = _breakdown().start_phases
    cells = json.loads(SAMPLE.read_text())["configurations"]
    records = [(name, r) for c in cells.values() for a in c.get("attempts", [])
               for name, r in a["scenarios"].items() if "wall_s" in r]
    assert records
    for name, record in records:
        split = phases(name, record)
        assert all(v >= 0 for v in split.values()), (name, split)
        # "other" is the rest; it is clamped at 0, so the waits alone never exceed the wall
        # by more than rounding
        assert sum(split.values()) >= record["wall_s"] - 0.01, (name, split)
        assert split["ready"] + split["stop"] + split["observe"] <= record["wall_s"] + 0.05


def test_the_waits_are_read_from_the_record_by_kind() -> None:
    phases = _breakdown().start_phases
    hang = phases("startup-hang", {"wall_s": 8.0, "signals": [{"seconds": 3.0},
                                                              {"seconds": 3.5}],
                                   "stop": {"seconds": 0.5}})
    assert hang == {"ready": 0.0, "stop": 0.5, "observe": 6.5, "other": 1.0}
    main = phases("main", {"wall_s": 4.0, "ready": {"seconds": 1.0}, "stop": {"seconds": 1.5}})
    assert main == {"ready": 1.0, "stop": 1.5, "observe": 0.0, "other": 1.5}


def test_the_breakdown_lists_every_measured_configuration_and_scenario() -> None:
    document = json.loads(SAMPLE.read_text())
    lines = _breakdown().breakdown(document)
    measured = [k for k, v in document["configurations"].items() if v.get("attempts")]
    for config_id in measured:
        assert any(line.startswith(f"{config_id} ") for line in lines), config_id
    assert any(line.startswith("startup-hang ") for line in lines)


def test_the_cpu_floor_is_cpu_over_cores() -> None:
    lines = _breakdown().cpu_lines(wall=30.0, own=4.0, children=16.0, cpus=2)
    assert "20.0 s / 2 cores = 10.0 s" in lines[1]
    assert "3.00× its CPU floor" in lines[1]
