"""One truth on the front page: the headline (a section per app), the summary (each
server's "Your apps") and the needs filter's data all read the pattern verdicts, on the
recorded run with a server-caused caveat (hypercorn, FastAPI app.state) and its own
pattern-owned breaks (contextvar-resource: the contextvar is never set in requests)."""

from __future__ import annotations

import html
import re

import pytest
from asgi_matrix.report import answers, apps
from asgi_matrix.report import site as _site
from helpers.site_docs import FRESH, Document, sample, text, with_caveat


@pytest.fixture(scope="module")
def document() -> Document:
    return with_caveat(sample())


@pytest.fixture(scope="module")
def page(document: Document) -> str:
    return _site.render(document, FRESH)["index.html"]


def _app_section(page: str, app_id: str) -> str:
    start = page.index(f'data-app="{app_id}"')
    return page[start:page.index("</section>", start)]


def _status_of(document: Document, config_id: str, app_id: str) -> str:
    config = document["configurations"][config_id]
    if config.get("status") != "measured" or app_id not in (config.get("patterns") or {}):
        return "not-run"
    return str(config["patterns"][app_id]["status"])


def test_the_headline_is_the_pattern_verdict_of_each_servers_default(
        document: Document, page: str) -> None:
    defaults = answers.defaults(document)
    for app_id in document["patterns"]:
        section = _app_section(page, app_id)
        rows = re.findall(r'<tr data-server="([^"]+)" data-status="([^"]+)">', section)
        assert {server for server, _ in rows} == set(defaults)  # servers only: no control
        for server, status in rows:
            assert status == _status_of(document, defaults[server], app_id), (app_id, server)
        ranks = [apps.RANK[status] for _, status in rows]
        assert ranks == sorted(ranks)  # the servers that work first
        start = section.index('<p class="pick">')
        pick = text(section[start:section.index("</p>", start)])
        working = [s for s, status in rows if status == "works"]
        if working:
            assert pick.startswith("→ Pick " + ", ".join(working) + ":")
            for server, status in rows:
                if status != "works":
                    assert server not in pick.split(":")[0]  # never recommended
        else:
            assert pick.startswith("No server")


def test_the_caveat_and_the_break_read_as_such(page: str) -> None:
    fastapi = _app_section(page, "fastapi-app-state")
    assert '<tr data-server="hypercorn" data-status="caveat">' in fastapi
    assert "⚠ caveat" in fastapi
    assert "never delivered lifespan.shutdown" in fastapi
    assert "hypercorn" not in text(fastapi[fastapi.index('<p class="pick">'):]).split(":")[0]
    contextvar = _app_section(page, "contextvar-resource")
    assert '<tr data-server="uvicorn" data-status="breaks">' in contextvar
    assert "✘ breaks" in contextvar
    assert "LookupError" in contextvar


def test_the_summary_lists_the_apps_that_break_or_have_a_caveat(
        document: Document, page: str) -> None:
    table = page[page.index('<table class="answers">'):]
    for server, config_id in answers.defaults(document).items():
        row = table[table.index(f'<tr data-server="{server}">'):]
        row = row[:row.index("</tr>")]
        cell = row[row.index('<td class="apps">'):]
        cell = cell[:cell.index("</td>")]
        statuses = apps.server_apps(document, config_id)
        for status in ("breaks", "caveat"):
            listed = []
            if f"{apps_glyph(status)} {status}</span>" in cell:
                part = cell[cell.index(f"{apps_glyph(status)} {status}</span>"):]
                part = part[:part.index("</span>", len(status) + 10)]
                listed = [html.unescape(t) for t in re.findall(r'<a href="#app-[^"]+">([^<]+)</a>',
                                                              part)]
            assert listed == [apps.title(document, a) for a, s in statuses.items()
                              if s == status], (server, status)


def apps_glyph(status: str) -> str:
    return _site.GLYPHS[status]


def test_the_needs_filter_reads_every_rows_app_verdicts(document: Document, page: str) -> None:
    rows = dict(re.findall(r'<tr class="config" data-config="([^"]+)"[^>]*data-apps="([^"]*)"',
                           page))
    measured = [cid for cid, c in document["configurations"].items()
                if c.get("status") != "not-run"]
    assert set(rows) == set(measured)
    for config_id, data in rows.items():
        pairs = dict(pair.rsplit("=", 1) for pair in data.split())
        assert pairs == {a: _status_of(document, config_id, a) for a in document["patterns"]}
    assert '<select name="app">' in page  # the filter's "Your app"
