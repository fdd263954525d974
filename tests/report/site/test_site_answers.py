"""The pages this dashboard added for answering first, rendered without a browser: the
summary, levels, compare, fails-only, badges panel, links from results."""

from __future__ import annotations

import html
import json
import re

from asgi_matrix.report import site as _site
from helpers.site_docs import FRESH, Document, sample, with_breakage


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_your_app_comes_first_then_the_summary_then_the_matrix(
        sample_site: dict[str, str]) -> None:
    page = sample_site["index.html"]
    assert page.index('<section class="app"') < page.index('<table class="answers">') \
        < page.index('<table class="matrix"')
    first = page[page.index('<section class="app"'):]
    assert 'data-app="fastapi-app-state"' in first[:first.index(">")]  # FastAPI leads
    row = page[page.index('<table class="answers">'):]
    row = row[row.index('<tr data-server="uvicorn">'):]
    row = row[:row.index("</tr>")]
    assert 'href="cells/uvicorn/lifespan.per-loop.html">✓ pass</a>' in row
    assert 'href="cells/uvicorn/context.propagates.html">○ no</a>' in row
    assert "not addressed by the spec" in row


def test_a_not_required_failure_is_a_neutral_no(sample_site: dict[str, str]) -> None:
    cell = sample_site["cells/uvicorn/context.propagates.html"]
    assert '<span class="st no">○ no</span>' in cell
    assert "not a spec violation" in cell
    config = sample_site["configs/uvicorn.html"]
    assert '<td class="no">' in config
    assert '<td class="fail">' not in config  # uvicorn fails nothing the spec requires


def test_only_http_links_come_from_results(document: Document) -> None:
    prop = document["properties"]["lifespan.per-loop"]
    prop["reference"]["url"] = "javascript:alert(document.cookie)"
    files = _site.render(document, FRESH)
    cell = files["cells/uvicorn/lifespan.per-loop.html"]
    assert 'href="javascript:' not in cell
    assert "cite=" not in cell
    assert "not an http(s) link, so not linked" in cell
    for name, text in files.items():
        if name.endswith(".html"):
            for link in re.findall(r'(?:href|src|cite)="([^"]*)"', text):
                assert not html.unescape(link).lower().lstrip().startswith(
                    ("javascript:", "data:text", "vbscript:")), (name, link)


def test_compare_pages(sample_site: dict[str, str]) -> None:
    pair = sample_site["compare/uvicorn--uvicorn-workers2.html"]
    configs = sample()["configurations"]
    one, two = configs["uvicorn"]["verdicts"], configs["uvicorn-workers2"]["verdicts"]
    differing = [p for p in one if one[p]["status"] != two[p]["status"]]
    assert differing, "the recording shows no difference between one and two workers"
    assert re.search(rf"(^|\s){len(differing)} differences?\b", _text(pair))
    first = pair[pair.index('<tr class="differs">'):]
    first = first[:first.index("</tr>")]
    assert f'href="../cells/uvicorn/{differing[0]}.html"' in first
    assert f'href="../cells/uvicorn-workers2/{differing[0]}.html"' in first
    assert pair.index('<tr class="differs">') < pair.index('<tr class="same">')
    assert 'href="../compare/uvicorn--uvicorn-workers2.html"' in \
        sample_site["configs/uvicorn-workers2.html"]
    assert 'href="../compare.html?a=uvicorn-workers2"' in \
        sample_site["configs/uvicorn-workers2.html"]
    page = sample_site["compare.html"]
    data = json.loads(html.unescape(re.search(
        r'<script type="application/json" id="compare-data">(.*?)</script>', page, re.S)[1]))
    assert data["configs"]["uvicorn"]["verdicts"]["context.propagates"] == "no"
    assert data["order"] == list(sample()["properties"])
    assert "needs JavaScript" in page


def test_embedded_data_cannot_close_its_script(document: Document) -> None:
    document["properties"]["lifespan.per-loop"]["title"] = "</script><script>alert(1)</script>"
    page = _site.render(document, FRESH)["compare.html"]
    embedded = page[page.index('id="compare-data">'):]
    embedded = embedded[:embedded.index("</script>")]
    assert "<script>" not in embedded


def test_fails_only_page(document: Document) -> None:
    files = _site.render(with_breakage(document), FRESH)
    page = files["fails-only.html"]
    row = page[page.index('data-config="granian-mt2"'):]
    row = row[:row.index("</tr>")]
    assert 'href="cells/granian-mt2/lifespan.per-loop.html"' in row
    assert "loop B served without a lifespan" in row
    assert "Fails only here (" in files["index.html"]
    config = files["configs/granian-mt2.html"]
    section = config[config.index('id="fails-only"'):config.index('id="compare"')]
    assert "Lifespan per event loop" in section


def test_badges_panel_has_url_markdown_and_html_per_property(
        sample_site: dict[str, str]) -> None:
    page = sample_site["configs/uvicorn.html"]
    panel = page[page.index('id="badges"'):]
    uvicorn = sample()["configurations"]["uvicorn"]
    badges = 1 + len(uvicorn["verdicts"]) + len(uvicorn.get("patterns") or {})  # its own, each
    assert panel.count('<span class="snippet-label">Badge URL (JSON)</span>') == badges
    assert panel.count('<span class="snippet-label">Markdown</span>') == badges
    assert panel.count('<span class="snippet-label">HTML</span>') == badges
    assert "https://YOUR-SITE.example/badges/uvicorn/lifespan.per-loop.json" in panel
    assert json.loads(sample_site["badges/uvicorn/lifespan.per-loop.json"])["message"] == "pass"


def test_the_index_stays_small(sample_site: dict[str, str]) -> None:
    page = sample_site["index.html"]
    recorded = sample()
    # the page answers per property and per app (framework or pattern): both are cells
    cells = len(recorded["configurations"]) * (len(recorded["properties"])
                                               + len(recorded.get("patterns") or {}))
    assert len(page.encode()) < 420 * cells  # grows with the matrix (340 a cell today)
    assert _site.transferred_size(page) < 40 * cells


def test_the_matrix_headings_are_short_with_full_names_at_hand(
        sample_site: dict[str, str]) -> None:
    page = sample_site["index.html"]
    head = page[page.index('data-prop="lifespan.per-loop"'):]
    head = head[:head.index("</th>")]
    assert 'title="Lifespan per event loop (SHOULD): ' in head
    assert '<span class="v" aria-hidden="true">per loop<sup class="lvl">S</sup></span>' in head
    assert '<span class="sr">Lifespan per event loop (recommended by the spec (SHOULD))' in head
    assert "<dd>Lifespan per event loop" in page  # "Column names in full"
