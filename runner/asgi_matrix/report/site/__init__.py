"""The static dashboard: a results document in, a folder of plain HTML pages out.

    render(document, options) -> {relative path: text}   pure: what the tests look at
    build(document, out_dir, options)                     render, then write with the assets
    make_server(directory, port), url_of(server)          preview on 127.0.0.1

One module per page type, each importing only ``base`` (and the page modules it links
to: config -> badges, compare); this module puts them together:

    index       the answer first, then the matrix       index.html
    config      one configuration, its badges panel      configs/ID.html
    cell        one verdict with its evidence            cells/ID/PROPERTY.html
    compare     two configurations side by side          compare.html, compare/A--B.html
    fails_only  what fails in one configuration only     fails-only.html
    outliers    this server against all others           outliers.html
    history     verdicts across releases                 history/
    patterns    app patterns x configurations             patterns.html, patterns/
    badges      shields.io endpoint JSON                 badges/
    about       how it is measured                       about.html
    writer      to disk (temporary folder, swapped in), and the preview server

Every link is relative, so the folder works from disk (file://) and on GitHub Pages
as it is. Templates autoescape everything: a log line or an id that came from a
server is text, never markup, and only http(s) URLs from results become links.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asgi_matrix.report.site import about as _about
from asgi_matrix.report.site import badges as _badges
from asgi_matrix.report.site import cell as _cell
from asgi_matrix.report.site import compare as _compare
from asgi_matrix.report.site import config as _config
from asgi_matrix.report.site import fails_only as _fails_only
from asgi_matrix.report.site import history_page as _history
from asgi_matrix.report.site import index as _index
from asgi_matrix.report.site import outliers as _outliers
from asgi_matrix.report.site import pattern_pages as _patterns
from asgi_matrix.report.site.base import Options, Site, is_stale, slugs
from asgi_matrix.report.site.writer import MARKER, make_server, transferred_size, url_of, write
from asgi_matrix.report.words import GLYPHS
from asgi_matrix.resources import RESULTS_SCHEMA

__all__ = ["GLYPHS", "MARKER", "Options", "build", "is_stale", "make_server", "render",
           "slugs", "transferred_size", "url_of"]


def render(document: dict[str, Any], options: Options | None = None) -> dict[str, str]:
    """Every generated file of the site, by relative path (static assets excepted)."""
    site = Site(document, options or Options())
    history = _history.compute(document)  # releases: on history/ pages
    site.history_nav = bool(history)
    only = _fails_only.found(site)
    files = _index.render(site, _history.summaries(history, site.properties,
                                                   slugs(history.get("series", {})),
                                                   document.get("patterns") or {}),
                          sum(len(items) for items in only.values()))
    files.update(_about.render(site))
    files.update(_config.render(site, only))
    files.update(_cell.render(site))
    files.update(_compare.render(site))
    files.update(_fails_only.render(site, only))
    files.update(_outliers.render(site))
    files.update(_badges.render(site))
    files.update(_history.render(site, history))
    files.update(_patterns.render(site))
    files["data/results.json"] = json.dumps(document, separators=(",", ":"))
    files["data/results.schema.json"] = RESULTS_SCHEMA.read_text()
    files[".nojekyll"] = ""
    files[MARKER] = "made by asgi-matrix site; rebuilt in place\n"
    return files


def build(document: dict[str, Any], out_dir: Path, options: Options | None = None) -> int:
    """Render the site into ``out_dir``; returns the number of files written."""
    return write(render(document, options), out_dir)
