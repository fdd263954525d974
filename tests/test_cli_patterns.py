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


def test_pattern_takes_several_values_in_one_option() -> None:
    from asgi_matrix.cli import _patterns

    def ids(*values: str) -> set[str]:
        return {p.id for p in _patterns(values, False)}

    assert ids("fastapi-app-state,django-asgi") == {"fastapi-app-state", "django-asgi"}
    assert ids("fastapi-app-state, lifespan-state") == ids("fastapi-app-state",
                                                          "lifespan-state")
    assert ids("lifespan-state") == {"lifespan-state"}


def test_run_help_states_the_exit_codes() -> None:
    from asgi_matrix.cli import cli
    from click.testing import CliRunner

    said = CliRunner().invoke(cli, ["run", "--help"]).output
    for code in ("0 ", "1 ", "2 ", "130 "):
        assert f"\n    {code}" in said, said


def test_list_has_a_header_the_python_and_the_version() -> None:
    from asgi_matrix.cli import cli
    from click.testing import CliRunner

    out = CliRunner().invoke(cli, ["list"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split() == ["id", "server", "kind", "loop", "workers", "threads",
                                "python", "version"]
    uvicorn = next(line for line in lines if line.split()[:2] == ["*", "uvicorn"])
    python = uvicorn.split()[7]
    assert python.count(".") == 2 or python == "none"  # 3.11.7, or "none here (...)"
    # the version the last run here resolved ("uvicorn 0.55.0 (resolved 2026-12-07)"), or
    # the newest, resolved when a run comes
    assert uvicorn.endswith("newest, resolved at the run") or "(resolved 20" in uvicorn
