"""The dashboard's history pages, rendered from a document with releases (no browser)."""

from __future__ import annotations

import html
import json
import re
from pathlib import PurePosixPath

import pytest
from asgi_matrix.report import site as _site
from asgi_matrix.resources import DASHBOARD_DIR
from helpers.history_docs import history_document
from helpers.site_docs import FRESH, Document, sample, section, text

STATIC = {f"static/{p.name}" for p in (DASHBOARD_DIR / "static").iterdir()}
PAGE = "history/uvicorn-history.html"


@pytest.fixture
def files() -> dict[str, str]:
    return _site.render(history_document(), FRESH)


def test_without_releases_there_are_no_history_pages(sample_site: dict[str, str]) -> None:
    assert not any(name.startswith("history/") for name in sample_site)
    assert "data/history.json" not in sample_site
    assert "history/index.html" not in sample_site["index.html"]


def test_history_json_is_published_with_the_data(files: dict[str, str]) -> None:
    history = json.loads(files["data/history.json"])
    series = history["series"]["uvicorn-history"]
    assert [r["version"] for r in series["releases"]] == ["0.17.0", "0.18.3", "0.20.0",
                                                         "0.21.1", "0.30.6"]
    assert series["properties"]["state.supported"]["summary"] == "pass since 0.21.1"


def test_releases_stay_out_of_the_matrix_and_are_summarised_under_it(
        files: dict[str, str]) -> None:
    page = files["index.html"]
    rows = re.findall(r'<tr class="config" data-config="([^"]*)"', page)
    configs = sample()["configurations"]
    assert rows == [c for kind in ("server", "control", "harness")
                    for c, v in configs.items() if v["kind"] == kind]
    summary = text(section(page, "history"))
    assert "uvicorn uvicorn-history: 4 of 5 releases measured, 0.17.0 to 0.30.6" in summary
    assert "Lifespan state state.supported: pass since 0.21.1" in summary
    same = len(configs["uvicorn"]["verdicts"]) - 2  # all but the two state properties
    assert f"{same} properties had the same verdict in every release measured" in summary
    assert 'href="history/uvicorn-history.html"' in page
    assert '<a href="history/index.html">History</a>' in page  # in the navigation


def test_the_series_page_collapses_each_property_to_its_changes(files: dict[str, str]) -> None:
    changed = text(section(files[PAGE], "changed"))
    assert ("Lifespan state state.supported pass since 0.21.1 "
            "0.20.0 → 0.21.1: – unsupported → ✓ pass") in changed
    assert ("✓ pass pass in every release measured (0.18.3 to 0.30.6): Lifespan supported, "
            "Startup before requests,") in changed
    assert ("✗ fail fail in every release measured (0.18.3 to 0.30.6): Contextvars reach HTTP "
            "handlers, Contextvars reach WebSocket handlers") in changed


def test_the_strip_has_glyph_word_and_a_link_per_release(files: dict[str, str]) -> None:
    strip = section(files[PAGE], "strip")
    heads = re.findall(r'<th scope="col" class="release">(.*?)</th>', strip)
    assert [text(h) for h in heads] == ["0.17.0 not-run", "0.18.3", "0.20.0", "0.21.1",
                                        "0.30.6"]
    row = strip[strip.index("Lifespan state<small>"):]
    row = row[:row.index("</tr>")]
    cells = re.findall(r'<td class="([^"]*)">(.*?)</td>', row)
    assert [(cls, text(body)) for cls, body in cells] == [
        ("none", "· not run"), ("unsup", "– unsupported"), ("unsup", "– unsupported"),
        ("pass changed", "▲ ✓ pass"), ("pass", "✓ pass")]
    slug = _site.slugs(history_document()["configurations"])["uvicorn-history@0.21.1"]
    assert f'href="../cells/{slug}/state.supported.html"' in row
    assert f"cells/{slug}/state.supported.html" in files


def test_two_releases_compared_without_javascript(files: dict[str, str]) -> None:
    compare = section(files[PAGE], "compare")
    assert "0.18.3 → 0.30.6: 2 properties differ." in text(compare)
    diff = compare[compare.index('id="history-diff"'):compare.index("</table>")]
    assert text(diff).endswith("Lifespan state state.supported – unsupported ✓ pass "
                               "State copied per request state.shallow-copy – unsupported "
                               "✓ pass")
    pairs = re.findall(r"<summary>(.*?)</summary>", compare)
    assert [text(p) for p in pairs] == ["0.20.0 → 0.21.1: 2 properties differ"]
    assert '<form id="history-compare" class="filters" hidden>' in compare
    assert 'src="../static/history.js"' in compare


def test_the_embedded_data_is_json_the_script_can_read(files: dict[str, str]) -> None:
    page = files[PAGE]
    raw = re.search(r'<script type="application/json" id="history-data">(.*?)</script>',
                    page, re.S)
    assert raw is not None
    data = json.loads(raw.group(1))
    assert data["versions"] == ["0.17.0", "0.18.3", "0.20.0", "0.21.1", "0.30.6"]
    assert data["measured"] == ["0.18.3", "0.20.0", "0.21.1", "0.30.6"]
    assert data["properties"]["state.supported"]["statuses"][:2] == [None, "unsupported"]
    assert data["order"] == list(sample()["properties"])  # the keys themselves come sorted


def test_release_list_says_why_one_was_not_run(files: dict[str, str]) -> None:
    releases = text(section(files[PAGE], "releases"))
    assert "0.17.0 ? not-run: uvicorn 0.17.0 was yanked from the package index" in releases


def test_server_supplied_text_stays_inert_on_history_pages() -> None:
    document = history_document()
    evil = "</script><script>alert(1)</script><b>x</b>"
    cell = document["configurations"]["uvicorn-history@0.17.0"]
    cell["reason"] = evil
    for cell in document["configurations"].values():
        if "release" in cell:
            cell["release"]["rule"] = evil
    files = _site.render(document, FRESH)
    for name in ("history/index.html", PAGE, "index.html"):
        assert "<script>alert(1)" not in files[name], name
        assert "<b>x</b>" not in files[name], name
    data = re.search(r'id="history-data">(.*?)</script>', files[PAGE], re.S)
    assert data is not None
    assert "<" not in data.group(1)  # so no "</script>" either


def test_every_history_link_resolves(files: dict[str, str]) -> None:
    names = set(files) | STATIC
    for name, body in files.items():
        if not name.endswith(".html"):
            continue
        for link in re.findall(r'(?:href|src)="([^"]+)"', body):
            link = html.unescape(link)
            if link.startswith(("https://", "http://", "#", "data:")):
                continue
            parts: list[str] = []
            target = link.split("#")[0].split("?")[0]
            for part in str(PurePosixPath(name).parent / target).split("/"):
                if part == "..":
                    parts.pop()
                elif part not in (".", ""):
                    parts.append(part)
            assert "/".join(parts) in names, f"{name}: broken link {link}"


def test_the_site_shows_the_history_section_its_writer_attached(files: dict[str, str]) -> None:
    # Computed once, by the run or the merge that wrote the document; the site reads it.
    document: Document = history_document()
    assert document["history"]["series"]["uvicorn-history"]["releases"]
    assert json.loads(files["data/history.json"])["series"].keys() == {"uvicorn-history"}
    del document["history"]
    assert "data/history.json" not in _site.render(document, FRESH)


def test_the_build_owns_the_history_folder(tmp_path) -> None:
    out = tmp_path / "site"
    _site.build(history_document(), out, FRESH)
    assert (out / PAGE).is_file()
    assert (out / "static" / "history.js").is_file()
    _site.build(sample(), out, FRESH)  # a rebuild without releases leaves no stale pages
    assert not (out / "history").exists()


def test_a_run_of_releases_only_has_no_matrix_filters(files: dict[str, str]) -> None:
    document = history_document()
    document["configurations"] = {k: v for k, v in document["configurations"].items()
                                  if "@" in k}
    page = _site.render(document, FRESH)["index.html"]
    assert 'id="filters"' not in page
    assert "No configuration matches" not in page
    assert 'href="history/uvicorn-history.html"' in page
    assert 'id="filters"' in files["index.html"]
