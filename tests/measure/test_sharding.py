"""Sharding: a selection run as three shards and merged gives what one unsharded run
gives: the same configurations in the same order, the same cells, and
the same verdicts. Verdicts are compared exactly where the behaviour is ours (the
controls); a real server's cells that differ between two runs are printed as that
server's own nondeterminism (the soak test measures it), since sharding cannot reach
into a verdict: it only chooses which configurations a job runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.results import document as _results
from helpers import cli

pytestmark = [pytest.mark.servers, pytest.mark.timeout(1200)]

#: The controls and three servers: sharding only chooses which configurations a job runs,
#: so six show it; the whole default matrix twice would take most of an hour here.
SELECTION = ["control-multiloop", "control-broken", "control-nolifespan", "uvicorn",
             "hypercorn", "granian"]
RUN = ["run", *SELECTION, "--no-patterns", "--jobs", "2"]


def asgi_matrix(*args: str) -> None:
    done = cli(*args, timeout=1100)
    assert done.returncode == 0, done.stderr


def statuses(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(config_id, prop): verdict["status"]
            for config_id, config in document["configurations"].items()
            for prop, verdict in config.get("verdicts", {}).items()}


def test_three_shards_merged_equal_one_unsharded_run(tmp_path: Path, capsys):
    asgi_matrix(*RUN, "--out", str(tmp_path / "whole"))
    shards = []
    for index in (1, 2, 3):
        out = tmp_path / f"shard{index}"
        asgi_matrix(*RUN, "--shard", f"{index}/3", "--out", str(out))
        shards.append(str(out / "results.json"))
    asgi_matrix("merge", *shards, "--out", str(tmp_path / "merged.json"))

    whole = _results.load(tmp_path / "whole")
    merged = _results.load(tmp_path / "merged.json")
    assert list(merged["configurations"]) == list(whole["configurations"])
    assert {c: v["status"] for c, v in merged["configurations"].items()} == \
        {c: v["status"] for c, v in whole["configurations"].items()}

    assert set(statuses(merged)) == set(statuses(whole)), "the same cells, no more, no fewer"
    differing = sorted(k for k, v in statuses(merged).items() if statuses(whole)[k] != v)
    assert not [cell for cell in differing if cell[0].startswith("control-")], differing
    with capsys.disabled():
        print(f"\nsharded vs whole: {len(statuses(whole))} cells, {len(differing)} differ "
              "(real servers' nondeterminism): " + ", ".join(" × ".join(c) for c in differing))
