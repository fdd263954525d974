"""The pattern axis on the command line: list it, select from it, refuse a bad id in one line."""

from __future__ import annotations

from pathlib import Path

from helpers import cli, one_line_error


def test_list_patterns_marks_the_default_ones() -> None:
    done = cli("list", "--patterns")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("* taskgroup-runvar ") for line in lines)
    assert any(line.startswith("* litestar-headers ") for line in lines)  # a framework too


def test_an_unknown_pattern_is_one_line_before_anything_runs(tmp_path: Path) -> None:
    line = one_line_error(cli("run", "uvicorn", "--pattern", "nope", "--out", tmp_path),
                          code=2)
    assert "unknown pattern 'nope'" in line
    assert not (tmp_path / "results.json").exists()


def test_pattern_and_no_patterns_exclude_each_other(tmp_path: Path) -> None:
    line = one_line_error(cli("run", "uvicorn", "--pattern", "global-resource",
                              "--no-patterns", "--out", tmp_path), code=2)
    assert "exclude each other" in line
