"""History across releases: the collapse function, the history section of a document,
and the cache of measured release cells (fake cells: no server is started)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from asgi_matrix.catalogue import selection as _selection
from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.catalogue.release_sets import ReleaseSet
from asgi_matrix.catalogue.selection import Resolved
from asgi_matrix.exceptions import ResultsError
from asgi_matrix.measure.cell_cache import CellCache
from asgi_matrix.measure.run import run_matrix
from asgi_matrix.results import document as _results
from asgi_matrix.results import history as _history
from asgi_matrix.verdicts import PROPERTIES
from helpers import NoBackend
from helpers.history_docs import SAMPLE, history_document, release_cell

SUITE = {"version": "0.1.0", "probe_sha256": "0123456789abcdef"}


# -- collapse ---------------------------------------------------------------------------

def test_a_feature_that_appeared_is_pass_since_its_first_release() -> None:
    got = _history.collapse([("0.18.3", "unsupported"), ("0.20.0", "unsupported"),
                             ("0.21.1", "pass"), ("0.30.6", "pass")])
    assert got["summary"] == "pass since 0.21.1"
    assert got["since"] == {"status": "pass", "version": "0.21.1", "exact": True,
                            "first_measured": False}
    assert got["segments"] == [
        {"status": "unsupported", "from": "0.18.3", "to": "0.20.0", "releases": 2},
        {"status": "pass", "from": "0.21.1", "to": "0.30.6", "releases": 2}]
    assert [(c["previous"], c["version"], c["kind"]) for c in got["changes"]] == [
        ("0.20.0", "0.21.1", "since")]


def test_broke_in_one_release_and_fixed_in_a_later_one() -> None:
    got = _history.collapse([("1.0", "pass"), ("1.1", "pass"), ("1.2", "fail"),
                             ("1.3", "fail"), ("1.4", "pass")])
    assert got["summary"] == "broke in 1.2, fixed in 1.4"
    assert [c["kind"] for c in got["changes"]] == ["broke", "fixed"]
    assert got["since"]["version"] == "1.4"


def test_a_regression_still_open_and_other_kinds_of_change() -> None:
    assert _history.collapse([("1", "pass"), ("2", "fail")])["summary"] == "broke in 2"
    assert (_history.collapse([("1", "pass"), ("2", "unsupported")])["summary"]
            == "broke in 2 (unsupported)")
    assert (_history.collapse([("1", "unsupported"), ("2", "fail"), ("3", "pass")])["summary"]
            == "fail since 2, pass since 3")
    assert (_history.collapse([("1", "fail"), ("2", "pass"), ("3", "fail")])["summary"]
            == "pass since 2, broke in 3")


def test_no_change_says_so_over_what_was_measured() -> None:
    assert (_history.collapse([("0.18.3", "fail"), ("0.54.0", "fail")])["summary"]
            == "fail in every release measured (0.18.3 to 0.54.0)")
    one = _history.collapse([("0.18.3", "pass")])
    assert one["summary"] == "pass in the one release measured (0.18.3)"
    assert one["since"] == {"status": "pass", "version": "0.18.3", "exact": False,
                            "first_measured": True}
    assert _history.collapse([("1", None)])["summary"] == "no release measured"


def test_releases_without_a_finding_are_gaps_not_changes() -> None:
    got = _history.collapse([("1.0", "unsupported"), ("1.1", None), ("1.2", "error"),
                             ("1.3", "pass"), ("1.4", None), ("1.5", "pass")])
    assert got["summary"] == "pass since 1.3"
    [change] = got["changes"]
    assert change["previous"] == "1.0"
    assert change["exact"] is False
    assert change["unmeasured_between"] == ["1.1", "1.2"]
    assert got["since"]["exact"] is False
    assert got["segments"][-1] == {"status": "pass", "from": "1.3", "to": "1.5", "releases": 2}


# -- the history section ----------------------------------------------------------------

def test_the_history_section_groups_releases_oldest_first() -> None:
    document = history_document()
    history = _history.compute(document["configurations"], list(document["properties"]))
    [series] = history["series"].values()
    assert [r["version"] for r in series["releases"]] == ["0.17.0", "0.18.3", "0.20.0",
                                                         "0.21.1", "0.30.6"]
    assert series["releases"][0]["status"] == "not-run"
    assert "yanked" in series["releases"][0]["reason"]
    state = series["properties"]["state.supported"]
    assert state["statuses"] == [None, "unsupported", "unsupported", "pass", "pass"]
    assert state["summary"] == "pass since 0.21.1"
    assert _history.changed(series) == ["state.supported", "state.shallow-copy"]
    assert _history.diff(series, "0.20.0", "0.30.6") == [
        {"property": "state.supported", "old": "unsupported", "new": "pass"},
        {"property": "state.shallow-copy", "old": "unsupported", "new": "pass"}]
    document["history"] = history
    _results.validate(document)  # the schema describes the section


def test_no_release_no_history_section() -> None:
    assert _history.compute(SAMPLE["configurations"]) == {}


def test_a_document_with_a_malformed_history_is_refused() -> None:
    document = history_document()
    document["history"] = {"series": {"x": {"server": "x", "package": "x", "releases": [],
                                            "properties": {"p": {"statuses": ["green"]}}}}}
    with pytest.raises(ResultsError, match="not valid results at history"):
        _results.validate(document)


# -- the cache --------------------------------------------------------------------------

def config_for(version: str, unavailable: str = "") -> ServerConfig:
    base = ServerConfig(id="uvicorn-history", server="uvicorn",
                        argv=("{python}", "-m", "uvicorn", "--port", "{port}", "{app}"),
                        requires=("uvicorn", "websockets"),
                        releases=ReleaseSet("uvicorn", versions=(version,)))
    [config] = _selection.expand(base, [Resolved(version, unavailable)])
    return config


def test_a_measured_release_is_a_miss_then_a_hit(tmp_path: Path) -> None:
    cache = CellCache("local", root=tmp_path, suite=SUITE)
    config = config_for("0.21.1")
    assert cache.get(config) is None
    cell = release_cell("uvicorn-history", "0.21.1", {})
    cache.put(config, cell)
    assert cell["measured_at"]  # the document's cell says when it was measured, too
    hit = cache.get(config)
    assert hit is not None
    assert hit["cached"] is True
    assert hit["measured_at"] == cell["measured_at"]
    assert hit["verdicts"] == cell["verdicts"]
    assert (cache.hits, cache.stored) == (1, 1)


def test_what_makes_the_key(tmp_path: Path) -> None:
    config = config_for("0.21.1")
    CellCache("local", root=tmp_path, suite=SUITE).put(
        config, release_cell("uvicorn-history", "0.21.1", {}))
    assert CellCache("local", root=tmp_path, suite=SUITE).get(config) is not None
    assert CellCache("local", root=tmp_path, suite=SUITE).get(config_for("0.20.0")) is None
    new_probe = {**SUITE, "probe_sha256": "fedcba9876543210"}
    assert CellCache("local", root=tmp_path, suite=new_probe).get(config) is None
    new_version = {**SUITE, "version": "0.2.0"}
    assert CellCache("local", root=tmp_path, suite=new_version).get(config) is None
    assert CellCache("docker", root=tmp_path, suite=SUITE).get(config) is None
    assert CellCache("local", repeat=3, root=tmp_path, suite=SUITE).get(config) is None
    assert CellCache("local", force=True, root=tmp_path, suite=SUITE).get(config) is None


def test_only_lasting_cells_of_releases_are_kept(tmp_path: Path) -> None:
    cache = CellCache("local", root=tmp_path, suite=SUITE)
    error = {**release_cell("uvicorn-history", "0.21.1", {}), "status": "error"}
    cache.put(config_for("0.21.1"), error)
    interrupted = {**release_cell("uvicorn-history", "0.20.0", {}), "interrupted": True}
    cache.put(config_for("0.20.0"), interrupted)
    yanked = config_for("0.17.0", unavailable="uvicorn 0.17.0 was yanked")
    cache.put(yanked, release_cell("uvicorn-history", "0.17.0", None, "yanked"))
    plain = ServerConfig(id="uvicorn", server="uvicorn", argv=("{port}",))
    cache.put(plain, {**SAMPLE["configurations"]["uvicorn"]})
    assert cache.stored == 0
    assert list(tmp_path.iterdir()) == []
    assert cache.get(plain) is None


def test_a_cached_cell_is_judged_again_from_its_observations(tmp_path: Path) -> None:
    """Verdict logic may change without the probe changing: cached verdicts follow it."""
    cache = CellCache("local", root=tmp_path, suite=SUITE)
    config = config_for("0.54.0")
    recorded = copy.deepcopy(SAMPLE["configurations"]["uvicorn"])
    stale = {**recorded, "id": config.id,
             "verdicts": {"lifespan.supported": {"status": "fail", "explanation": "stale"}}}
    cache.put(config, stale)
    hit = cache.get(config)
    assert hit is not None
    assert list(hit["verdicts"]) == [p.id for p in PROPERTIES]
    assert hit["verdicts"]["lifespan.supported"]["status"] == "pass"
    assert (hit["verdicts"]["state.supported"]["status"]
            == recorded["verdicts"]["state.supported"]["status"])


def test_a_run_takes_measured_releases_from_the_cache(tmp_path: Path) -> None:
    cache = CellCache("local", root=tmp_path / "cache")
    old, new = config_for("0.20.0"), config_for("0.21.1")
    unsupported = {"state.supported": "unsupported", "state.shallow-copy": "unsupported"}
    cache.put(old, release_cell("uvicorn-history", "0.20.0", unsupported))
    cache.put(new, release_cell("uvicorn-history", "0.21.1", {}))
    backend = NoBackend()
    _, document = run_matrix([new, old], backend, tmp_path / "out",  # type: ignore[arg-type]
                             cache=CellCache("local", root=tmp_path / "cache"))
    assert backend.prepared == []
    cells = document["configurations"]
    assert list(cells) == ["uvicorn-history@0.21.1", "uvicorn-history@0.20.0"]
    assert all(c["cached"] is True and c["measured_at"] for c in cells.values())
    state = document["history"]["series"]["uvicorn-history"]["properties"]["state.supported"]
    assert state["summary"] == "pass since 0.21.1"
    assert _results.load(tmp_path / "out")["history"] == document["history"]


def test_a_release_not_installable_here_is_kept_then_not_tried_again(tmp_path: Path) -> None:
    config = config_for("0.1.0")
    reason = "cannot install uvicorn==0.1.0 here: its source distribution does not build here"
    first = NoBackend(not_runnable=reason)
    _, document = run_matrix([config], first, tmp_path / "a",  # type: ignore[arg-type]
                             cache=CellCache("local", root=tmp_path / "cache"))
    cell = document["configurations"][config.id]
    assert (cell["status"], cell["reason"], first.prepared) == ("not-run", reason, [config.id])
    second = NoBackend(not_runnable=reason)
    _, again = run_matrix([config], second, tmp_path / "b",  # type: ignore[arg-type]
                          cache=CellCache("local", root=tmp_path / "cache"))
    assert second.prepared == []
    assert again["configurations"][config.id]["cached"] is True
    forced = NoBackend(not_runnable=reason)
    run_matrix([config], forced, tmp_path / "c",  # type: ignore[arg-type]
               cache=CellCache("local", force=True, root=tmp_path / "cache"))
    assert forced.prepared == [config.id]


def test_without_a_cache_nothing_changes(tmp_path: Path) -> None:
    config = config_for("0.1.0")
    backend = NoBackend(not_runnable="no")
    _, document = run_matrix([config], backend, tmp_path / "out")  # type: ignore[arg-type]
    assert "cached" not in document["configurations"][config.id]
    assert document["configurations"][config.id]["release"]["version"] == "0.1.0"


def test_merged_shards_have_the_history_of_all_their_releases() -> None:
    from asgi_matrix.results.merge import merge

    document = history_document()
    releases = [k for k in document["configurations"] if "@" in k]
    shards = []
    for n, ids in enumerate((releases[:2], releases[2:])):
        shard = copy.deepcopy(document)
        shard["run"]["id"] = f"shard{n}"
        shard["configurations"] = {k: document["configurations"][k] for k in ids}
        shard["history"] = _history.compute(shard["configurations"])
        shards.append((f"shard{n}.json", shard))
    merged = merge(shards)
    series = merged["history"]["series"]["uvicorn-history"]
    assert len(series["releases"]) == 5
    assert series["properties"]["state.supported"]["summary"] == "pass since 0.21.1"
