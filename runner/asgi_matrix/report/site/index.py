"""The front page: the answer first (what breaks apps, then each server's default
configuration answering the headline questions), then the matrix, which fits a
1400-pixel window: short column headings with the full names at hand, glyph cells
with their words for screen readers and in their tooltips."""

from __future__ import annotations

from typing import Any

from asgi_matrix.report import answers as _answers
from asgi_matrix.report.site.base import (
    SECTIONS,
    STATUS_SHORT,
    Site,
    counts,
    is_release,
    server_version,
)
from asgi_matrix.report.words import STATUSES


def _server_group(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One server's rows; its version goes on its header, or on each row when they differ."""
    versions = sorted({row["version"] for row in rows} - {""})
    for row in rows:
        row["row_version"] = row["version"] if len(versions) > 1 else ""
    return {"name": name, "rows": rows, "versions": versions}


def row(site: Site, config_id: str, config: dict[str, Any]) -> dict[str, Any]:
    verdicts = config.get("verdicts") or {}
    cells: list[dict[str, Any] | None] = []
    for prop_id in site.properties:
        verdict = verdicts.get(prop_id)
        if verdict is None:
            cells.append(None)
        else:
            cells.append({"status": site.shown(prop_id, verdict),
                          "tip": str(verdict.get("explanation", ""))[:160],
                          "href": site.cell_href(config_id, prop_id),
                          "starts_group": prop_id in site.group_starts})
    passed, total = counts(config)
    return {"id": config_id, "slug": site.cslug[config_id], "config": config,
            "version": server_version(config), "axes": config.get("axes") or {},
            "cells": cells, "passed": passed, "total": total,
            "multi_loop": _answers.several_loops_per_process(config)}


def sections(site: Site) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    kinds = list(SECTIONS) + sorted({str(c["kind"]) for c in site.configs.values()}
                                    - set(SECTIONS))
    for kind in kinds:
        servers: dict[str, list[dict[str, Any]]] = {}
        for config_id, config in site.configs.items():
            if config["kind"] == kind and not is_release(config):
                servers.setdefault(config["server"], []).append(row(site, config_id, config))
        if servers:
            found.append({"kind": kind, "title": SECTIONS.get(kind, kind),
                          "servers": [_server_group(name, rows)
                                      for name, rows in servers.items()]})
    return found


def summary(site: Site) -> list[dict[str, Any]]:
    """answers.summary with the links each answer needs."""
    rows = _answers.summary(site.doc)
    for item in rows:
        item["href"] = site.config_href(item["config"])
        for found in item["answers"]:
            found["href"] = site.cell_href(item["config"], found["first"]) if found["first"] \
                else ""
            for part in found["parts"]:
                part["href"] = site.cell_href(item["config"], part["id"])
    return rows


def breaking(site: Site) -> list[dict[str, Any]]:
    found = _answers.breaking(site.doc)
    for entry in found:
        entry["href"] = site.config_href(entry["config"])
        for item in entry["failed"]:
            item["href"] = (site.config_href(entry["config"]) + "#patterns" if item["pattern"]
                            else site.cell_href(entry["config"], item["id"]))
    return found


def render(site: Site, history: list[dict[str, Any]], only_count: int) -> dict[str, str]:
    not_run = [n for n in site.doc["run"].get("not_run", []) if n["id"] not in site.configs]
    properties = {pid: {**prop, "short": _answers.short_label(prop),
                        "required": site.required(pid), "level": site.level(pid)}
                  for pid, prop in site.properties.items()}
    rows = summary(site)
    pythons = sorted({str((c.get("axes") or {}).get("python")) for c in site.configs.values()
                      if (c.get("axes") or {}).get("python")})
    return {"index.html": site.page(
        "index.html", 0, "Matrix", sections=sections(site), groups=site.groups,
        properties=properties, summary=rows, breaking=breaking(site),
        questions=_answers.questions(site.doc),
        servers=sorted({c["server"] for c in site.configs.values()}),
        pythons=pythons if len(pythons) > 1 else [],  # one Python: nothing to filter
        not_run=not_run, statuses=list(STATUSES), meanings=STATUS_SHORT,
        group_starts=site.group_starts, history=history, only_count=only_count,
        multi_loop=any(r["multi_loop"] for r in rows))}
