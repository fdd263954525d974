"""The history page's comparison of two releases, in Debian's Chromium (Playwright)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.report import site as _site
from asgi_matrix.results.history import attach
from helpers.history_docs import history_document
from helpers.prerequisites import missing
from helpers.site_docs import FRESH

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("ASGI_MATRIX_CHROMIUM", "/usr/bin/chromium"))
SHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("history-browser") / "site"
    document = history_document()
    document["configurations"]["uvicorn-history@0.17.0"]["reason"] = "<b>yanked</b>"
    attach(document)  # the history section is the writer's: written again after the edit
    _site.build(document, out, FRESH)
    server = _site.make_server(out, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield _site.url_of(server) + "history/uvicorn-history.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def page(page_url: str) -> Iterator[Any]:
    if not CHROMIUM.exists():
        missing("chromium", f"no Chromium at {CHROMIUM}: apt-get install -y chromium, or set "
                    "ASGI_MATRIX_CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        missing("chromium", f"Playwright for Python is not installed: {err}")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 900})
            tab.on("pageerror", lambda err: errors.append(str(err)))
            tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
                   else None)
            tab.goto(page_url)
            yield tab
        finally:
            browser.close()
    assert errors == [], "errors in the page"


def diff_rows(page: Any) -> list[str]:
    rows = page.locator("#history-diff tbody tr")
    return [" ".join(rows.nth(i).inner_text().split()) for i in range(rows.count())]


def test_any_two_releases_can_be_compared(page: Any) -> None:
    form = page.locator("#history-compare")
    assert form.is_visible()  # the script ran
    assert diff_rows(page) == [
        "Lifespan state state.supported – unsupported ✓ pass",
        "State copied per request state.shallow-copy – unsupported ✓ pass"]
    page.select_option("select[name=old]", "0.21.1")
    assert diff_rows(page) == []
    assert page.locator("#history-compare-title").inner_text() == (
        "0.21.1 → 0.30.6: 0 properties differ.")
    page.select_option("select[name=old]", "0.18.3")
    page.select_option("select[name=new]", "0.20.0")
    assert diff_rows(page) == []
    page.select_option("select[name=new]", "0.21.1")
    assert diff_rows(page) == [  # in the order of the properties, as without the script
        "Lifespan state state.supported – unsupported ✓ pass",
        "State copied per request state.shallow-copy – unsupported ✓ pass"]
    assert page.locator("#history-diff-new").inner_text() == "0.21.1"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "history.png"), full_page=True)


def test_the_strip_links_to_cell_pages_and_escapes_reasons(page: Any) -> None:
    assert page.locator("b", has_text="yanked").count() == 0
    assert "<b>yanked</b>" in page.locator("#releases").locator("..").inner_text()
    link = page.locator(".history-strip td.changed a").first
    assert " ".join(link.inner_text().split()) == "▲ ✓ pass"
    link.click()
    # a click does not wait for the navigation it starts: wait (bounded) for its URL
    page.wait_for_url("**/state.supported.html")
    assert page.url.endswith("/state.supported.html")


def test_two_releases_on_the_compare_page(page: Any) -> None:
    page.locator("#compare-releases").click()
    page.wait_for_url("**/compare.html?a=uvicorn-history%400.18.3&b=uvicorn-history%400.30.6")
    rows = page.locator("table.compare tbody tr.differs")
    assert [" ".join(rows.nth(i).inner_text().split()) for i in range(rows.count())] == [
        "Lifespan state state.supported – unsupported ✓ pass",
        "State copied per request state.shallow-copy – unsupported ✓ pass"]
    links = rows.first.locator("a")
    assert [links.nth(i).get_attribute("href") for i in range(2)] == [
        "cells/uvicorn-history-0.18.3-" + links.nth(0).get_attribute("href").split("-")[-1]
        .split("/")[0] + "/state.supported.html",
        links.nth(1).get_attribute("href")]
    page.select_option("select[name=a]", "uvicorn-history@0.21.1")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/compare.html?a=uvicorn-history%400.21.1&b=uvicorn-history%400.30.6")
    assert page.locator(".compare-count").inner_text().startswith("0 differences")
