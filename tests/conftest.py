"""Shared fixtures, and how `make test` spreads the suite over pytest-xdist workers.

Tests that start real servers share one warm run per module, so a module must run on
one worker: the scheduler below hands out whole modules (and every Docker module as
one unit, so image builds never race each other for the two cores). The longest units
are collected first, so they start at once and the short ones fill in around them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

DOCKER_MODULES = "tests/measure/backends/docker/"
#: the longest units (minutes each): started first
LONGEST_FIRST = (DOCKER_MODULES, "tests/measure/test_soak.py")


def _unit(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    return "docker" if module.startswith(DOCKER_MODULES) else module


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        starts = [item.nodeid.startswith(prefix) for prefix in LONGEST_FIRST]
        return starts.index(True) if True in starts else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within each rank is kept


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    # Not xdist's loadgroup: it marks groups by rewriting item._nodeid, which pytest 9.2
    # no longer reads, so every test became its own unit and warm runs were made twice.
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False  # keep our order, not "most tests first"

    class WholeModules(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    return WholeModules(config, log)
