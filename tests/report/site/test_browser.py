"""The dashboard in a real browser: Debian's Chromium driven by Playwright for Python.

The site is built from the recorded run plus an error cell, an unsupported cell, a
configuration that could not run, a control and a harness, and served on 127.0.0.1
from a thread of this process. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.report import answers, words
from asgi_matrix.report import site as _site
from helpers.prerequisites import missing
from helpers.site_docs import (
    FRESH,
    sample,
    with_breakage,
    with_caveat,
    with_control,
    with_error_and_unsupported,
)

pytestmark = pytest.mark.browser

#: Debian's Chromium; ASGI_MATRIX_CHROMIUM names another build
CHROMIUM = Path(os.environ.get("ASGI_MATRIX_CHROMIUM", "/usr/bin/chromium"))
SHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def _document() -> dict[str, Any]:
    return with_caveat(with_breakage(with_control(with_error_and_unsupported(sample()))))


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "site"
    _site.build(_document(), out, FRESH)
    return out


@pytest.fixture(scope="module")
def site_url(site_dir: Path) -> Iterator[str]:
    server = _site.make_server(site_dir, 0)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield _site.url_of(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        missing("chromium", f"no Chromium at {CHROMIUM}: apt-get install -y chromium, or set "
                    "ASGI_MATRIX_CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        missing("chromium", f"Playwright for Python is not installed: {err}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Tab:
    """A page in a fresh browser context that remembers every script error it saw."""

    def __init__(self, browser: Any, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        self.page.on("console", lambda msg: self.errors.append(msg.text)
                     if msg.type == "error" else None)

    def shot(self, name: str, full_page: bool = True) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / name), full_page=full_page)


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    opened = Tab(browser, DESKTOP)
    yield opened
    opened.context.close()
    assert opened.errors == [], "errors in the page"


def _column(prop: str) -> int:
    return list(_document()["properties"]).index(prop)


def _text(locator: Any) -> str:
    """A cell's text as read aloud: the glyph, then its word (visually hidden in the matrix)."""
    return " ".join(locator.inner_text().split())


def _cell(tab: Tab, config: str, prop: str) -> Any:
    return tab.page.locator(f'tr[data-config="{config}"] td').nth(_column(prop))


def test_matrix_shows_the_verdicts(tab: Tab, site_url: str) -> None:
    tab.page.goto(site_url + "index.html")
    tab.shot("matrix.png")
    assert tab.page.locator("#filters").is_visible()  # the script ran
    document = _document()
    for config_id in ("uvicorn", "granian-workers2", "daphne"):
        for prop, verdict in document["configurations"][config_id]["verdicts"].items():
            status = words.shown(verdict["status"], words.level_of(document["properties"][prop]))
            assert _text(_cell(tab, config_id, prop)) == f"{_site.GLYPHS[status]} {status}"
    assert _text(_cell(tab, "granian", "lifespan.per-loop")) == "! error"
    assert _text(_cell(tab, "granian", "state.shallow-copy")) == "– unsupported"
    assert "no wheel for trio" in tab.page.locator('tr[data-config="hypercorn-trio"]').inner_text()
    assert tab.page.get_by_role("heading", name="Reference servers: controls").is_visible()
    assert tab.page.get_by_role("heading", name="In-process test clients").is_visible()
    header = tab.page.get_by_role("columnheader", name="Lifespan per event loop").first
    assert header.is_visible()


def test_a_cell_opens_its_detail_page(tab: Tab, site_url: str) -> None:
    tab.page.goto(site_url + "index.html")
    _cell(tab, "granian-workers2", "shutdown.after-drain.sigterm-group").get_by_role(
        "link").click()
    tab.page.wait_for_url("**/cells/granian-workers2/shutdown.after-drain.sigterm-group.html")
    heading = tab.page.get_by_role("heading", level=1).inner_text()
    assert heading.startswith("Drains first (SIGTERM to the process group)")
    assert tab.page.locator("table.timeline tbody tr").count() >= 5
    assert tab.page.locator("table.timeline").get_by_text("SIGTERM", exact=True).is_visible()
    assert "asgi-matrix run --config granian-workers2" in tab.page.locator("#main").inner_text()
    tab.shot("cell.png")
    tab.page.get_by_role("link", name="granian-workers2").first.click()
    tab.page.wait_for_url("**/configs/granian-workers2.html")
    tab.shot("config.png")


def test_a_url_filter_hides_rows(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "index.html?server=granian&group=shutdown")
    assert page.locator('tr[data-config="granian-mt2"]').is_visible()
    assert page.locator('tr[data-config="uvicorn"]').is_hidden()
    assert page.locator('tr[data-config="control-multiloop"]').is_hidden()
    assert page.locator('th[data-prop="lifespan.supported"]').first.is_hidden()
    assert page.locator('th[data-prop="shutdown.delivered.sigterm-main"]').first.is_visible()
    assert page.locator("select[name=server]").input_value() == "granian"
    tab.shot("matrix-filtered.png")
    page.select_option("select[name=status]", "error")
    assert "status=error" in page.url
    assert page.locator('tr[data-config="granian-mt2"]').is_hidden()
    page.select_option("select[name=server]", "")
    assert page.locator('tr[data-config="hypercorn-trio"]').is_visible()  # not measured: error
    assert page.locator('tr[data-config="granian"]').is_hidden()  # its error is not shutdown
    assert page.locator("#permalink").get_attribute("href") == \
        "index.html?group=shutdown&status=error"
    page.select_option("select[name=group]", "lifespan")
    assert page.locator('tr[data-config="granian"]').is_visible()
    assert page.locator('tr[data-config="uvicorn"]').is_hidden()


def test_a_requirements_query_highlights(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "index.html?need=lifespan.per-loop,context.propagates")
    assert page.locator("tr.config.meets").evaluate_all(
        "rows => rows.map(r => r.dataset.config)") == ["control-multiloop"]
    result = page.locator("#need-result")
    assert result.inner_text() == ("1 of 15 configurations pass all of: Lifespan per event "
                                   "loop, Contextvars reach HTTP handlers.")
    assert "meets your needs" in page.locator('tr[data-config="control-multiloop"]').inner_text()
    page.locator("input[name=need][value='context.propagates']").uncheck()
    assert "need=lifespan.per-loop" in page.url
    document = _document()
    passing = [c for c, config in document["configurations"].items()
               if config.get("verdicts", {}).get("lifespan.per-loop", {}).get("status") == "pass"
               and config["status"] == "measured"]
    assert page.locator("tr.config.meets").count() == len(passing)
    page.locator("input[name=need][value='shutdown.after-drain.sigterm-main']").check()
    tab.shot("matrix-need.png")


def test_dark_mode_follows_the_system(tab: Tab, site_url: str) -> None:
    tab.page.emulate_media(color_scheme="dark")
    tab.page.goto(site_url + "index.html")
    background = tab.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    tab.shot("matrix-dark.png")
    tab.page.goto(site_url + "cells/granian-workers2/lifespan.per-loop.html")
    tab.shot("cell-dark.png")
    tab.page.emulate_media(color_scheme="light")
    assert tab.page.evaluate("getComputedStyle(document.body).backgroundColor") == \
        "rgb(255, 255, 255)"


def test_keyboard_skip_link_and_focus(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "index.html")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.locator("a.skip").is_visible()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    # following the link moves the focus; wait (bounded) for it rather than read at once
    page.wait_for_function("document.activeElement && document.activeElement.id === 'main'")
    assert page.evaluate("document.activeElement.id") == "main"


def test_on_a_phone_the_table_scrolls_in_its_box(browser: Any, site_url: str) -> None:
    tab = Tab(browser, PHONE)
    try:
        page = tab.page
        page.goto(site_url + "index.html")
        wrap = page.locator(".matrix-section .table-wrap").first
        assert wrap.evaluate("w => w.scrollWidth > w.clientWidth")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        name = page.locator('tr[data-config="uvicorn"] th[scope=row]')
        before = name.bounding_box()
        wrap.evaluate("w => { w.scrollLeft = 400; }")
        after = name.bounding_box()
        assert before is not None
        assert after is not None
        assert abs(after["x"] - before["x"]) < 2  # the first column stays put
        tab.shot("phone.png")
        assert tab.errors == []
    finally:
        tab.context.close()


def test_it_works_from_disk(tab: Tab, site_dir: Path) -> None:
    page = tab.page
    page.goto((site_dir / "index.html").as_uri() + "?server=daphne")
    assert page.locator('tr[data-config="daphne"]').is_visible()
    assert page.locator('tr[data-config="uvicorn"]').is_hidden()
    _cell(tab, "daphne", "lifespan.supported").get_by_role("link").click()
    page.wait_for_url("**/cells/daphne/lifespan.supported.html")
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") \
        == "flex"  # the stylesheet loaded by its relative link


# -- the answer first, comparisons, fails-only, badges --------------------------------------

def _answer_texts(page: Any, server: str) -> list[str]:
    row = page.locator(f'table.answers tr[data-server="{server}"] td > a')
    return [" ".join(t.split()) for t in row.all_inner_texts()]


def test_the_answer_is_above_the_fold_at_1400(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "index.html")
    tab.shot("front-1400x900.png", full_page=False)
    section = page.locator('section.app[data-app="fastapi-app-state"]')
    assert section.is_visible()  # the first framework, picked for you
    assert page.locator("section.app:visible").count() == 1  # the others wait for the picker
    box = section.locator("table.app-servers").bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= DESKTOP["height"]  # no scrolling to read it
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    rows = section.locator("tbody tr")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.status)")[:5] == [
        "works", "works", "works", "caveat", "n/a"]
    assert "Pick uvicorn, gunicorn, granian:" in section.locator(".pick").inner_text()
    # each server's answer opens its evidence: the pattern cell
    section.locator('tr[data-server="hypercorn"] td.why a').click()
    page.wait_for_url("**/patterns/fastapi-app-state/hypercorn.html")
    page.go_back()
    page.select_option("#app-select", "contextvar-resource")
    assert "app=contextvar-resource" in page.url
    picked = page.locator('section.app[data-app="contextvar-resource"]')
    assert picked.is_visible()
    assert section.is_hidden()
    assert picked.locator('tr[data-server="uvicorn"]').get_attribute("data-status") == "breaks"
    # the summary's "Your apps" link opens that app's section
    page.goto(site_url + "index.html")
    row = page.locator('table.answers tr[data-server="uvicorn"] td.apps')
    row.get_by_role("link", name="Resource in a ContextVar set during startup").click()
    assert picked.is_visible()
    assert _answer_texts(page, "uvicorn")[:3] == ["✓ pass", "✓ pass", "○ no"]
    assert _answer_texts(page, "daphne")[0] == "– unsupported"


def test_the_matrix_fits_1400_pixels(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "index.html")
    for wrap in page.locator(".matrix-section .table-wrap").all():
        assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth")
    header = page.locator('tr.props th[data-prop="lifespan.per-loop"]').first
    assert header.locator(".sr").inner_text() == \
        "Lifespan per event loop (recommended by the spec (SHOULD))"
    assert header.get_attribute("title").startswith("Lifespan per event loop (SHOULD): ")
    assert header.locator(".v").evaluate("e => getComputedStyle(e).writingMode") == \
        "vertical-rl"  # reads upwards: thirty-odd columns fit
    page.locator("details.columns summary").click()
    assert page.locator("details.columns").get_by_text("Drains first (SIGTERM to the main "
                                                       "process)").is_visible()
    tab.shot("matrix-1400.png")


def test_the_answer_on_a_phone(browser: Any, site_url: str) -> None:
    tab = Tab(browser, PHONE)
    try:
        page = tab.page
        page.goto(site_url + "index.html")
        tab.shot("front-390.png", full_page=False)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        section = page.locator('section.app[data-app="fastapi-app-state"]')
        first = section.locator('tr[data-server="uvicorn"]').bounding_box()
        assert first is not None
        assert first["y"] + first["height"] <= PHONE["height"]  # the answer above the fold
        assert first["x"] >= 0
        assert first["x"] + first["width"] <= PHONE["width"]
        card = page.locator('table.answers tr[data-server="uvicorn"]')
        question = card.locator("td:not(.apps) .q").first
        question.scroll_into_view_if_needed()
        assert question.is_visible()  # each answer says its question on a phone
        assert question.inner_text() == "Runs the lifespan once per event loop"
        tab.shot("front-390-full.png")
        assert tab.errors == []
    finally:
        tab.context.close()


def _diff_rows(page: Any) -> list[str]:
    rows = page.locator("table.compare tbody tr.differs")
    return [" ".join(rows.nth(i).inner_text().split()) for i in range(rows.count())]


def test_compare_two_configurations_by_url(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "compare.html?a=uvicorn&b=hypercorn-workers2")
    # the script's comparison agrees with the pre-built one (answers.compare) on the record
    expected = answers.compare(_document(), "uvicorn", "hypercorn-workers2")
    assert expected["differences"] > 0
    assert page.locator(".compare-count").inner_text().startswith(
        f"{expected['differences']} difference")
    first_id = expected["rows"][0]["id"]
    prop = _document()["properties"][first_id]
    assert _diff_rows(page)[0].startswith(f"{prop['title']} {first_id} · ")
    first = page.locator("table.compare tbody tr.differs").first.locator("a")
    assert [first.nth(i).get_attribute("href") for i in range(2)] == [
        f"cells/uvicorn/{first_id}.html", f"cells/hypercorn-workers2/{first_id}.html"]
    parts = page.locator("table.compare tr.part").all_inner_texts()
    assert [p.strip().lower() for p in parts] == ["different", "the same in both"]
    assert page.locator("select[name=a]").input_value() == "uvicorn"
    tab.shot("compare.png")
    first.nth(1).click()
    page.wait_for_url(f"**/cells/hypercorn-workers2/{first_id}.html")
    page.goto(site_url + "compare.html?a=nope&b=uvicorn")
    assert page.locator("#compare-status").inner_text().startswith("Not in this run: “nope”")
    assert page.locator("table.compare").count() == 0


def test_compare_from_a_configuration_page(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "configs/granian-mt2.html")
    page.get_by_role("link", name="Compare granian-mt2 with any other configuration").click()
    page.wait_for_url("**/compare.html?a=granian-mt2")
    assert page.locator("select[name=a]").input_value() == "granian-mt2"
    assert page.locator("#compare-status").inner_text().startswith("Choose the configuration")
    page.select_option("select[name=b]", "granian")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/compare.html?a=granian-mt2&b=granian")
    assert _diff_rows(page)[0].startswith("Lifespan per event loop")
    # the pre-built comparison with the server's default needs no script
    page.goto(site_url + "configs/granian-mt2.html")
    page.get_by_role("link", name="with granian").click()
    page.wait_for_url("**/compare/granian--granian-mt2.html")
    assert page.locator(".compare-count").inner_text().startswith("2 differences")


def test_fails_only_here(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "configs/granian-mt2.html")
    page.goto(site_url + "fails-only.html")
    row = page.locator('table.fails-only tr[data-config="granian-mt2"]')
    assert "Lifespan per event loop" in row.inner_text()
    assert "loop B served without a lifespan" in row.inner_text()
    tab.shot("fails-only.png")
    row.get_by_role("link", name="Lifespan per event loop").click()
    page.wait_for_url("**/cells/granian-mt2/lifespan.per-loop.html")
    page.goto(site_url + "configs/granian-mt2.html#fails-only")
    section = page.locator("section", has=page.locator("#fails-only"))
    assert "Lifespan per event loop" in section.inner_text()
    peers = answers.fails_only(_document())["granian-mt2"][0]["peers"]
    assert f"({peers} others pass" in section.inner_text()  # granian, hypercorn-trio: errors


def test_the_badges_panel_copies_markdown(browser: Any, site_url: str) -> None:
    tab = Tab(browser, DESKTOP)
    try:
        tab.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = tab.page
        page.goto(site_url + "configs/uvicorn.html#badges")
        panel = page.locator(".badge-panel").first
        labels = panel.locator(".snippet-label").all_inner_texts()
        assert labels == ["Badge URL (JSON)", "Markdown", "HTML"]
        assert panel.locator("pre").nth(0).locator("code").inner_text() == \
            "https://YOUR-SITE.example/badges/uvicorn.json"
        button = panel.locator("pre").nth(1).get_by_role("button", name="Copy").element_handle()
        button.click()
        # the write is a promise: read once the button said it was done ("Copied" for 1.5 s;
        # the poll is a timer due before the one that takes the word back)
        page.wait_for_function("b => b.textContent === 'Copied'", arg=button, polling=20)
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("[![asgi-matrix: uvicorn](https://img.shields.io/endpoint?url=")
        assert copied.endswith("(https://YOUR-SITE.example/configs/uvicorn.html)")
        per_property = page.locator("details.badge-cells").filter(
            has_text="One badge per property")
        per_property.locator("summary").click()
        cells = per_property.locator(".badge-panel")
        assert cells.count() == len(_document()["configurations"]["uvicorn"]["verdicts"])
        context = cells.filter(has_text="context.propagates-websocket").first
        assert "○ no" in " ".join(context.locator("h3").inner_text().split())
        assert context.locator("pre").count() == 3
        tab.shot("badges.png")
        badge = page.request.get(site_url + "badges/uvicorn/context.propagates.json").json()
        assert badge["color"] == "blue"
        assert tab.errors == []
    finally:
        tab.context.close()


def test_keyboard_reaches_the_answers_and_the_matrix(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "index.html")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # skip link: focus moves to main
    assert page.evaluate("document.activeElement.id") == "main"
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        href = page.evaluate("document.activeElement.getAttribute('href') || ''")
        seen.append(href)
        if href.startswith("cells/uvicorn/"):
            break
    assert seen[-1] == "cells/uvicorn/lifespan.per-loop.html", seen  # the first answer
    assert "patterns/fastapi-app-state/uvicorn.html" in seen  # your app came first
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    page.wait_for_url("**/cells/uvicorn/lifespan.per-loop.html")
    # the matrix's scrolling regions and cell links take focus too
    page.goto(site_url + "index.html")
    page.locator('tr[data-config="uvicorn"] td a').first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/cells/uvicorn/lifespan.supported.html")


def test_without_javascript(browser: Any, site_url: str) -> None:
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(site_url + "index.html")
        assert page.locator("table.answers").is_visible()
        sections = page.locator("section.app")  # every app, one after another
        assert sections.count() == len(_document()["patterns"])
        assert all(sections.nth(i).is_visible() for i in range(sections.count()))
        assert page.locator("#app-form").is_hidden()
        page.locator(".app-links").get_by_role("link", name="Django: an ASGI app without "
                                               "lifespan support").click()
        assert "#app-django-asgi" in page.url
        assert page.locator("#filters").is_hidden()  # filtering needs the script, and says so
        assert "take JavaScript, which is off" in page.locator("#main").inner_text()
        assert page.locator('tr[data-config="uvicorn"]').is_visible()
        page.goto(site_url + "compare.html?a=uvicorn&b=granian")
        assert "needs JavaScript" in page.locator("noscript").first.inner_text() or \
            "needs JavaScript" in page.locator("#main").inner_text()
        page.get_by_role("link", name="uvicorn and uvicorn-workers2").click()
        page.wait_for_url("**/compare/uvicorn--uvicorn-workers2.html")
        assert page.locator("table.compare tbody tr.differs").count() == \
            answers.compare(_document(), "uvicorn", "uvicorn-workers2")["differences"]
    finally:
        context.close()


def test_every_property_of_today_fits_1400_pixels(browser: Any, tmp_path: Path) -> None:
    """All the properties the verdicts define now (thirty-odd), not only the recorded run's."""
    from asgi_matrix.verdicts import PROPERTIES

    document = _document()
    document["properties"] = {p.id: p.to_json() for p in PROPERTIES}
    for config in document["configurations"].values():
        verdicts = config.setdefault("verdicts", {})
        for prop in PROPERTIES:
            verdicts.setdefault(prop.id, {"status": "unsupported", "explanation": "-",
                                          "evidence": {}})
    _site.build(document, tmp_path / "site", FRESH)
    tab = Tab(browser, DESKTOP)
    try:
        tab.page.goto((tmp_path / "site" / "index.html").as_uri())
        assert len(PROPERTIES) >= 30
        assert tab.page.locator(".matrix-section .table-wrap").first.evaluate(
            "w => w.scrollWidth <= w.clientWidth")
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
        tab.shot("matrix-all-properties-1400.png", full_page=False)
    finally:
        tab.context.close()


# -- one truth, one vocabulary, a palette for colour-blind readers -----------------------------

#: Machado, Oliveira and Fernandes (2009), deuteranopia at severity 1, for linear RGB: what
#: an feColorMatrix (linearRGB by default) applies in the page
DEUTERANOPIA = ("0.367322 0.860646 -0.227968 0 0  0.280085 0.672501 0.047413 0 0  "
                "-0.011820 0.042940 0.968881 0 0  0 0 0 1 0")
_SIMULATE = """values => {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", "0"); svg.setAttribute("height", "0");
  svg.style.position = "absolute";
  svg.innerHTML = '<filter id="deuteranopia"><feColorMatrix type="matrix" values="' +
                  values + '"/></filter>';
  document.body.appendChild(svg);
  document.querySelector("main").style.filter = "url(#deuteranopia)";
}"""
_PIXEL = """async ([shot, points]) => {
  const img = new Image();
  img.src = "data:image/png;base64," + shot;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width; canvas.height = img.height;
  const g = canvas.getContext("2d");
  g.drawImage(img, 0, 0);
  return points.map(([x, y]) => Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3)));
}"""


def _fills(page: Any, selectors: dict[str, str]) -> dict[str, tuple[int, ...]]:
    """The rendered fill of the first element of each selector, read from a screenshot of
    the page as drawn (filters included), 3 px inside its top left corner."""
    import base64

    found = {}
    for name, selector in selectors.items():
        element = page.locator(selector).first
        element.scroll_into_view_if_needed()
        box = element.bounding_box()
        assert box is not None, selector
        shot = base64.b64encode(page.screenshot()).decode()
        point = [round(box["x"] + 3), round(box["y"] + 3)]
        found[name] = tuple(page.evaluate(_PIXEL, [shot, [point]])[0])
    return found


def _distance(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    return float(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5)


#: the fills a reader must tell apart: pass/works, fail/breaks, partly/caveat
_CELLS = {"pass": 'tr[data-config="uvicorn"] td.pass', "fail": 'table.matrix td.fail',
          "partly": 'section.app[data-app="fastapi-app-state"] .st.partly'}


def test_the_palette_survives_deuteranopia(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "index.html")
    seen = _fills(page, _CELLS)
    page.evaluate(_SIMULATE, DEUTERANOPIA)
    simulated = _fills(page, _CELLS)
    tab.shot("matrix-deuteranopia.png", full_page=False)
    assert simulated != seen  # the filter did act on the page
    for a, b in (("pass", "fail"), ("pass", "partly"), ("fail", "partly")):
        assert _distance(simulated[a], simulated[b]) > 40, (a, b, simulated)
    # the check can fail: GitHub's greens and reds, as this site had them, come out alike
    page.goto(site_url + "index.html")
    page.add_style_tag(content=":root { --pass-bg: #dafbe1; --fail-bg: #ffebe9; }")
    page.evaluate(_SIMULATE, DEUTERANOPIA)
    old = _fills(page, _CELLS)
    assert _distance(old["pass"], old["fail"]) < 15


def test_every_glyph_on_the_front_page_is_in_the_legend(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "index.html")
    legend = page.locator("ul.legend li .st").all_inner_texts()
    pairs = [" ".join(item.split()) for item in legend]
    assert pairs == [f"{words.GLYPHS[s]} {words.WORDS[s]}" for s in words.VOCABULARY]
    glyphs = {pair.split()[0] for pair in pairs}
    assert len(glyphs) == len(words.VOCABULARY)  # one glyph per status, none shared
    chips = page.locator("main .st, table.matrix td a, table.answers td > a").all_inner_texts()
    used = {text.split()[0] for text in chips if text.strip()}
    assert used <= glyphs, used - glyphs


def test_the_needs_filter_never_marks_a_configuration_your_app_breaks_on(
        tab: Tab, site_url: str) -> None:
    page = tab.page
    configs = _document()["configurations"]

    def status(cid: str, app: str) -> str:
        return str((configs[cid].get("patterns") or {}).get(app, {}).get("status", "not-run"))

    def passing(prop: str) -> set[str]:
        return {cid for cid, c in configs.items() if c["status"] == "measured"
                and c["verdicts"].get(prop, {}).get("status") == "pass"}

    # a need and an app that breaks on one configuration meeting the need, works on another
    prop, app = next((p, a) for p in _document()["properties"] for a in _document()["patterns"]
                     if any(status(c, a) == "breaks" for c in passing(p))
                     and any(status(c, a) == "works" for c in passing(p)))
    page.goto(site_url + f"index.html?app={app}&need={prop}")
    meets = page.locator("tr.config.meets").evaluate_all(
        "rows => rows.map(r => r.dataset.config)")
    assert set(meets) == {c for c in passing(prop) if status(c, app) in ("works", "caveat")}
    assert not any(status(c, app) == "breaks" for c in meets)
    title = _document()["patterns"][app]["title"]
    assert f"your app ({title}) does not break" in page.locator("#need-result").inner_text()
    # the picker at the top is the filter's app: pick FastAPI app.state there
    page.select_option("#app-select", "fastapi-app-state")
    assert page.locator("select[name=app]").nth(1).input_value() == "fastapi-app-state"
    flag = page.locator('tr[data-config="hypercorn"] .meets-flag')
    assert flag.inner_text() == "★ meets your needs, with a caveat"
    tab.shot("matrix-need-app.png")


def test_compare_opens_on_a_meaningful_pair_with_the_app_patterns(
        browser: Any, site_url: str) -> None:
    a, b = answers.default_pair(_document()) or ("", "")
    expected = answers.compare(_document(), a, b)
    for viewport, name in ((DESKTOP, "compare-default.png"), (PHONE, "compare-390.png")):
        tab = Tab(browser, viewport)
        try:
            page = tab.page
            page.goto(site_url + "index.html")
            page.get_by_role("link", name="Compare two").click()
            page.wait_for_url("**/compare.html")
            assert page.locator("select[name=a]").input_value() == a
            assert page.locator("select[name=b]").input_value() == b
            assert page.locator(".compare-count").inner_text().startswith(
                f"{expected['differences']} difference")
            pattern = next(r for r in expected["rows"] if r["pattern"])
            row = page.locator("table.compare tbody tr").filter(has_text=pattern["id"])
            assert row.locator("a").first.get_attribute("href") == \
                f"patterns/{pattern['pattern']}/{a}.html"
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            tab.shot(name)
            assert tab.errors == []
        finally:
            tab.context.close()


def test_where_a_server_differs(tab: Tab, site_url: str) -> None:
    page = tab.page
    page.goto(site_url + "index.html")
    page.get_by_role("link", name="Where a server differs").click()
    page.wait_for_url("**/outliers.html")
    found = answers.outliers(_document())
    assert found  # the recorded run has outliers
    server = next(iter(found))
    section = page.locator(f"#server-{server}")
    assert section.is_visible()
    tab.shot("outliers.png")
    assert "control" not in " ".join(page.locator("table.outliers th[scope=row]")
                                     .all_inner_texts())
