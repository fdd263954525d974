"""The runner's own scheduling: order and how many at once (no server involved; the
fake backend only records the order the configurations reached it in)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.cli import cli
from asgi_matrix.measure import schedule
from asgi_matrix.measure.run import run_matrix
from click.testing import CliRunner

from tests.helpers import NoBackend


def _config(config_id: str, **fields: object) -> ServerConfig:
    return ServerConfig(id=config_id, server="s", argv=("{port}",), **fields)  # type: ignore[arg-type]


def test_more_loops_are_estimated_longer_and_a_harness_shorter() -> None:
    one = schedule.estimate_s(_config("one"))
    assert schedule.estimate_s(_config("workers2", workers=2)) > one
    assert schedule.estimate_s(_config("threads4", threads=4)) > \
        schedule.estimate_s(_config("workers2", workers=2))
    assert schedule.estimate_s(_config("one"), patterns=20) > one
    assert schedule.estimate_s(_config("harness", kind="harness")) < one


def test_longest_first_by_estimate_ties_keep_the_catalogue_order() -> None:
    configs = [_config("a"), _config("multi", threads=3), _config("b"), _config("w", workers=2)]
    assert [c.id for c in schedule.longest_first(configs, {})] == ["multi", "w", "a", "b"]


def test_a_recorded_duration_outranks_the_estimate() -> None:
    configs = [_config("multi", threads=3), _config("slow-single")]
    ordered = schedule.longest_first(configs, {"slow-single": 90.0, "multi": 30.0})
    assert [c.id for c in ordered] == ["slow-single", "multi"]
    # known for one only: the other keeps its estimate
    ordered = schedule.longest_first(configs, {"slow-single": 1.0})
    assert [c.id for c in ordered] == ["multi", "slow-single"]


def test_previous_durations_skip_cached_not_run_and_unreadable(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    assert schedule.previous_durations(results) == {}  # no earlier run
    results.write_text("{not json")
    assert schedule.previous_durations(results) == {}
    results.write_text(json.dumps({"configurations": {
        "measured": {"status": "measured", "seconds": 21.5},
        "error": {"status": "error", "seconds": 3.0},
        "cached": {"status": "measured", "seconds": 40.0, "cached": True},
        "not-run": {"status": "not-run", "seconds": 0.1},
        "no-seconds": {"status": "error"}}}))
    assert schedule.previous_durations(results) == {"measured": 21.5, "error": 3.0}


@pytest.mark.parametrize(("cpus", "load", "expected"), [
    (2, 0.0, 4),    # an idle 2-core machine: half a core each
    (2, 1.0, 2),
    (2, 25.0, 1),   # overloaded: still one
    (64, 0.0, schedule.AUTO_CAP),  # however many cores: the cap
    (1, 0.6, 1),
])
def test_auto_jobs_is_bounded_by_load_and_cap(cpus: int, load: float, expected: int) -> None:
    assert schedule.auto_jobs(cpus, load) == expected


def test_several_at_once_start_longest_first_and_one_at_a_time_keeps_the_order_given(
        tmp_path: Path) -> None:
    configs = [_config("short"), _config("multi", threads=3), _config("workers", workers=2)]
    assert [c.id for c in schedule.order(configs, {}, 0, jobs=2)] == [
        "multi", "workers", "short"]
    assert [c.id for c in schedule.order(configs, {"short": 99.0}, 0, jobs=2)] == [
        "short", "multi", "workers"]
    assert [c.id for c in schedule.order(configs, {}, 0, jobs=1)] == [
        "short", "multi", "workers"]
    backend = NoBackend(not_runnable="not here")
    _, document = run_matrix(configs, backend, tmp_path, jobs=1)
    assert backend.prepared == ["short", "multi", "workers"]
    assert list(document["configurations"]) == ["short", "multi", "workers"]


def test_jobs_option_accepts_a_number_or_auto_and_names_a_bad_value() -> None:
    bad = CliRunner().invoke(cli, ["run", "--jobs", "many", "--config", "uvicorn"])
    assert bad.exit_code == 2
    assert "'many' is neither a number nor 'auto'" in bad.output
    zero = CliRunner().invoke(cli, ["run", "--jobs", "0", "--config", "uvicorn"])
    assert zero.exit_code == 2
    assert "1<=x<=64" in zero.output
    # "auto" passes the option: the run goes on to the next check (the unknown id)
    auto = CliRunner().invoke(cli, ["run", "--jobs", "auto", "--config", "no-such-config"])
    assert auto.exit_code == 2
    assert "--jobs" not in auto.output
    assert "no-such-config" in auto.output
