"""Shared fixtures. Tests that start real servers share one warm run of the matrix.

`make test` runs the suite on two pytest-xdist workers with ``--dist loadgroup``: each
test module is one group, so a module's shared warm run is made once, on one worker;
every module that needs the Docker engine is one group too, so image builds never race
each other for the two cores (their base images are built once, by the first).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        module = item.nodeid.split("::")[0]
        group = "containers" if item.get_closest_marker("containers") else module
        item.add_marker(pytest.mark.xdist_group(group))
