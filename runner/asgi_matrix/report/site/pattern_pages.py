"""The pattern pages: app patterns and frameworks x configurations, each cell with its
evidence, and a page per pattern saying why it breaks and what to do instead.

    patterns.html                       the second matrix
    patterns/PATTERN.html               one pattern: why, instead, where it broke, its source
    patterns/PATTERN/CONFIG.html        one cell: verdict, evidence, where, source, reproduce
    badges/patterns/PATTERN/CONFIG.json  its shields.io endpoint badge

The pattern's source is read from the probes installed with asgi-matrix (the same files
the servers ran); results only say which file.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from asgi_matrix.report import apps as _apps
from asgi_matrix.report.site import badges as _badges
from asgi_matrix.report.site.base import Site, command_of, slugs
from asgi_matrix.report.words import CLASSES, GLYPHS
from asgi_matrix.resources import DASHBOARD_DIR, PROBES_DIR
from asgi_matrix.verdicts.references import ASGIREF_277, ASGIREF_338, LIFESPAN_SPEC

#: pattern status -> (CSS class, glyph), from the one vocabulary (words.py)
LOOK = {status: (CLASSES[status], GLYPHS[status])
        for status in ("works", "caveat", "breaks", "n/a", "error")}
MEANING = {"works": "every request succeeded, every job it started completed, every lifespan "
                    "exited cleanly and closed what it opened",
           "caveat": "works with a caveat, the server's fault: the lifespan's end failed "
                     "(jobs cut, shutdown never delivered, resource not closed) for every "
                     "app of the start, the reference pattern too; the server property "
                     "that fails is named",
           "breaks": "a request failed, a job never completed (even silently), a lifespan "
                     "did not exit cleanly, the resource was not closed, or a chunked "
                     "request body did not reach the app whole",
           "n/a": "it cannot run here, for the reason given (no lifespan ran; an app "
                  "built on asyncio on a trio server, or on trio on an asyncio one)",
           "error": "nothing could be observed (the server never answered)"}
#: pattern status -> shields.io colour of its badge
COLOR = {"works": "brightgreen", "caveat": "yellow", "breaks": "red", "n/a": "lightgrey",
         "error": "orange"}
LINKS = [("ASGI lifespan spec", LIFESPAN_SPEC),
         ("asgiref PR #277: lifespans in multi-thread environments", ASGIREF_277),
         ("asgiref PR #338: lifespan state", ASGIREF_338)]


def source_of(pattern: dict[str, Any]) -> str:
    """The pattern module's text, as shipped; a note when it is not installed here."""
    relative = str(pattern.get("source", ""))
    path = (PROBES_DIR / relative).resolve()
    if not relative or PROBES_DIR.resolve() not in path.parents or not path.is_file():
        return f"(source {relative!r} is not part of this asgi-matrix install)"
    return path.read_text()


def user_code(pattern_id: str) -> str:
    """The app as users write it (the framework's own code, no recording kit), from
    dashboard/usercode/ID.txt; "" for a pattern without one."""
    path = DASHBOARD_DIR / "usercode" / f"{pattern_id}.txt"
    return path.read_text() if path.is_file() else ""


def stopped(stop: dict[str, Any] | None) -> str:
    """How the server was stopped, in words: "SIGTERM to the main process; it exited
    with code 0 after 0.41 s"."""
    if not stop:
        return ""
    scope = {"main": "the main process", "group": "the process group"}.get(
        str(stop.get("scope")), str(stop.get("scope", "?")))
    seconds = stop.get("seconds")
    after = f" after {seconds:.2f} s" if isinstance(seconds, (int, float)) else ""
    if stop.get("killed"):
        how = f"it ignored it and was killed{after}"
    elif stop.get("exit_signal"):
        how = f"it ended by {stop['exit_signal']}{after}"
    else:
        how = f"it exited with code {stop.get('exit_code')}{after}"
    orphans = stop.get("orphans")
    left = f"; {len(orphans)} of its processes outlived it" if orphans else ""
    return f"SIGTERM to {scope}; {how}{left}"


def reproduce(config_id: str, pattern_id: str) -> str:
    return f"asgi-matrix run --config {shlex.quote(config_id)} --pattern {shlex.quote(pattern_id)}"


class PatternPages:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.patterns: dict[str, dict[str, Any]] = site.doc.get("patterns") or {}
        self.slug = slugs(self.patterns)
        #: columns: frameworks first (FastAPI leading), as on the front page
        self.patterns = {pid: self.patterns[pid] for pid in _apps.ordered(site.doc)}
        #: rows: servers, then test clients, then the controls (built to fail)
        kinds = {"server": 0, "harness": 1, "control": 2}
        self.rows = sorted(((cid, c) for cid, c in site.configs.items() if c.get("patterns")),
                           key=lambda row: kinds.get(str(row[1].get("kind")), 1))
        #: configurations that were not run (or not measured) at all: one line per reason
        by_reason: dict[str, list[str]] = {}
        for cid, c in site.configs.items():
            if self.patterns and not c.get("patterns") and c.get("status") in ("not-run",
                                                                               "error"):
                by_reason.setdefault(str(c.get("reason") or c.get("status", "")),
                                     []).append(cid)
        self.unmeasured = [{"reason": reason, "configs": cids, "count": len(cids)}
                           for reason, cids in sorted(by_reason.items(),
                                                      key=lambda kv: -len(kv[1]))]

    def cell_href(self, pattern_id: str, config_id: str) -> str:
        return f"patterns/{self.slug[pattern_id]}/{self.site.cslug[config_id]}.html"

    def badge_path(self, pattern_id: str, config_id: str) -> str:
        return f"badges/patterns/{self.slug[pattern_id]}/{self.site.cslug[config_id]}.json"

    def badge(self, pattern_id: str, config_id: str) -> dict[str, Any]:
        """shields.io endpoint JSON: "PATTERN on CONFIG: works"."""
        status = str(self.site.configs[config_id]["patterns"][pattern_id]["status"])
        return _badges.shields(f"{pattern_id} on {config_id}", status,
                               COLOR.get(status, "lightgrey"))

    def _page(self, template: str, depth: int, title: str, **content: Any) -> str:
        return self.site.page(template, depth, title, LOOK=LOOK, MEANING=MEANING,
                              pslug=self.slug, **content)

    def matrix(self) -> str:
        return self._page("patterns.html", 0, "App patterns", patterns=self.patterns,
                          rows=self.rows, unmeasured=self.unmeasured,
                          cell_href=self.cell_href,
                          config_href=self.site.config_href)

    def pattern(self, pattern_id: str) -> str:
        pattern = self.patterns[pattern_id]
        cells = [(cid, c["patterns"][pattern_id]) for cid, c in self.rows
                 if pattern_id in c["patterns"]]
        counts: dict[str, int] = {}
        for _, cell in cells:
            counts[cell["status"]] = counts.get(cell["status"], 0) + 1
        return self._page("pattern.html", 1, pattern["title"], pattern=pattern,
                          cells=cells, counts=counts, links=LINKS, source=source_of(pattern),
                          user_code=user_code(pattern_id),
                          cell_href=self.cell_href,
                          alternatives=_apps.alternatives(self.site.doc, pattern_id))

    def cell(self, pattern_id: str, config_id: str) -> str:
        config = self.site.configs[config_id]
        cell = config["patterns"][pattern_id]
        pattern = self.patterns.get(pattern_id, {"id": pattern_id, "title": pattern_id})
        command = shlex.join(cell["command"]) if cell.get("command") else command_of(config)
        badge = _badges.snippets(self.site, f"{pattern_id} on {config_id}",
                                 self.badge_path(pattern_id, config_id),
                                 self.cell_href(pattern_id, config_id))
        fault = str((cell.get("evidence") or {}).get("server_property") or "")
        fault_href = (self.site.cell_href(config_id, fault)
                      if fault in self.site.properties else "")
        return self._page("pattern_cell.html", 2, f"{pattern['title']} · {config_id}",
                          badge=badge, fault=fault, fault_href=fault_href,
                          pattern=pattern, config_id=config_id, config=config, cell=cell,
                          source=source_of(pattern), command=command,
                          user_code=user_code(pattern_id), stopped=stopped(cell.get("stop")),
                          reproduce=reproduce(config_id, pattern_id),
                          config_href=self.site.config_href(config_id))


def render(site: Site) -> dict[str, str]:
    pages = PatternPages(site)
    if not pages.patterns:
        return {}
    files = {"patterns.html": pages.matrix()}
    for pattern_id in pages.patterns:
        files[f"patterns/{pages.slug[pattern_id]}.html"] = pages.pattern(pattern_id)
    for config_id, config in pages.rows:
        for pattern_id in config["patterns"]:
            if pattern_id in pages.patterns:
                files[pages.cell_href(pattern_id, config_id)] = pages.cell(pattern_id,
                                                                           config_id)
                files[pages.badge_path(pattern_id, config_id)] = json.dumps(
                    pages.badge(pattern_id, config_id))
    return files
