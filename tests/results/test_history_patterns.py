"""App patterns across server releases, and the pattern code in the suite hash.

History documents are built from real hypercorn releases measured with the raw patterns
(tests/data/hypercorn-history-patterns.json: 0.16.0 has no lifespan state, 0.17.3 shares
one state dict per kept-alive connection, 0.18.0 copies it per request), on top of the
recorded run's hypercorn cell. No server is started here.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.catalogue import pattern_catalogue as catalogue
from asgi_matrix.catalogue import selection as _selection
from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.catalogue.release_sets import ReleaseSet
from asgi_matrix.catalogue.selection import Resolved
from asgi_matrix.cli import cli
from asgi_matrix.exceptions import ResultsError
from asgi_matrix.measure.cell_cache import CellCache, key_parts
from asgi_matrix.measure.run import run_matrix
from asgi_matrix.resources import PROBES_DIR
from asgi_matrix.results import document as _results
from asgi_matrix.results import history as _history
from asgi_matrix.results.diff import diff
from asgi_matrix.results.merge import merge
from click.testing import CliRunner
from helpers import NoBackend
from helpers.history_docs import history_document
from helpers.pattern_history_docs import RECORDED, recorded_document
from helpers.results_docs import config_ids, shard, write

PATTERNS = {p.id: p for p in catalogue.load()}
SUITE = {"version": "0.1.0", "probe_sha256": "0123456789abcdef"}


def series(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = document["history"]["series"]["hypercorn-history"]
    return found


# -- the history section ----------------------------------------------------------------

def test_lifespan_state_works_since_hypercorn_0_18_as_measured() -> None:
    document = recorded_document()
    _results.validate(document)  # the schema takes pattern tracks
    track = series(document)["patterns"]["lifespan-state"]
    assert track["statuses"] == ["breaks", "breaks", "works"]
    assert track["summary"] == "works since 0.18.0"
    [change] = track["changes"]
    assert (change["previous"], change["version"], change["from"], change["to"],
            change["kind"], change["exact"]) == ("0.17.3", "0.18.0", "breaks", "works",
                                                 "since", True)
    # the server property that explains it changed in the same release, as measured
    cells = RECORDED["configurations"]
    assert [cells[f"hypercorn-history@{v}"]["verdicts"]["state.isolated-keepalive"]["status"]
            for v in ("0.17.3", "0.18.0")] == ["fail", "pass"]


def test_patterns_that_never_changed_say_so_and_are_not_listed_as_changed() -> None:
    entry = series(recorded_document())
    assert entry["patterns"]["contextvar-resource"]["summary"] == (
        "breaks in every release measured (0.16.0 to 0.18.0)")
    assert entry["patterns"]["taskgroup-runvar"]["summary"] == (
        "works in every release measured (0.16.0 to 0.18.0)")
    assert _history.changed(entry, "patterns") == ["lifespan-state"]
    assert _history.diff(entry, "0.17.3", "0.18.0", "patterns") == [
        {"property": "lifespan-state", "old": "breaks", "new": "works"}]
    assert _history.diff(entry, "0.16.0", "0.17.3", "patterns") == []


def test_pattern_tracks_keep_the_catalogue_order() -> None:
    entry = series(recorded_document())
    assert list(entry["patterns"]) == list(RECORDED["patterns"])


def test_a_release_measured_without_patterns_is_a_gap_not_a_change() -> None:
    track = series(recorded_document(drop=("hypercorn-history@0.17.3",)))["patterns"][
        "lifespan-state"]
    assert track["statuses"] == ["breaks", None, "works"]
    [change] = track["changes"]
    assert (change["previous"], change["version"]) == ("0.16.0", "0.18.0")
    assert change["exact"] is False
    assert change["unmeasured_between"] == ["0.17.3"]


def test_no_release_with_patterns_no_patterns_section() -> None:
    document = history_document()  # releases measured with the server properties only
    assert "patterns" not in document["history"]["series"]["uvicorn-history"]
    _results.validate(document)


def test_works_and_breaks_read_like_pass_and_fail() -> None:
    axis = _history.AXES["patterns"]
    assert _history.collapse([("1", "works"), ("2", "breaks")], axis)["summary"] == "broke in 2"
    assert (_history.collapse([("1", "works"), ("2", "n/a")], axis)["summary"]
            == "broke in 2 (n/a)")
    got = _history.collapse([("1", "works"), ("2", "breaks"), ("3", "error"), ("4", "works")],
                            axis)
    assert got["summary"] == "broke in 2, fixed in 4"
    assert [c["kind"] for c in got["changes"]] == ["broke", "fixed"]
    # a property's collapse is unchanged: "works" there is no pass
    assert _history.collapse([("1", "pass"), ("2", "fail")])["summary"] == "broke in 2"


def test_the_schema_refuses_a_bad_pattern_track_and_takes_another_axis() -> None:
    document = recorded_document()
    other = copy.deepcopy(document)
    track = series(other)["patterns"]["lifespan-state"]
    other_axis = {"some-app": copy.deepcopy(track)}
    series(other)["frameworks-next-year"] = other_axis  # a new axis: the same tracks
    _results.validate(other)
    track["statuses"][0] = "fine"
    with pytest.raises(ResultsError, match="history"):
        _results.validate(other)


# -- the pattern code in the suite ------------------------------------------------------

@pytest.fixture
def probes(tmp_path: Path) -> Path:
    copied = tmp_path / "probes"
    shutil.copytree(PROBES_DIR / "patterns", copied / "patterns")
    shutil.copytree(PROBES_DIR / "frameworks", copied / "frameworks")
    return copied


def _hashes(probes: Path) -> dict[str, str]:
    return {pid: p.code_sha256(probes) for pid, p in PATTERNS.items()}


def test_the_code_hash_covers_each_module_the_kit_and_the_dispatcher(probes: Path) -> None:
    before = _hashes(probes)
    assert before == {pid: p.code_sha256() for pid, p in PATTERNS.items()}  # the shipped files
    with (probes / "patterns" / "lifespan_state.py").open("a") as f:
        f.write("\n# changed\n")
    after = _hashes(probes)
    assert [pid for pid in before if before[pid] != after[pid]] == ["lifespan-state"]
    with (probes / "patterns" / "dispatch.py").open("a") as f:
        f.write("\n# changed\n")
    dispatched = _hashes(probes)
    assert all(after[pid] != dispatched[pid] for pid in PATTERNS)  # frameworks mounted too
    with (probes / "patterns" / "_kit.py").open("a") as f:
        f.write("\n# changed\n")
    kit = _hashes(probes)
    assert all(kit[pid] != dispatched[pid] for pid in PATTERNS)  # frameworks record through it


def test_a_framework_hash_follows_its_own_module(probes: Path) -> None:
    before = _hashes(probes)
    with (probes / "frameworks" / "litestar_app.py").open("a") as f:
        f.write("\n# changed\n")
    after = _hashes(probes)
    assert {pid for pid in before if before[pid] != after[pid]} == {"litestar-state",
                                                                    "litestar-headers"}


def _pattern_shards(hashes: list[dict[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    ids = config_ids()
    shards = []
    for i, found in enumerate(hashes):
        document = shard(ids[i::len(hashes)], f"{i:012d}", "2026-12-01T01:00:00+00:00",
                         "2026-12-01T01:10:00+00:00")
        document["suite"] = {**document["suite"], "patterns_sha256": found}
        shards.append((f"{'ab'[i]}.json", document))
    return shards


def test_merge_refuses_one_pattern_measured_by_two_versions_of_its_code() -> None:
    shards = _pattern_shards([{"lifespan-state": "1111", "global-resource": "2222"},
                              {"lifespan-state": "9999", "global-resource": "2222"}])
    with pytest.raises(ResultsError, match=r"cannot merge a.json and b.json: the code of "
                                           r"pattern 'lifespan-state' differs \('1111' vs "
                                           r"'9999'\)"):
        merge(shards)


def test_the_command_refuses_it_in_one_line(tmp_path: Path) -> None:
    shards = _pattern_shards([{"lifespan-state": "1111"}, {"lifespan-state": "9999"}])
    files = [str(write(tmp_path / name, document)) for name, document in shards]
    result = CliRunner().invoke(cli, ["merge", *files, "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1
    assert result.stderr == (f"asgi-matrix: cannot merge {files[0]} and {files[1]}: the code "
                             "of pattern 'lifespan-state' differs ('1111' vs '9999')\n")
    assert not (tmp_path / "m.json").exists()


def test_merge_keeps_every_shards_pattern_hashes_when_they_agree() -> None:
    shards = _pattern_shards([{"lifespan-state": "1111"},
                              {"lifespan-state": "1111", "litestar-headers": "3333"}])
    merged = merge(shards)
    assert merged["suite"]["patterns_sha256"] == {"lifespan-state": "1111",
                                                  "litestar-headers": "3333"}


def test_diff_says_when_a_patterns_code_changed() -> None:
    old, new = recorded_document(), recorded_document()
    assert not any("pattern" in n for n in diff(old, new).notes)
    new["suite"]["patterns_sha256"]["lifespan-state"] = "0000000000000000"
    notes = diff(old, new).notes
    assert any("code of pattern(s) lifespan-state changed" in n for n in notes), notes


# -- which patterns a release measures, and the cache ---------------------------------

def test_releases_measure_the_raw_patterns_unless_some_are_named() -> None:
    every = list(PATTERNS.values())
    assert catalogue.for_releases(every, named=False) == [p for p in every if p.raw]
    named = [PATTERNS["lifespan-state"], PATTERNS["litestar-headers"]]
    assert catalogue.for_releases(named, named=True) == named


def config_for(version: str) -> ServerConfig:
    base = ServerConfig(id="hypercorn-history", server="hypercorn",
                        argv=("{python}", "-m", "hypercorn", "-b", "{host}:{port}", "{app}"),
                        requires=("hypercorn",),
                        releases=ReleaseSet("hypercorn", versions=(version,)))
    [config] = _selection.expand(base, [Resolved(version, "")])
    return config


def test_the_cache_key_follows_the_patterns_a_release_measured() -> None:
    config = config_for("0.18.0")
    plain = key_parts(config, "local", 1, SUITE)
    assert "patterns" not in plain  # releases measured without patterns keep their keys
    raw = catalogue.for_releases(list(PATTERNS.values()), named=False)
    with_raw = key_parts(config, "local", 1, SUITE, raw)
    assert with_raw["patterns"] == {p.id: p.code_sha256() for p in raw}
    assert with_raw["pattern_observers_sha256"]
    assert key_parts(config, "local", 1, SUITE, raw[:1]) != with_raw
    # served through an app factory (the catalogue's factory): another measurement
    assert "factory" not in with_raw
    assert key_parts(dataclasses.replace(config, factory=("--factory",)), "local", 1, SUITE,
                     raw)["factory"] == ["--factory"]


def test_a_run_takes_a_release_with_its_patterns_from_the_cache(tmp_path: Path) -> None:
    config = config_for("0.18.0")
    raw = catalogue.for_releases(list(PATTERNS.values()), named=False)
    cell = recorded_document()["configurations"]["hypercorn-history@0.18.0"]
    cell.pop("cached", None)
    cache = CellCache("local", root=tmp_path / "cache")
    cache.put(config, copy.deepcopy(cell), raw)
    assert cache.get(config) is None  # measured with patterns: not a cell without them
    backend = NoBackend()
    _, document = run_matrix([config], backend, tmp_path / "out",  # type: ignore[arg-type]
                             cache=CellCache("local", root=tmp_path / "cache"),
                             patterns=list(PATTERNS.values()))
    assert backend.prepared == []
    assert list(document["patterns"]) == [p.id for p in raw]  # what releases measured
    assert document["suite"]["patterns_sha256"] == {p.id: p.code_sha256() for p in raw}
    track = document["history"]["series"]["hypercorn-history"]["patterns"]["lifespan-state"]
    assert track["statuses"] == ["works"]
