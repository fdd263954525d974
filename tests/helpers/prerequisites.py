"""Prerequisites a test cannot run without: skipped on a developer's machine that lacks
them, a failure where they are required (CI sets ASGI_MATRIX_REQUIRE=docker,chromium), so
CI cannot pass with the container or browser tests skipped."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

#: docker: a Docker engine (and docker-compose); chromium: Chromium and Playwright;
#: pythons: Python 3.12 and 3.13 beside the one running the tests (pyenv's here,
#: setup-python's in ci.yml), found by measure/backends/local/pythons.py
KNOWN = ("docker", "chromium", "pythons")


def required() -> set[str]:
    return {p.strip() for p in os.environ.get("ASGI_MATRIX_REQUIRE", "").split(",")
            if p.strip()}


def missing(what: str, reason: str, *, module: bool = False) -> NoReturn:
    """Skip (or fail, when ``what`` is required) with the reason."""
    assert what in KNOWN, what
    if what in required():
        pytest.fail(f"{what} is required here (ASGI_MATRIX_REQUIRE) but missing: {reason}",
                    pytrace=False)
    pytest.skip(reason, allow_module_level=module)
