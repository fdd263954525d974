"""A short real history, end to end: uvicorn 0.20.0 and 0.21.1 through the command line.

uvicorn added lifespan state (``scope["state"]``) in 0.21: the history must show
state.supported changing from unsupported to pass there, from real servers. A yanked
release in the same run is "not run" with the index's reason. The same run again takes
both releases from the history cache; ``--force`` measures again.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.report import site as _site
from asgi_matrix.results import document as _results
from helpers import cli, no_processes_tagged

pytestmark = pytest.mark.servers

RELEASES = ["uvicorn-history@0.20.0", "uvicorn-history@0.21.1", "uvicorn-history@0.17.0"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cache = tmp_path_factory.mktemp("cache")  # cold: no environment, no cached cell
    tag = f"history-{uuid.uuid4().hex[:8]}"
    env = {"ASGI_MATRIX_CACHE": str(cache), "ASGI_MATRIX_RUN": tag}
    found: dict[str, Any] = {"tag": tag}
    for name, extra in (("first", []), ("again", []), ("forced", ["--force"])):
        out = tmp_path_factory.mktemp(name)
        ids = RELEASES[:1] if name == "forced" else RELEASES
        start = time.monotonic()
        done = cli("run", *ids, *extra, "--out", str(out), env=env)
        assert done.returncode == 0, done.stderr
        found[name] = _results.load(out)  # validates, history section included
        found[f"{name}_s"] = time.monotonic() - start
        found[f"{name}_stderr"] = done.stderr
    return found


def statuses(document: dict[str, Any], config_id: str) -> dict[str, str]:
    verdicts = document["configurations"][config_id]["verdicts"]
    return {k: v["status"] for k, v in verdicts.items()}


def test_each_release_ran_in_its_own_environment_pinned(runs: dict[str, Any]) -> None:
    cells = runs["first"]["configurations"]
    assert list(cells) == RELEASES  # releases named one by one keep the order given
    for version in ("0.20.0", "0.21.1"):
        cell = cells[f"uvicorn-history@{version}"]
        assert cell["status"] == "measured"
        assert cell["versions"]["uvicorn"] == version
        assert cell["axes"]["release"] == version
        assert cell["requires"][0] == f"uvicorn=={version}"
    envs = {cells[f"uvicorn-history@{v}"]["provenance"]["environment"]
            for v in ("0.20.0", "0.21.1")}
    assert len(envs) == 2


def test_lifespan_state_appears_in_uvicorn_0_21(runs: dict[str, Any]) -> None:
    first = runs["first"]
    assert statuses(first, "uvicorn-history@0.20.0")["state.supported"] == "unsupported"
    assert statuses(first, "uvicorn-history@0.21.1")["state.supported"] == "pass"
    series = first["history"]["series"]["uvicorn-history"]
    state = series["properties"]["state.supported"]
    assert state["summary"] == "pass since 0.21.1"
    assert state["changes"][0]["previous"] == "0.20.0"
    assert state["changes"][0]["exact"] is True
    assert series["properties"]["lifespan.supported"]["summary"] == (
        "pass in every release measured (0.20.0 to 0.21.1)")


def test_a_yanked_release_is_not_run_with_the_reason(runs: dict[str, Any]) -> None:
    cell = runs["first"]["configurations"]["uvicorn-history@0.17.0"]
    assert cell["status"] == "not-run"
    assert cell["reason"] == ("uvicorn 0.17.0 was yanked from the package index "
                              "(Needs `python_requires` specifier)")
    assert "error cells" not in runs["first_stderr"]


def test_the_same_run_again_comes_from_the_cache(runs: dict[str, Any]) -> None:
    first, again = runs["first"], runs["again"]
    for version in ("0.20.0", "0.21.1"):
        config_id = f"uvicorn-history@{version}"
        cell = again["configurations"][config_id]
        assert cell["cached"] is True
        assert cell["measured_at"] == first["configurations"][config_id]["measured_at"]
        assert statuses(again, config_id) == statuses(first, config_id)
    assert again["history"]["series"]["uvicorn-history"]["properties"] == (
        first["history"]["series"]["uvicorn-history"]["properties"])
    assert runs["again_s"] < runs["first_s"] / 2, (runs["again_s"], runs["first_s"])
    assert "cached from" in runs["again_stderr"]


def test_force_measures_again(runs: dict[str, Any]) -> None:
    cell = runs["forced"]["configurations"]["uvicorn-history@0.20.0"]
    assert "cached" not in cell
    before = runs["first"]["configurations"]["uvicorn-history@0.20.0"]["measured_at"]
    assert cell["measured_at"] >= before
    assert "history cache ignored (--force)" in runs["forced_stderr"]


def test_no_server_outlives_the_runs(runs: dict[str, Any]) -> None:
    assert no_processes_tagged(runs["tag"]) == []  # a killed process is gone a moment later


def test_the_dashboard_shows_the_real_history(runs: dict[str, Any], tmp_path: Path) -> None:
    files = _site.render(runs["first"])
    page = files["history/uvicorn-history.html"]
    assert "pass since 0.21.1" in page
    assert "uvicorn 0.17.0 was yanked from the package index" in page
    assert "pass since 0.21.1" in files["index.html"]
