"""The dashboard rendered from the recorded run and from variants of it (no browser)."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import PurePosixPath

import jsonschema
import pytest
from asgi_matrix.report import site as _site
from asgi_matrix.report import words
from asgi_matrix.resources import DASHBOARD_DIR
from asgi_matrix.results import document as _results
from helpers import site_docs
from helpers.site_docs import (
    FINISHED,
    FRESH,
    Document,
    sample,
    section,
    with_control,
    with_error_and_unsupported,
)

STATIC = {f"static/{p.name}" for p in (DASHBOARD_DIR / "static").iterdir()}


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr class="config" data-config="([^"]*)"', page)


def _row(page: str, config_id: str) -> str:
    start = page.index(f'data-config="{config_id}"')
    return page[start:page.index("</tr>", start)]


def _cells(row: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_matrix_has_every_configuration_grouped_by_server(sample_site: dict[str, str]) -> None:
    page = sample_site["index.html"]
    configs = sample()["configurations"]
    by_kind = [c for kind in ("server", "control", "harness")
               for c, v in configs.items() if v["kind"] == kind]  # one section per kind
    assert _rows(page) == by_kind
    servers = re.findall(r'<tbody data-server="([^"]*)"', page)
    assert servers == [*dict.fromkeys(v["server"] for v in configs.values()
                                      if v["kind"] == "server"), "control"]
    version = re.escape(configs["uvicorn"]["versions"]["uvicorn"])
    assert re.search(rf'<th scope="rowgroup"[^>]*><span>uvicorn <small>{version}</small>', page)
    assert "<small>auto loop · 2 workers × 1 thread</small>" in _row(page, "granian-workers2")
    assert "<small>auto loop · 1 worker × 2 threads</small>" in _row(page, "granian-mt2")


def test_versions_go_on_rows_when_a_server_has_several(document: Document) -> None:
    recorded = document["configurations"]["granian"]["versions"]["granian"]
    document["configurations"]["granian-mt2"]["versions"]["granian"] = "99.0.0"
    page = _site.render(document, FRESH)["index.html"]
    assert f"<span>granian <small>{recorded}, 99.0.0</small>" in page
    assert "<small>99.0.0 · auto loop · 1 worker × 2 threads</small>" in _row(page, "granian-mt2")
    assert f"<small>{recorded} · auto loop" in _row(page, "granian")
    loop = document["configurations"]["uvicorn"]["axes"]["loop"]  # uvloop: uvicorn[standard]
    assert f"<small>{loop} loop · 1 worker × 1 thread</small>" in _row(page, "uvicorn")


def test_matrix_columns_are_properties_under_group_headers(sample_site: dict[str, str]) -> None:
    page = sample_site["index.html"]
    groups = re.findall(r'<th scope="colgroup" colspan="(\d+)" data-group="([^"]*)"', page)
    properties = sample()["properties"]
    runs: list[tuple[str, str]] = []  # consecutive properties of one group: one header
    for prop in properties.values():
        if runs and runs[-1][1] == prop["group"]:
            runs[-1] = (str(int(runs[-1][0]) + 1), prop["group"])
        else:
            runs.append(("1", prop["group"]))
    sections = len({c["kind"] for c in sample()["configurations"].values()})  # a table each
    assert groups == runs * sections
    props = re.findall(r'<th scope="col" data-prop="([^"]*)"', page)
    assert props == list(properties) * sections
    assert page[page.index('id="matrix"'):].count('<th scope="row">') == \
        len(sample()["configurations"])


def test_cells_show_glyph_word_and_link(sample_site: dict[str, str]) -> None:
    page = sample_site["index.html"]
    verdicts = sample()["configurations"]["granian-workers2"]["verdicts"]
    properties = sample()["properties"]
    cells = _cells(_row(page, "granian-workers2"))
    shown = [words.shown(v["status"], words.level_of(properties[p])) for p, v in verdicts.items()]
    assert cells == [f"{_site.GLYPHS[status]} {status}" for status in shown]
    # context.propagates is not in the spec: its failure is a neutral "no", not a red "fail"
    at = list(verdicts).index("context.propagates")
    assert verdicts["context.propagates"]["status"] == "fail"
    assert (cells[0], cells[at]) == ("✓ pass", "○ no")
    assert 'class="no"' in _row(page, "granian-workers2")
    daphne = sample()["configurations"]["daphne"]["verdicts"]  # it runs no lifespan
    assert _cells(_row(page, "daphne"))[0] == "– unsupported"
    assert _cells(_row(page, "daphne"))[-1] == \
        f"{_site.GLYPHS[list(daphne.values())[-1]['status']]} {list(daphne.values())[-1]['status']}"
    assert 'href="cells/granian-workers2/context.propagates.html"' in page


def test_every_relative_link_resolves(sample_site: dict[str, str]) -> None:
    files = set(sample_site) | STATIC
    for name, text in sample_site.items():
        if not name.endswith(".html"):
            continue
        for link in re.findall(r'(?:href|src)="([^"]+)"', text):
            link = html.unescape(link)
            if link.startswith(("https://", "http://", "#", "data:")):
                continue
            assert not link.startswith("/"), f"{name}: absolute link {link}"
            target = link.split("#")[0].split("?")[0]
            resolved = str(PurePosixPath(name).parent / target)
            parts: list[str] = []
            for part in resolved.split("/"):
                if part == "..":
                    parts.pop()
                elif part not in (".", ""):
                    parts.append(part)
            assert "/".join(parts) in files, f"{name}: broken link {link}"


def test_error_unsupported_and_not_measured(document: Document) -> None:
    document = with_error_and_unsupported(document)
    document["configurations"]["granian"]["verdicts"]["context.propagates"].update(
        status="flaky", explanation="differed across 3 attempts: fail x2, pass")
    files = _site.render(document, FRESH)
    page = files["index.html"]
    cells = _cells(_row(page, "granian"))
    order = list(document["properties"])
    assert cells[order.index("lifespan.per-loop")] == "! error"
    assert cells[order.index("context.propagates")] == "~ flaky"
    assert cells[order.index("state.shallow-copy")] == "– unsupported"
    assert "The attempts disagreed" in files["cells/granian/context.propagates.html"]
    trio = _row(page, "hypercorn-trio")
    assert "environment failed: no wheel for trio on this Python" in trio
    assert f'class="reason" colspan="{len(order)}"' in trio
    cell = files["cells/granian/lifespan.per-loop.html"]
    assert "! error</span>" in cell
    assert "the &#39;main&#39; scenario was not run" in cell
    assert "environment failed" in files["configs/hypercorn-trio.html"]


def test_a_configuration_that_was_not_run(document: Document) -> None:
    config = document["configurations"]["daphne"]
    for key in ("command", "versions", "provenance", "facts", "verdicts", "log_tail",
                "attempts", "seconds", "reason"):
        config.pop(key)
    config.update(status="not-run", interrupted=True)
    _results.validate(document)
    files = _site.render(document, FRESH)
    folded = site_docs.text(section(files["index.html"], "not-run"))
    assert "◌ not run 1 configuration: the run was interrupted before it" in folded
    assert 'href="configs/daphne.html"' in section(files["index.html"], "not-run")
    assert 'data-config="daphne"' not in files["index.html"]  # no matrix row of its own
    assert "not-run" in files["configs/daphne.html"]
    config.update(reason="no Python 3.14 here", verdicts={},
                  **{"try": "asgi-matrix run --config daphne --backend docker"})
    files = _site.render(document, FRESH)
    assert "1 configuration: no Python 3.14 here" in site_docs.text(section(files["index.html"],
                                                                  "not-run"))
    assert "asgi-matrix run --config daphne --backend docker" in files["configs/daphne.html"]
    assert json.loads(files["badges/daphne.json"])["message"] == "not-run"
    assert not any(name.startswith("cells/daphne/") for name in files)


def test_a_minimal_valid_document_renders(document: Document) -> None:
    """Only what the schema requires: no verdicts, versions, attempts or log."""
    document["configurations"] = {"bare": {"id": "bare", "server": "bare", "kind": "server",
                                           "axes": {}, "status": "measured"}}
    document["host"] = {"python": "3.11.7", "os": "Linux", "cpus": 1}
    for prop in document["properties"].values():
        del prop["expected"]
        del prop["reference"]["quote"]
    _results.validate(document)
    files = _site.render(document, FRESH)
    assert _cells(_row(files["index.html"], "bare"))[0] == "? no verdict"
    assert "<h1>bare</h1>" in files["configs/bare.html"]


def test_controls_and_harnesses_are_their_own_sections(document: Document) -> None:
    page = _site.render(with_control(document), FRESH)["index.html"]
    servers = page.index(">ASGI servers</h2>")
    controls = page.index(">Reference servers: controls</h2>")
    harnesses = page.index(">In-process test clients</h2>")
    assert servers < controls < harnesses
    assert controls < page.index('data-config="control-multiloop"') < harnesses
    assert harnesses < page.index('data-config="starlette-testclient"')
    assert page.index('data-config="granian-mt2"') < controls


def test_cell_page_explains_and_shows_what_ran_where(sample_site: dict[str, str]) -> None:
    page = sample_site["cells/granian-workers2/shutdown.after-drain.sigterm-group.html"]
    prop = sample()["properties"]["shutdown.after-drain.sigterm-group"]
    for text in (prop["description"], prop["expected"], prop["reference"]["url"],
                 prop["reference"]["quote"]):
        assert html.escape(text) in page
    # what the recording holds, whatever run it came from (make sample)
    config = sample()["configurations"]["granian-workers2"]
    assert html.escape(config["verdicts"]["shutdown.after-drain.sigterm-group"]["explanation"],
                       quote=False) in page
    group = config["attempts"][0]["scenarios"]["group"]
    exit_code = group["stop"]["exit_code"]
    assert f"&#34;exit_code&#34;: {exit_code}" in page or \
        f"&quot;exit_code&quot;: {exit_code}" in page
    timeline = page[page.index("<h3>Timeline</h3>"):page.index("<h3>Server log")]
    for text in ("+0.000 s", "lifespan.startup", "lifespan.shutdown", "SIGTERM", "tag slow"):
        assert text in timeline
    served = [e for e in group["events"] if e.get("event") == "http"]
    assert f"pid {served[0]['pid']}" in page  # the topology table
    assert served[0]["loop_id"] in page
    last_line = group["log_tail"].strip().splitlines()[-1]
    assert html.escape(last_line, quote=False) in page  # the group scenario's log tail
    assert "asgi-matrix run --config granian-workers2" in page
    assert "-m granian --interface asgi --workers 2" in page


def test_config_page(sample_site: dict[str, str]) -> None:
    page = sample_site["configs/uvicorn-workers2.html"]
    config = sample()["configurations"]["uvicorn-workers2"]
    assert "<h1>uvicorn-workers2</h1>" in page
    for package in ("uvicorn", "h11"):
        assert f"<code>{package}=={config['versions'][package]}</code>" in page
    assert page.count("<tr><th scope=\"row\">") == len(config["verdicts"])
    assert "requests recorded" in page
    assert "asgi-matrix run --config uvicorn-workers2" in page
    assert "--workers 2 asgi_probe:app" in page
    assert "[![asgi-matrix: uvicorn-workers2](https://img.shields.io/endpoint?url=" in page
    assert "badges%2Fuvicorn-workers2.json" in page


def test_badges_are_shields_endpoints(sample_site: dict[str, str]) -> None:
    verdicts = sample()["configurations"]["uvicorn"]["verdicts"].values()
    passed = sum(v["status"] == "pass" for v in verdicts)
    assert 0 < passed < len(verdicts)  # some but not all: the yellow badge
    assert json.loads(sample_site["badges/uvicorn.json"]) == {
        "schemaVersion": 1, "label": "uvicorn", "message": f"{passed}/{len(verdicts)} pass",
        "color": "yellow"}
    badge = json.loads(sample_site["badges/daphne/lifespan.supported.json"])
    assert badge == {"schemaVersion": 1, "label": "daphne: Lifespan supported",
                     "message": "unsupported", "color": "lightgrey"}
    not_required = json.loads(sample_site["badges/uvicorn/context.propagates.json"])
    assert (not_required["message"], not_required["color"]) == ("no (not-in-spec)", "blue")


def test_base_url_makes_badge_urls_absolute(document: Document) -> None:
    options = _site.Options(now=FRESH.now, base_url="https://example.org/asgi-matrix")
    page = _site.render(document, options)["configs/granian.html"]
    assert "https://example.org/asgi-matrix/configs/granian.html" in page
    assert "YOUR-SITE" not in page


def test_data_files_are_beside_the_pages(sample_site: dict[str, str]) -> None:
    assert json.loads(sample_site["data/results.json"]) == sample()
    schema = json.loads(sample_site["data/results.schema.json"])
    jsonschema.validate(json.loads(sample_site["data/results.json"]), schema)


def test_about_page_has_scenarios_statuses_and_provenance(sample_site: dict[str, str]) -> None:
    page = sample_site["about.html"]
    for scenario in ("main", "group", "startup-fail", "reject-lifespan"):
        assert f"<dt><code>{scenario}</code></dt>" in page
    for status in words.VOCABULARY:  # the whole vocabulary, apps' statuses too
        assert f"{words.GLYPHS[status]} {words.WORDS[status]}</td>" in page
    recorded = sample()
    for value in (recorded["suite"]["version"], recorded["suite"]["commit"],
                  recorded["suite"]["probe_sha256"], recorded["host"]["python"],
                  recorded["host"]["os"], recorded["run"]["started"], recorded["run"]["backend"]):
        assert html.escape(value) in page


def test_every_page_shows_the_run_date(sample_site: dict[str, str]) -> None:
    stamp = (f"Measured <time datetime=\"{FINISHED.isoformat()}\">"
             f"{FINISHED:%Y-%m-%d %H:%M} UTC")
    for name, text in sample_site.items():
        if name.endswith(".html"):
            assert stamp in text, name


@pytest.mark.parametrize(("days_later", "stale"), [(1, False), (7, False), (8, True)])
def test_stale_banner(document: Document, days_later: int, stale: bool) -> None:
    options = _site.Options(stale_after_days=7, now=FINISHED + timedelta(days=days_later))
    files = _site.render(document, options)
    for name in ("index.html", "about.html", "configs/daphne.html",
                 "cells/daphne/lifespan.supported.html"):
        banner = re.search(r'<p id="stale"[^>]*>', files[name])
        assert banner is not None
        assert (" hidden" not in banner.group(0)) is stale, name
        assert "Old data:" in files[name]


def test_stale_uses_started_when_the_run_did_not_finish(document: Document) -> None:
    document["run"]["finished"] = None
    document["run"]["started"] = (FINISHED - timedelta(days=30)).isoformat()
    assert _site.is_stale(document, FRESH)
    assert not _site.is_stale(document, _site.Options(stale_after_days=60, now=FRESH.now))


def test_server_supplied_text_comes_out_inert(document: Document) -> None:
    evil_id = '<img src=x onerror="alert(2)">evil'
    config = document["configurations"].pop("granian")
    config.update(id=evil_id, server="<b>srv</b>", log_tail="ok\n<script>alert(1)</script>\n",
                  versions={**config["versions"], "<b>srv</b>": "1.0<script>"})
    config["verdicts"]["context.propagates"]["explanation"] = "saw </pre><script>x()</script>"
    config["verdicts"]["context.propagates"]["evidence"] = {"seen": ["</script><i>"]}
    config["attempts"][-1]["scenarios"]["main"]["log_tail"] = "<script>alert(1)</script>"
    config["attempts"][-1]["scenarios"]["main"]["events"][0]["thread_name"] = "<u>t</u>"
    document["configurations"][evil_id] = config
    _results.validate(document)
    files = _site.render(document, FRESH)
    pages = {name: text for name, text in files.items() if name.endswith(".html")}
    for name, text in pages.items():
        for raw in ("<script>alert(1)", "<img src=x", "<b>srv", "<script>x()", "</script><i>",
                    "<u>t</u>", '1.0<script>'):
            assert raw not in text, f"{name} contains {raw}"
    slug = _site.slugs(document["configurations"])[evil_id]
    assert re.fullmatch(r"[A-Za-z0-9._-]+", slug)
    cell = pages[f"cells/{slug}/context.propagates.html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cell
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;evil" in cell
    assert "&lt;u&gt;t&lt;/u&gt;" in cell
    assert "&lt;/script&gt;&lt;i&gt;" in cell
    index = pages["index.html"]
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;evil" in index
    assert "&lt;b&gt;srv&lt;/b&gt; <small>1.0&lt;script&gt;</small>" in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[f"configs/{slug}.html"]


def test_slugs_are_unique_and_safe() -> None:
    found = _site.slugs(["a/b", "a-b", "A-B", "..", "ok.id-1"])
    assert (found["a-b"], found["ok.id-1"]) == ("a-b", "ok.id-1")
    assert len(set(found.values())) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", s) and s not in (".", "..")
               for s in found.values())
    assert len({s.lower() for s in found.values()}) == 5


#: bytes of the index per cell (configuration x property): it grows with the matrix, not
#: with what each cell holds (about 340 today, 30 gzipped)
CELL_BYTES, CELL_GZIP_BYTES = 420, 40


def test_matrix_page_weight(sample_site: dict[str, str]) -> None:
    recorded = sample()
    # the page answers per property and per app (framework or pattern): both are cells
    cells = len(recorded["configurations"]) * (len(recorded["properties"])
                                               + len(recorded.get("patterns") or {}))
    assert len(sample_site["index.html"].encode()) <= CELL_BYTES * cells
    assert _site.transferred_size(sample_site["index.html"]) <= CELL_GZIP_BYTES * cells


def test_build_writes_the_site_and_rebuilds_in_place(tmp_path, document: Document) -> None:
    out = tmp_path / "site"
    count = _site.build(document, out, FRESH)
    assert (out / "index.html").is_file()
    assert (out / "static" / "site.css").is_file()
    assert (out / ".nojekyll").exists()
    assert count == sum(1 for p in out.rglob("*") if p.is_file())
    (out / "CNAME").write_text("example.org\n")  # a file of the user's survives a rebuild
    del document["configurations"]["daphne"]
    _site.build(document, out, FRESH)
    assert not (out / "configs" / "daphne.html").exists()
    assert (out / "CNAME").read_text() == "example.org\n"


def test_build_refuses_a_folder_that_is_not_a_site(tmp_path, document: Document) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(_results.ResultsError, match="not empty and not an asgi-matrix site"):
        _site.build(document, tmp_path, FRESH)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_scope_types_of_its_own_are_listed_on_the_configuration_page(document: Document) -> None:
    config = document["configurations"]["uvicorn"]
    main = config["attempts"][-1]["scenarios"]["main"]
    where = {k: main["events"][0][k] for k in ("pid", "thread_name", "loop_id", "t")}
    for loop in ("loop-a", "loop-b"):
        main["events"].append({"event": "scope", "scope_type": "pounce.worker.startup",
                               "scope_keys": ["type", "worker_id"],
                               **where, "loop_id": loop})
    config["facts"]["other_scope_types"] = ["pounce.worker.startup"]
    page = _site.render(document, FRESH)["configs/uvicorn.html"]
    section = page[page.index('id="own-scopes"'):page.index("</section>",
                                                             page.index('id="own-scopes"'))]
    assert "Beside <code>lifespan</code>" in section
    row = _cells(section)
    assert row == ["2", "1", "2", "main", "type worker_id"]
    assert "<code>pounce.worker.startup</code>" in section


def test_no_scope_types_of_its_own_no_section(document: Document) -> None:
    page = _site.render(document, FRESH)["configs/uvicorn.html"]
    assert 'id="own-scopes"' not in page
    assert '<select name="python">' not in _site.render(document, FRESH)["index.html"]


def test_the_python_axis_filters_and_labels_rows(document: Document) -> None:
    document["configurations"]["granian"]["axes"]["python"] = "3.14"
    document["configurations"]["granian"]["python"] = "3.14"
    page = _site.render(document, FRESH)["index.html"]
    select = page[page.index('<select name="python">'):]
    assert select[:select.index("</select>")].count("<option>3.14</option>") == 1
    assert 'data-python="3.14"' in _row(page, "granian")
    assert "1 thread · Python 3.14</small>" in _row(page, "granian")
