"""The front page: your app first (per framework and pattern, each server's default
configuration: works, caveat or breaks, the servers that work first), then each server's
answers to the headline questions (its apps among them), then the matrix, which fits a
1400-pixel window: short column headings with the full names at hand, glyph cells
with their words for screen readers and in their tooltips. Not-run configurations fold
into one line per reason."""

from __future__ import annotations

from typing import Any

from asgi_matrix.report import answers as _answers
from asgi_matrix.report import apps as _apps
from asgi_matrix.report.site.base import (
    SECTIONS,
    STATUS_SHORT,
    Site,
    counts,
    is_release,
    server_version,
    slugs,
)
from asgi_matrix.report.words import STATUSES, legend


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
    apps = _apps.server_apps(site.doc, config_id) if site.doc.get("patterns") else {}
    return {"id": config_id, "slug": site.cslug[config_id], "config": config,
            "apps": " ".join(f"{app}={status}" for app, status in apps.items()),
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
            if config["kind"] == kind and not is_release(config) \
                    and config.get("status") != "not-run":
                servers.setdefault(config["server"], []).append(row(site, config_id, config))
        if servers:
            found.append({"kind": kind, "title": SECTIONS.get(kind, kind),
                          "servers": [_server_group(name, rows)
                                      for name, rows in servers.items()]})
    return found


def not_run(site: Site) -> list[dict[str, Any]]:
    """Configurations that were not run, one line per reason with a count (a run that
    skips 29 configurations for want of Python 3.12 says so once)."""
    by_reason: dict[str, list[dict[str, str]]] = {}
    listed = [(cid, c.get("reason") or ("the run was interrupted before it"
                                        if c.get("interrupted") else "no reason recorded"))
              for cid, c in site.configs.items()
              if c.get("status") == "not-run" and not is_release(c)]
    listed += [(n["id"], n.get("reason") or "no reason recorded")
               for n in site.doc["run"].get("not_run", []) if n["id"] not in site.configs]
    for config_id, reason in listed:
        href = site.config_href(config_id) if config_id in site.configs else ""
        by_reason.setdefault(str(reason), []).append({"id": config_id, "href": href})
    return [{"reason": reason, "configs": items, "count": len(items)}
            for reason, items in sorted(by_reason.items(), key=lambda kv: -len(kv[1]))]


def summary(site: Site) -> list[dict[str, Any]]:
    """answers.summary with the links each answer needs."""
    rows = _answers.summary(site.doc)
    titles = {app_id: _apps.title(site.doc, app_id) for app_id in _apps.ordered(site.doc)}
    for item in rows:
        item["href"] = site.config_href(item["config"])
        statuses = _apps.server_apps(site.doc, item["config"]) if titles else {}
        item["apps"] = {status: [{"id": app_id, "title": titles[app_id],
                                  "anchor": app_anchor(site, app_id)}
                                 for app_id, s in statuses.items() if s == status]
                        for status in ("works", "caveat", "breaks")}
        item["apps_total"] = len(statuses)
        for found in item["answers"]:
            found["href"] = site.cell_href(item["config"], found["first"]) if found["first"] \
                else ""
            for part in found["parts"]:
                part["href"] = site.cell_href(item["config"], part["id"])
    return rows


def app_anchor(site: Site, app_id: str) -> str:
    return "app-" + slugs(site.doc.get("patterns") or {})[app_id]


def app_answers(site: Site) -> list[dict[str, Any]]:
    """apps.app_answers with the links each answer needs (the pattern cell pages)."""
    pattern_slugs = slugs(site.doc.get("patterns") or {})
    found = _apps.app_answers(site.doc)
    for app in found:
        app["anchor"] = "app-" + pattern_slugs[app["id"]]
        app["page"] = f"patterns/{pattern_slugs[app['id']]}.html"
        for entry in app["servers"] + app["clients"]:
            entry["config_href"] = site.config_href(entry["config"])
            entry["href"] = (f"patterns/{pattern_slugs[app['id']]}/"
                             f"{site.cslug[entry['config']]}.html"
                             if entry["status"] != "not-run" else entry["config_href"])
    return found


def render(site: Site, history: list[dict[str, Any]], only_count: int) -> dict[str, str]:
    properties = {pid: {**prop, "short": _answers.short_label(prop),
                        "required": site.required(pid), "level": site.level(pid)}
                  for pid, prop in site.properties.items()}
    rows = summary(site)
    pythons = sorted({str((c.get("axes") or {}).get("python")) for c in site.configs.values()
                      if (c.get("axes") or {}).get("python")})
    return {"index.html": site.page(
        "index.html", 0, "Matrix", sections=sections(site), groups=site.groups,
        properties=properties, summary=rows,
        questions=_answers.questions(site.doc), apps=app_answers(site),
        legend=legend(), app_legend=legend(("works", "caveat", "breaks", "n/a", "error",
                                            "not-run")),
        pattern_titles={pid: _apps.title(site.doc, pid) for pid in _apps.ordered(site.doc)},
        servers=sorted({c["server"] for c in site.configs.values()}),
        pythons=pythons if len(pythons) > 1 else [],  # one Python: nothing to filter
        not_run=not_run(site), statuses=list(STATUSES), meanings=STATUS_SHORT,
        group_starts=site.group_starts, history=history, only_count=only_count,
        multi_loop=any(r["multi_loop"] for r in rows))}
