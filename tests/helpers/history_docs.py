"""Results documents with releases in them: fake cells made from the recorded run."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from asgi_matrix.results.history import attach

SAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "data" / "results-sample.json").read_text())


def release_cell(series: str, version: str, statuses: dict[str, str] | None,
                 reason: str | None = None) -> dict[str, Any]:
    """A configuration cell as the runner writes it for one release (fake verdicts)."""
    base = copy.deepcopy(SAMPLE["configurations"]["uvicorn"])
    cell = {**base, "id": f"{series}@{version}",
            "axes": {**base["axes"], "release": version},
            "release": {"series": series, "package": "uvicorn", "version": version,
                        "rule": "uvicorn since 0.18, latest patch of each minor"}}
    cell.pop("attempts", None)
    cell.pop("patterns", None)  # measured with the server properties only
    if statuses is None:
        cell.update(status="not-run", reason=reason, verdicts={})
        for key in ("command", "versions", "facts", "log_tail"):
            cell.pop(key, None)
        return cell
    cell["versions"] = {**base["versions"], "uvicorn": version}
    cell["verdicts"] = {pid: {**verdict, "status": statuses.get(pid, verdict["status"])}
                        for pid, verdict in base["verdicts"].items()}
    return cell


def history_document() -> dict[str, Any]:
    """The recorded run plus four uvicorn releases: state appears in 0.21.1, one not run."""
    document = copy.deepcopy(SAMPLE)
    unsupported = {"state.supported": "unsupported", "state.shallow-copy": "unsupported"}
    cells = [release_cell("uvicorn-history", "0.30.6", {}),
             release_cell("uvicorn-history", "0.21.1", {}),
             release_cell("uvicorn-history", "0.20.0", unsupported),
             release_cell("uvicorn-history", "0.17.0", None,
                          "uvicorn 0.17.0 was yanked from the package index"),
             release_cell("uvicorn-history", "0.18.3", unsupported)]
    for cell in cells:
        document["configurations"][cell["id"]] = cell
    return attach(document)  # as the runner writes it
