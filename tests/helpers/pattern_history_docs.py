"""A results document with real hypercorn releases measured with the raw app patterns.

tests/data/hypercorn-history-patterns.json holds what the runner recorded for hypercorn
0.16.0, 0.17.3 and 0.18.0 (pattern cells, state verdicts, identities); the rest of each
cell is the recorded run's hypercorn cell.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from asgi_matrix.results import history as _history

from helpers.history_docs import SAMPLE

RECORDED: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "data" / "hypercorn-history-patterns.json").read_text())


def recorded_document(drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The recorded run plus the three hypercorn releases, as the runner writes them
    (``drop``: releases whose pattern cells are removed, as if measured without them)."""
    document = copy.deepcopy(SAMPLE)
    base = SAMPLE["configurations"]["hypercorn"]
    for config_id, recorded in RECORDED["configurations"].items():
        cell = {**copy.deepcopy(base), **copy.deepcopy(recorded)}
        cell.pop("attempts", None)
        cell["verdicts"] = {pid: {**verdict, **recorded["verdicts"].get(pid, {})}
                            for pid, verdict in base["verdicts"].items()}
        if config_id in drop:
            cell.pop("patterns")
        document["configurations"][config_id] = cell
    document["patterns"] = copy.deepcopy(RECORDED["patterns"])
    document["suite"] = {**document["suite"], **copy.deepcopy(RECORDED["suite"])}
    return _history.attach(document)
