"""Fixtures for the dashboard tests."""

from __future__ import annotations

import pytest
from asgi_matrix.report import site as _site
from helpers.site_docs import FRESH, Document, sample


@pytest.fixture
def document() -> Document:
    return sample()


@pytest.fixture(scope="session")
def sample_site() -> dict[str, str]:
    """The site rendered from the recorded run as it is."""
    return _site.render(sample(), FRESH)
