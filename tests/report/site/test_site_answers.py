"""The pages this dashboard added for answering first, rendered without a browser: the
summary, levels, compare, fails-only, badges panel, links from results."""

from __future__ import annotations

import html
import itertools
import json
import re

from asgi_matrix.report import answers
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
    assert data["order"] == list(sample()["properties"]) + [
        f"pattern:{pid}" for pid in sample()["patterns"]]  # the app patterns after
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
    assert 'href="outliers.html">Where a server differs</a>' in files["index.html"]
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


def test_compare_includes_the_app_patterns_and_opens_on_the_pair_that_differs_most(
        sample_site: dict[str, str]) -> None:
    document = sample()
    pair = answers.default_pair(document)
    assert pair is not None
    a, b = pair
    assert document["configurations"][a]["kind"] == "server"
    assert document["configurations"][a]["server"] != document["configurations"][b]["server"]
    differences = answers.compare(document, a, b)["differences"]
    for x, y in itertools.combinations(answers.defaults(document).values(), 2):
        assert answers.compare(document, x, y)["differences"] <= differences
    page = sample_site[f"compare/{a}--{b}.html"]  # pre-built, for readers without scripts
    rows = answers.compare(document, a, b)["rows"]
    patterns = [r for r in rows if r["pattern"]]
    assert len(patterns) == len(document["patterns"])
    differing = next(r for r in patterns if r["differs"])
    assert f'href="../patterns/{differing["pattern"]}/{a}.html"' in page
    data = json.loads(html.unescape(re.search(
        r'<script type="application/json" id="compare-data">(.*?)</script>',
        sample_site["compare.html"], re.S).group(1)))
    assert data["default"] == [a, b]
    assert data["configs"]["uvicorn"]["verdicts"]["pattern:contextvar-resource"] == "breaks"


def test_the_outliers_page_has_a_section_per_server_without_controls(
        sample_site: dict[str, str]) -> None:
    document = sample()
    page = sample_site["outliers.html"]
    found = answers.outliers(document)
    servers = {c["server"] for c in document["configurations"].values()
               if c["kind"] == "server"}
    for server in servers:
        assert f'<h2 id="server-{server}">' in page
    assert "control-" not in page.split('<h1>')[1].split("</main>")[0].replace(
        "Controls (built to fail)", "")
    for configs in found.values():
        for config_id, items in configs.items():
            for item in items:
                href = (f'patterns/{item["pattern"]}/{config_id}.html' if item["pattern"]
                        else f'cells/{config_id}/{item["id"]}.html')
                assert f'href="{href}"' in page


def test_an_app_pattern_broken_on_one_server_only_is_its_outlier() -> None:
    document = sample()
    cell = document["configurations"]["granian"]["patterns"]["fastapi-app-state"]
    cell.update(status="breaks", explanation="bound to a different event loop")
    found = answers.outliers(document)
    items = found["granian"]["granian"]
    assert [i["id"] for i in items if i["pattern"]] == ["pattern:fastapi-app-state"]
    # the negative: where another server breaks it too, it is nobody's outlier
    document["configurations"]["uvicorn"]["patterns"]["fastapi-app-state"]["status"] = "breaks"
    assert not any(i["pattern"] for i in answers.outliers(document).get("granian", {}).get(
        "granian", []))
    # controls never count: control-multiloop breaks it, and granian still stood alone above
    assert document["configurations"]["control-multiloop"]["patterns"][
        "fastapi-app-state"]["status"] == "breaks"
