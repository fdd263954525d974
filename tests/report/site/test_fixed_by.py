"""A flag row's measurements on its base configuration's page: "fixed by FLAG" where the
base fails a property the flag row passes, and nowhere else."""

from __future__ import annotations

import copy
import html
import re

from asgi_matrix.report import site as _site
from helpers.site_docs import FRESH, Document


def _flag_row(document: Document, fails: str, passes: str) -> None:
    """uvicorn fails ``fails`` and ``passes``; its flag row passes only ``passes``."""
    base = document["configurations"]["uvicorn"]
    for prop in (fails, passes):
        base["verdicts"][prop] = {**base["verdicts"][prop], "status": "fail",
                                  "explanation": "it did not"}
    row = copy.deepcopy(base)
    row.update(id="uvicorn-reset-contextvars",
               flag={"args": "--reset-contextvars", "of": "uvicorn"})
    row["verdicts"][passes] = {**row["verdicts"][passes], "status": "pass",
                               "explanation": "it did"}
    document["configurations"]["uvicorn-reset-contextvars"] = row


def _explanation(page: str, prop: str) -> str:
    start = page.index(f"<code>{prop}</code>")
    return html.unescape(re.sub(r"<[^>]+>", "", page[start:page.index("</tr>", start)]))


def test_the_base_page_says_fixed_by_the_flag_where_the_flag_row_passes(document):
    _flag_row(document, fails="state.shallow-copy", passes="context.isolated")
    page = _site.render(document, FRESH)["configs/uvicorn.html"]
    assert "fixed by --reset-contextvars (measured: uvicorn-reset-contextvars passes)" in \
        _explanation(page, "context.isolated")
    assert "fixed by" not in _explanation(page, "state.shallow-copy")  # it fails there too
    flagged = _site.render(document, FRESH)["configs/uvicorn-reset-contextvars.html"]
    assert "fixed by" not in flagged  # only the base configuration's page says it


def test_a_caveat_cell_links_the_server_property_that_fails(document):
    config = document["configurations"]["uvicorn"]
    pattern = next(iter(config["patterns"]))
    config["patterns"][pattern] = {
        **config["patterns"][pattern], "status": "caveat",
        "explanation": "works with a caveat, the server's fault",
        "evidence": {"server_property": "shutdown.delivered.sigterm-main",
                     "reference": "lifespan-state"}}
    files = _site.render(document, FRESH)
    page = next(text for name, text in files.items()
                if name.startswith("patterns/") and name.endswith(".html")
                and "uvicorn" in name and pattern in text and "caveat" in text)
    assert "The server's fault, not the pattern's" in page
    assert re.search(r'href="[^"]*shutdown\.delivered\.sigterm-main[^"]*"', page)
