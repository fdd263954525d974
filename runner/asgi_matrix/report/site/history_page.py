"""The dashboard's history pages: verdicts across server releases.

    compute(document)            the history section, from the configurations (pure)
    summaries(history, ...)      per series, the properties whose verdict changed
    render(renderer, history)    {relative path: text}: history/index.html, a page per
                                 series, data/history.json

A series page has the collapsed history per property (the releases where the verdict
changed), a release-by-release strip (glyph + word + colour, each cell linking to its
cell page), and a comparison of two releases: pre-rendered for the oldest and newest
release measured and for every pair of consecutive ones (works without JavaScript),
and recomputed for any two releases chosen by static/history.js from the data embedded
in the page as JSON (escaped by the template's tojson; the script only sets text).
Where releases were measured with app patterns, the page has the same strip per pattern
(works, breaks, n/a; each cell linking to its pattern cell page), and the index lists the
patterns whose verdict changed beside the properties.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

from asgi_matrix.report.site.base import Site, slugs
from asgi_matrix.report.site.pattern_pages import LOOK as PATTERN_LOOK
from asgi_matrix.report.site.pattern_pages import PatternPages
from asgi_matrix.report.words import GLYPHS
from asgi_matrix.report.words import shown as _shown
from asgi_matrix.results import history as _history

KIND_WORDS = {"since": "from", "fixed": "fixed in", "broke": "broke in", "changed": "from"}


def compute(document: dict[str, Any]) -> dict[str, Any]:
    """The history of the document's releases, as the run or the merge wrote it."""
    history: dict[str, Any] = document.get("history") or {}
    return history


def summaries(history: dict[str, Any], properties: dict[str, dict[str, Any]],
              slugs: dict[str, str],
              patterns: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Per series: its releases and the properties (and app patterns) whose verdict
    changed, in words."""
    found = []
    for name, entry in history.get("series", {}).items():
        measured = [r for r in entry["releases"] if r["status"] == "measured"]
        changed = []
        for pid in _history.changed(entry):
            prop = entry["properties"][pid]
            changed.append({"id": pid, "title": properties.get(pid, {}).get("title", pid),
                            "summary": prop["summary"], "since": prop["since"],
                            "changes": prop["changes"]})
        described = patterns or {}
        patterns_changed = [
            {"id": pid, "title": (described.get(pid) or {}).get("title", pid),
             "summary": entry["patterns"][pid]["summary"]}
            for pid in _history.changed(entry, "patterns")]
        found.append({"name": name, "slug": slugs[name], "server": entry["server"],
                      "package": entry["package"], "rule": entry["rule"],
                      "releases": entry["releases"], "measured": measured,
                      "first": entry["releases"][0]["version"] if entry["releases"] else "",
                      "last": entry["releases"][-1]["version"] if entry["releases"] else "",
                      "changed": changed,
                      "unchanged": len(entry["properties"]) - len(changed),
                      "patterns_changed": patterns_changed,
                      "patterns_unchanged": len(entry.get("patterns") or {})
                      - len(patterns_changed)})
    return found


def _pairs(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Consecutive measured releases and the properties that differ between them."""
    measured = [r["version"] for r in entry["releases"] if r["status"] == "measured"]
    return [{"old": old, "new": new, "rows": _history.diff(entry, old, new)}
            for old, new in pairwise(measured)]


def render(renderer: Site, history: dict[str, Any]) -> dict[str, str]:
    """The history pages and data, or nothing when the document measured no release."""
    if not history:
        return {}
    series = history["series"]
    listed = summaries(history, renderer.properties, slugs(series),
                       renderer.doc.get("patterns") or {})
    files = {"data/history.json": json.dumps(history, separators=(",", ":")),
             "history/index.html": renderer.page("history_index.html", 1, "History",
                                                 series=listed, properties=renderer.properties)}
    for item in listed:
        entry = series[item["name"]]
        files[f"history/{item['slug']}.html"] = series_page(renderer, item, entry)
    return files


def series_page(renderer: Site, item: dict[str, Any], entry: dict[str, Any]) -> str:
    releases = entry["releases"]
    columns = []
    for release in releases:
        config_id = release["config"]
        columns.append({**release, "slug": renderer.cslug.get(config_id, ""),
                        "href": f"configs/{renderer.cslug[config_id]}.html"
                        if config_id in renderer.cslug else ""})
    rows = []
    for pid, prop in entry["properties"].items():
        cells = []
        previous: str | None = None
        for release, status in zip(releases, prop["statuses"], strict=True):
            config_id = release["config"]
            href = (renderer.cell_href(config_id, pid)
                    if status is not None and pid in renderer.properties
                    and config_id in renderer.configs else "")
            changed = (status is not None and status not in _history.NO_FINDING
                       and previous is not None and status != previous)
            shown = _shown(status, renderer.level(pid)) if status is not None else None
            cells.append({"status": shown, "href": href, "changed": changed,
                          "version": release["version"], "run": release["status"]})
            if status is not None and status not in _history.NO_FINDING:
                previous = status
        rows.append({"id": pid, "prop": renderer.properties.get(pid, {"title": pid}),
                     "summary": prop["summary"], "since": prop["since"],
                     "changes": prop["changes"], "cells": cells})
    measured = [r["version"] for r in releases if r["status"] == "measured"]
    old, new = (measured[0], measured[-1]) if measured else ("", "")
    pattern_rows = _pattern_rows(renderer, releases, entry.get("patterns") or {})
    data = {"versions": [r["version"] for r in releases],
            "measured": measured,
            "order": list(entry["properties"]),  # tojson sorts keys: this keeps the columns' order
            "properties": {pid: {"title": renderer.properties.get(pid, {}).get("title", pid),
                                 "statuses": prop["statuses"]}
                           for pid, prop in entry["properties"].items()},
            "glyphs": GLYPHS}
    steady: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if not row["changes"]:
            steady.setdefault(row["summary"], []).append(row)
    by_version = {r["version"]: r["config"] for r in releases}
    compare_pair = ((by_version[old], by_version[new])
                    if measured and by_version.get(old) in renderer.configs
                    and by_version.get(new) in renderer.configs else None)
    return renderer.page(
        "history.html", 1, f"{item['name']} across releases", item=item, entry=entry,
        columns=columns, rows=rows, changed=[r for r in rows if r["changes"]],
        steady=steady, old=old, new=new,
        default_diff=_history.diff(entry, old, new) if measured else [],
        pairs=_pairs(entry), data=data, kind_words=KIND_WORDS, compare_pair=compare_pair,
        pattern_rows=pattern_rows, PATTERN_LOOK=PATTERN_LOOK,
        pattern_pairs=[{"old": a, "new": b, "rows": _history.diff(entry, a, b, "patterns")}
                       for a, b in pairwise(measured)] if pattern_rows else [])


def _pattern_rows(renderer: Site, releases: list[dict[str, Any]],
                  tracks: dict[str, Any]) -> list[dict[str, Any]]:
    """Per app pattern: its summary, its changes and one cell per release."""
    pages = PatternPages(renderer)
    rows = []
    for pid, track in tracks.items():
        cells, previous = [], None
        for release, status in zip(releases, track["statuses"], strict=True):
            config_id = release["config"]
            cell = ((renderer.configs.get(config_id) or {}).get("patterns") or {}).get(pid)
            href = (pages.cell_href(pid, config_id)
                    if cell and pid in pages.slug and config_id in renderer.cslug else "")
            finding = status is not None and status not in _history.NO_FINDING
            cells.append({"status": status, "href": href, "version": release["version"],
                          "run": release["status"],
                          "changed": finding and previous is not None and status != previous})
            if finding:
                previous = status
        rows.append({"id": pid, "title": pages.patterns.get(pid, {}).get("title", pid),
                     "summary": track["summary"], "changes": track["changes"],
                     "cells": cells})
    return rows
