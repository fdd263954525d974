"""One configuration's page: its verdicts (levels shown), its app patterns (each linking
its cell page), what fails only here, how to compare it with another, the command,
versions, facts, and its badges panel (the pattern cells' badges too)."""

from __future__ import annotations

from typing import Any

from asgi_matrix.report import answers as _answers
from asgi_matrix.report.site import badges as _badges
from asgi_matrix.report.site import compare as _compare
from asgi_matrix.report.site.base import (
    Site,
    command_of,
    counts,
    reproduce,
    server_version,
)
from asgi_matrix.report.site.pattern_pages import PatternPages


def own_scopes(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Scope types the server sent that ASGI does not define (``pounce.worker.startup``,
    ...), from every scenario of the last attempt: how often, from how many processes and
    loops (at most, in one scenario), in which scenarios. The probe recorded them and did
    nothing with them."""
    attempts = config.get("attempts") or []
    scenarios = (attempts[-1].get("scenarios") or {}) if attempts else {}
    found: dict[str, dict[str, Any]] = {}
    for kind in (config.get("facts") or {}).get("other_scope_types") or []:
        found[str(kind)] = {"type": str(kind), "count": 0, "processes": 0, "loops": 0,
                            "scenarios": [], "keys": set()}
    for name, record in scenarios.items():
        seen: dict[str, list[dict[str, Any]]] = {}
        for event in record.get("events") or []:
            if isinstance(event, dict) and event.get("event") == "scope":
                seen.setdefault(str(event.get("scope_type")), []).append(event)
        for kind, events in seen.items():
            entry = found.setdefault(kind, {"type": kind, "count": 0, "processes": 0,
                                            "loops": 0, "scenarios": [], "keys": set()})
            entry["count"] += len(events)
            entry["processes"] = max(entry["processes"], len({e.get("pid") for e in events}))
            entry["loops"] = max(entry["loops"], len({e.get("loop_id") for e in events}))
            entry["scenarios"].append(name)
            entry["keys"].update(str(k) for e in events for k in e.get("scope_keys") or [])
    return [{**entry, "keys": sorted(entry["keys"])}
            for entry in sorted(found.values(), key=lambda e: e["type"])]


def pattern_items(site: Site, pages: PatternPages, config_id: str) -> list[dict[str, Any]]:
    """The configuration's pattern cells: verdict, link to the cell page, badge snippets."""
    items = []
    for pid, cell in (site.configs[config_id].get("patterns") or {}).items():
        if not isinstance(cell, dict):
            continue
        known = pid in pages.slug
        items.append({"id": pid, "title": (pages.patterns.get(pid) or {}).get("title", pid),
                      "status": str(cell.get("status")),
                      "explanation": cell.get("explanation", ""),
                      "href": pages.cell_href(pid, config_id) if known else "",
                      "badge": _badges.snippets(site, f"{pid} on {config_id}",
                                                pages.badge_path(pid, config_id),
                                                pages.cell_href(pid, config_id))
                      if known else None})
    return items


def fixed_by(site: Site, config_id: str) -> dict[str, list[dict[str, Any]]]:
    """property -> the flag rows of this configuration on which it passes while it fails
    here, measured: "fixed by FLAG" (each with the flag row's id and cell link)."""
    mine = site.configs[config_id].get("verdicts") or {}
    out: dict[str, list[dict[str, Any]]] = {}
    for other_id, other in site.configs.items():
        flag = other.get("flag") or {}
        if flag.get("of") != config_id:
            continue
        theirs = other.get("verdicts") or {}
        for pid, verdict in mine.items():
            if (isinstance(verdict, dict) and verdict.get("status") == "fail"
                    and (theirs.get(pid) or {}).get("status") == "pass"):
                out.setdefault(pid, []).append({
                    "flag": str(flag.get("args", "")), "config": other_id,
                    "href": site.cell_href(other_id, pid) if pid in site.properties else ""})
    return out


def page(site: Site, config_id: str, only: list[dict[str, Any]],
         compare_with: list[dict[str, Any]], pages: PatternPages | None = None) -> str:
    config = site.configs[config_id]
    fixes = fixed_by(site, config_id)
    rows = []
    for pid, verdict in (config.get("verdicts") or {}).items():
        known = pid in site.properties
        rows.append({"id": pid, "prop": site.properties.get(pid) or {"title": pid},
                     "verdict": verdict, "status": site.shown(pid, verdict),
                     "level": site.level(pid, verdict),
                     "href": site.cell_href(config_id, pid) if known else "",
                     "fixed_by": fixes.get(pid, [])})
    passed, total = counts(config)
    patterns = pattern_items(site, pages or PatternPages(site), config_id)
    return site.page("config.html", 1, config_id, config=config, config_id=config_id,
                     rows=rows, passed=passed, total=total, badges=_badges.panel(site, config_id),
                     version=server_version(config), command=command_of(config),
                     reproduce=reproduce(config_id), facts=config.get("facts") or {},
                     own_scopes=own_scopes(config), only=only, compare_with=compare_with,
                     multi_loop=_answers.several_loops_per_process(config),
                     patterns=patterns)


def render(site: Site, only: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    pairs: dict[str, list[dict[str, Any]]] = {}
    for a, b in _compare.pairs(site):  # a static comparison, linked from both sides
        href = _compare.pair_href(site, a, b)
        pairs.setdefault(a, []).append({"other": b, "href": href})
        pairs.setdefault(b, []).append({"other": a, "href": href})
    pages = PatternPages(site)
    return {site.config_href(config_id): page(site, config_id, only.get(config_id, []),
                                              pairs.get(config_id, []), pages)
            for config_id in site.configs}
