"""Diffing two runs cell by cell: what got worse, better, unmeasurable, new or gone."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.cli import cli
from asgi_matrix.results.diff import RANK, CellChange, classify, diff, render_markdown, render_text
from click.testing import CliRunner
from helpers.results_docs import sample, set_status, write

ORDER = ["pass", "n/a", "unsupported", "flaky", "fail"]  # best first, as documented


@pytest.mark.parametrize(("old", "new", "kind"), [
    pytest.param("pass", "fail", "regression", id="pass-to-fail"),
    pytest.param("pass", "n/a", "regression", id="pass-to-na"),
    pytest.param("n/a", "unsupported", "regression", id="na-to-unsupported"),
    pytest.param("unsupported", "flaky", "regression", id="unsupported-to-flaky"),
    pytest.param("flaky", "fail", "regression", id="flaky-to-fail"),
    pytest.param("fail", "flaky", "improvement", id="fail-to-flaky"),
    pytest.param("unsupported", "pass", "improvement", id="unsupported-to-pass"),
    pytest.param("pass", "error", "became-error", id="pass-to-error"),
    pytest.param("fail", "error", "became-error", id="fail-to-error-is-not-an-improvement"),
    pytest.param("error", "fail", "recovered", id="error-to-fail-is-not-a-regression"),
    pytest.param("error", "pass", "recovered", id="error-to-pass"),
    pytest.param("pass", "pass", None, id="unchanged"),
    pytest.param("error", "error", None, id="still-error"),
])
def test_classify(old: str, new: str, kind: str | None) -> None:
    assert classify(old, new) == kind


def test_the_order_is_total_and_as_documented() -> None:
    assert sorted(RANK, key=RANK.__getitem__, reverse=True) == ORDER
    for better, worse in itertools.combinations(ORDER, 2):
        assert classify(better, worse) == "regression"
        assert classify(worse, better) == "improvement"


def test_identical_runs_have_no_changes() -> None:
    result = diff(sample(), sample())
    assert result.empty
    assert render_text(result).endswith("no changes")
    assert "No verdict changed." in render_markdown(result)


def edited() -> tuple[dict, dict]:
    """Two runs that differ in every way the diff reports."""
    old, new = sample(), sample()
    new["run"]["id"] = "0123456789ab"
    set_status(new, "granian", "lifespan.supported", "fail")              # regression
    set_status(new, "granian", "startup-failure.exits-nonzero", "flaky")  # regression
    set_status(new, "uvicorn", "context.propagates", "pass")              # improvement
    set_status(new, "daphne", "lifespan.per-loop", "error")               # became error
    set_status(old, "hypercorn", "state.supported", "error")              # recovered
    del new["configurations"]["hypercorn-trio"]["verdicts"]["state.shallow-copy"]
    new["configurations"]["hypercorn-trio"]["verdicts"]["extra.prop"] = {
        "status": "pass", "explanation": "new property"}
    del new["configurations"]["granian-mt2"]
    new["configurations"]["granian-mt4"] = {**old["configurations"]["granian-mt2"],
                                            "id": "granian-mt4"}
    return old, new


def test_every_kind_of_change_is_found() -> None:
    result = diff(*edited())
    assert result.changes == [
        CellChange("uvicorn", "context.propagates", "improvement", "fail", "pass"),
        CellChange("hypercorn", "state.supported", "recovered", "error", "pass"),
        CellChange("hypercorn-trio", "state.shallow-copy", "removed", "pass", None),
        CellChange("hypercorn-trio", "extra.prop", "new", None, "pass"),
        CellChange("daphne", "lifespan.per-loop", "became-error", "unsupported", "error"),
        CellChange("granian", "lifespan.supported", "regression", "pass", "fail"),
        CellChange("granian", "startup-failure.exits-nonzero", "regression", "pass", "flaky"),
    ]
    assert result.configs_added == ["granian-mt4"]
    assert result.configs_removed == ["granian-mt2"]
    assert len(result.regressions) == 2
    assert result.notes == []
    assert result.incomplete == ["configurations missing from the new run: granian-mt2"]


def test_text_is_grouped_by_configuration() -> None:
    text = render_text(diff(*edited()))
    assert text.splitlines()[:5] == [
        f"asgi-matrix diff: run {sample()['run']['id']} -> run 0123456789ab",
        "incomplete: configurations missing from the new run: granian-mt2",
        "2 regressions, 1 improvement, 1 became error, 1 recovered from error, 1 new cell, "
        "1 removed cell",
        "configurations added: granian-mt4",
        "configurations removed: granian-mt2",
    ]
    granian = text.split("\n\ngranian\n")[1].splitlines()
    assert granian == [
        "  regression            lifespan.supported             pass -> fail",
        "  regression            startup-failure.exits-nonzero  pass -> flaky",
    ]
    assert "\n\nhypercorn-trio\n  removed cell" in text
    assert "  new cell              extra.prop          - -> pass" in text


def test_markdown_for_a_job_summary() -> None:
    markdown = render_markdown(diff(*edited()))
    assert markdown.startswith("### asgi-matrix: run `0123456789ab` compared with "
                               f"`{sample()['run']['id']}`\n")
    assert "**2 regressions, 1 improvement," in markdown
    assert "Configurations added: `granian-mt4`" in markdown
    section = markdown.split("#### `granian`\n")[1].strip().split("\n\n")[0]
    assert section.splitlines() == [
        "| | change | property | before | after |",
        "|---|---|---|---|---|",
        "| 🔴 | regression | `lifespan.supported` | pass | fail |",
        "| 🔴 | regression | `startup-failure.exits-nonzero` | pass | flaky |",
    ]
    assert "| ⚠️ | became error | `lifespan.per-loop` | unsupported | error |" in markdown


def test_markdown_escapes_what_would_break_a_table() -> None:
    old, new = sample(), sample()
    verdicts = new["configurations"]["uvicorn"]["verdicts"]
    verdicts["a|b`c"] = {"status": "pass", "explanation": ""}
    assert "| ➕ | new cell | `a\\|b'c` | – | pass |" in render_markdown(diff(old, new))


def test_another_suite_is_noted() -> None:
    old, new = sample(), sample()
    new["suite"]["probe_sha256"] = "ffffffffffffffff"
    result = diff(old, new)
    assert result.notes == [f"probe hash changed ({old['suite']['probe_sha256']} -> "
                            "ffffffffffffffff): some changes may come from the suite, not "
                            "the servers"]
    assert f"note: {result.notes[0]}" in render_text(result)
    assert f"> **Note:** {result.notes[0]}" in render_markdown(result)


# The command line.

@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    old, new = edited()
    return str(write(tmp_path / "old.json", old)), str(write(tmp_path / "new.json", new))


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_text_by_default_exits_0_despite_regressions(files: tuple[str, str]) -> None:
    code, stdout, _ = run_cli("diff", *files)
    assert code == 0
    assert stdout == render_text(diff(*edited())) + "\n"


def test_cli_fails_on_regression_when_asked(files: tuple[str, str]) -> None:
    code, stdout, _ = run_cli("diff", "--fail-on-regression", "--format", "markdown", *files)
    assert code == 1
    assert stdout.startswith("### asgi-matrix")


def test_cli_errors_alone_do_not_fail(tmp_path: Path) -> None:
    old, new = sample(), sample()
    set_status(new, "uvicorn", "lifespan.supported", "error")
    paths = [str(write(tmp_path / n, d)) for n, d in (("o.json", old), ("n.json", new))]
    code, stdout, _ = run_cli("diff", "--fail-on-regression", *paths)
    assert code == 0
    assert "became error" in stdout


def test_cli_json(files: tuple[str, str]) -> None:
    code, stdout, _ = run_cli("diff", "--format", "json", *files)
    assert code == 0
    data = json.loads(stdout)
    assert data["counts"]["regression"] == 2
    assert data["changes"][0] == {"config": "uvicorn", "property": "context.propagates",
                                  "kind": "improvement", "old": "fail", "new": "pass"}


def test_cli_unreadable_results_exit_2_with_one_line(files: tuple[str, str],
                                                      tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": 1, "suite"')
    code, _, stderr = run_cli("diff", files[0], str(broken), "--fail-on-regression")
    assert code == 2
    assert stderr.startswith(f"asgi-matrix: {broken}: not JSON (truncated or corrupt?)")
    assert stderr.count("\n") == 1


def test_module_entry_point_exit_code(files: tuple[str, str]) -> None:
    # Through the real entry point, as CI runs it: the exit code is the contract.
    done = subprocess.run([sys.executable, "-m", "asgi_matrix", "diff", "--fail-on-regression",
                           *files], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "regression" in done.stdout


def test_summary_counts_regressions_even_when_none() -> None:
    old, new = sample(), sample()
    set_status(new, "uvicorn", "context.propagates", "pass")
    assert render_text(diff(old, new)).splitlines()[1] == "0 regressions, 1 improvement"


def _incomplete(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> tuple[int, str]:
    old, new = sample(), sample()
    change(new)
    paths = [str(write(tmp_path / n, d)) for n, d in (("o.json", old), ("n.json", new))]
    code, stdout, stderr = run_cli("diff", "--fail-on-regression", *paths)
    assert "incomplete: " in stdout
    return code, stderr


@pytest.mark.parametrize(("change", "reason"), [
    pytest.param(lambda d: d["configurations"].clear(), "has no configurations", id="empty"),
    pytest.param(lambda d: d["run"].update(interrupted=True), "was interrupted",
                 id="interrupted"),
    pytest.param(lambda d: d["run"].update(finished=None), "did not finish", id="killed"),
    pytest.param(lambda d: d["configurations"].pop("daphne"),
                 "configurations missing from the new run: daphne", id="vanished"),
])
def test_cli_fails_when_the_new_run_cannot_vouch_for_its_cells(
        tmp_path: Path, change: Callable[[dict[str, Any]], None], reason: str) -> None:
    code, stderr = _incomplete(tmp_path, change)
    assert code == 1
    assert reason in stderr


def test_without_the_flag_an_incomplete_run_is_only_reported(tmp_path: Path) -> None:
    old, new = sample(), sample()
    new["run"]["interrupted"] = True
    paths = [str(write(tmp_path / n, d)) for n, d in (("o.json", old), ("n.json", new))]
    code, stdout, _ = run_cli("diff", *paths)
    assert code == 0
    assert "incomplete: the new run was interrupted" in stdout
