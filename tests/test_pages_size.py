"""GitHub Pages' limits: 30 kept runs of the full default matrix and its history, as
``.github/scripts/pages.py assemble`` deploys them, stay under 500 MB and 100,000 files
(Pages allows 1 GB; a full dashboard per run was 34-46 MB in 4,436 files).

The runs are made from the recorded run (tests/data/results-sample.json): its measured
configurations copied under the ids of today's default matrix, every one measured, plus
a release cell for as many releases as every release set may hold (its ``newest N``),
each with the app patterns: more than a real run, which leaves some not run. The 29
older runs are as ``pages.py fetch`` leaves them (results.json and the page made when
each was new); the newest gets its dashboard.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from asgi_matrix.catalogue.load import Catalogue
from asgi_matrix.results.history import attach
from helpers import REPO
from helpers.results_docs import sample

KEEP_RUNS = 30
MAX_BYTES = 500 * 1024 * 1024
MAX_FILES = 100_000
BIN = Path(sys.executable).parent


def pages_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pages", REPO / ".github/scripts/pages.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def full_run(run_id: str) -> dict[str, Any]:
    """A run of every default configuration and every release the release sets may hold."""
    recorded = sample()
    measured = [c for c in recorded["configurations"].values() if c["status"] == "measured"]
    catalogue = Catalogue.load()
    configurations: dict[str, Any] = {}
    for n, config in enumerate(catalogue.select()):
        cell = copy.deepcopy(measured[n % len(measured)])
        configurations[config.id] = {**cell, "id": config.id, "server": config.server}
    uvicorn = recorded["configurations"]["uvicorn"]
    for series in (c for c in catalogue.configs if c.releases is not None):
        assert series.releases is not None
        for minor in range(series.releases.max or 40):
            version = f"0.{minor}.1"
            cell = copy.deepcopy(uvicorn)
            cell.pop("attempts", None)
            configurations[f"{series.id}@{version}"] = {
                **cell, "id": f"{series.id}@{version}", "server": series.server,
                "axes": {**cell["axes"], "release": version},
                "release": {"series": series.id, "package": series.server,
                            "version": version, "rule": series.releases.describe()}}
    recorded["configurations"] = configurations
    recorded["run"] = {**recorded["run"], "id": run_id, "selected": list(configurations)}
    return attach(recorded)


def tree(root: Path) -> tuple[int, int]:
    """(bytes, files) under ``root``."""
    size = files = 0
    for folder, _, names in os.walk(root):
        for name in names:
            size += os.path.getsize(os.path.join(folder, name))
            files += 1
    return size, files


@pytest.mark.timeout(1800)
def test_thirty_runs_of_the_full_matrix_fit_github_pages(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    if not (BIN / "asgi-matrix").exists():
        pytest.skip("asgi-matrix is not installed next to this Python")
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    pages = pages_module()
    newest, older = full_run("run30"), full_run("run29")
    (tmp_path / "merged.json").write_text(json.dumps(newest))
    one_older = tmp_path / "older.json"
    one_older.write_text(json.dumps(older))
    # what pages.py made for a run when it was new: its page, with what changed
    page = pages._run_page(one_older, ("run28", tmp_path / "merged.json"), newest=False)
    published = tmp_path / "published" / "runs"
    ids = [f"run{n}" for n in range(KEEP_RUNS - 1, 0, -1)]  # newest first
    for run_id in ids:
        folder = published / run_id
        folder.mkdir(parents=True)
        (folder / "results.json").symlink_to(one_older)  # 29 copies of one on disk
        (folder / "index.html").write_text(page)
    (published / "index.json").write_text(json.dumps(ids))
    out = tmp_path / "public"
    pages.assemble(tmp_path / "merged.json", tmp_path / "published", out, KEEP_RUNS,
                   "https://example.org/asgi-matrix")
    assert json.loads((out / "runs" / "index.json").read_text()) == ["run30", *ids]
    size, files = tree(out)
    dashboard = size - tree(out / "runs")[0] - tree(out / "latest")[0]
    print(f"\n{KEEP_RUNS} runs of {len(newest['configurations'])} configurations: "
          f"{size / 2**20:.1f} MiB in {files} files (the newest dashboard "
          f"{dashboard / 2**20:.1f} MiB; one run's results.json "
          f"{one_older.stat().st_size / 2**20:.1f} MiB)")
    assert size < MAX_BYTES, size
    assert files < MAX_FILES, files
    # Older runs keep their data and what changed, not a dashboard each.
    assert sorted(p.name for p in (out / "runs" / "run1").iterdir()) == [
        "index.html", "results.json.gz"]
    assert "An older run" in (out / "runs" / "run29" / "index.html").read_text()
    assert "This is the newest run" in (out / "runs" / "run30" / "index.html").read_text()
    assert (out / "index.html").is_file()
