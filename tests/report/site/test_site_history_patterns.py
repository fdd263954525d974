"""The history pages with app patterns: real hypercorn releases, rendered (no browser)."""

from __future__ import annotations

import json
import re

import pytest
from asgi_matrix.report import site as _site
from helpers.history_docs import history_document
from helpers.pattern_history_docs import recorded_document
from helpers.site_docs import FRESH, section, text

PAGE = "history/hypercorn-history.html"


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return _site.render(recorded_document(), FRESH)


def test_the_series_page_shows_where_a_patterns_verdict_changed(files: dict[str, str]) -> None:
    patterns = section(files[PAGE], "patterns")
    said = text(patterns)
    assert "Resource yielded as lifespan state lifespan-state: works since 0.18.0" in said
    assert "0.17.3 → 0.18.0: ✘ breaks → ✔ works" in said
    # one row per pattern measured, a cell per release, the change marked
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)<small>(.*?)</small>", patterns)
    assert [title for title, _ in rows][-1] == "Resource yielded as lifespan state"
    assert len(rows) == 6
    assert patterns.count('aria-label="changed"') == 1
    assert "0.17.3 → 0.18.0: 1 pattern differs" in text(patterns)


def test_pattern_cells_link_their_evidence_and_badges(files: dict[str, str]) -> None:
    patterns = section(files[PAGE], "patterns")
    links = re.findall(r'href="\.\./(patterns/lifespan-state/[^"]+)"', patterns)
    assert [link.split("/")[-1].rsplit("-", 1)[0] for link in links] == [
        "hypercorn-history-0.16.0", "hypercorn-history-0.17.3", "hypercorn-history-0.18.0"]
    for link in links:
        assert link in files  # each release's cell page, with its evidence
    assert "works" in files[links[-1]]
    assert "breaks" in files[links[1]]
    badge_paths = [p for p in files  # the releases' (the recorded run has cells of its own)
                   if p.startswith("badges/patterns/lifespan-state/hypercorn-history")]
    assert len(badge_paths) == 3
    badges = {p: json.loads(files[p]) for p in badge_paths}
    assert sorted(b["message"] for b in badges.values()) == ["breaks", "breaks", "works"]


@pytest.mark.parametrize("page", ["history/index.html", "index.html"])
def test_the_history_summaries_list_the_changed_patterns(files: dict[str, str],
                                                         page: str) -> None:
    said = text(files[page])
    assert "App patterns whose verdict changed:" in said
    assert "Resource yielded as lifespan state lifespan-state: works since 0.18.0" in said
    assert "5 app patterns had the same verdict in every release measured" in said


def test_no_pattern_section_for_releases_measured_without_patterns() -> None:
    files = _site.render(history_document(), FRESH)
    assert 'id="patterns"' not in files["history/uvicorn-history.html"]
    assert "App patterns whose verdict changed" not in files["history/index.html"]


def test_a_release_config_page_links_its_pattern_cells_and_offers_their_badges(
        files: dict[str, str]) -> None:
    [page] = [name for name in files
              if name.startswith("configs/hypercorn-history-0.17.3")]
    config = files[page]
    patterns = section(config, "patterns")
    links = re.findall(r'href="\.\./(patterns/[^"]+\.html)"', patterns)
    assert len(links) == 6
    assert all(link in files for link in links)
    badges = section(config, "badges")
    assert "One badge per app pattern (6)" in text(badges)
    paths = re.findall(r'href="\.\./(badges/patterns/[^"]+\.json)"', badges)
    assert len(paths) == 6
    assert json.loads(files[next(p for p in paths if "lifespan-state" in p)])["message"] == (
        "breaks")
