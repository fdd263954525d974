"""Badges: shields.io endpoint JSON per configuration and per cell, and the snippets
(URL, Markdown, HTML) a configuration page offers to copy."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import quote

from asgi_matrix.report.site.base import Site, counts
from asgi_matrix.report.words import WORDS

#: displayed status -> shields.io colour ("no" is neutral: not a violation)
BADGE_COLOR = {"pass": "brightgreen", "fail": "red", "no": "blue", "unsupported": "lightgrey",
               "error": "orange", "n/a": "inactive", "flaky": "yellow"}
PLACEHOLDER = "https://YOUR-SITE.example/"


def shields(label: str, message: str, color: str) -> dict[str, Any]:
    return {"schemaVersion": 1, "label": label, "message": message, "color": color}


def config_badge(config: dict[str, Any]) -> dict[str, Any]:
    if config["status"] != "measured":
        return shields(config["id"], config["status"], "orange")
    passed, total = counts(config)
    color = "brightgreen" if passed == total else "yellow" if passed * 2 >= total else "red"
    return shields(config["id"], f"{passed}/{total} pass", color)


def cell_badge(config: dict[str, Any], prop: dict[str, Any], status: str,
               level: str = "") -> dict[str, Any]:
    said = level if level in ("SHOULD", "MAY") else level.lower()
    message = WORDS.get(status, status) + (f" ({said})" if status == "no" and level else "")
    return shields(f"{config['id']}: {prop.get('title', prop['id'])}", message,
                   BADGE_COLOR.get(status, "lightgrey"))


def snippets(site: Site, label: str, badge_path: str, page_path: str) -> dict[str, Any]:
    """Where the badge's JSON is, and Markdown and HTML that show it linking to the page."""
    base = site.base or PLACEHOLDER
    image = "https://img.shields.io/endpoint?url=" + quote(base + badge_path, safe="")
    alt = label.replace("]", ")").replace("[", "(")
    return {"path": badge_path, "url": base + badge_path, "image": image,
            "page": base + page_path, "placeholder": not site.base,
            "markdown": f"[![{alt}]({image})]({base}{page_path})",
            "html": f'<a href="{html.escape(base + page_path)}"><img alt="{html.escape(label)}" '
                    f'src="{html.escape(image)}"></a>'}


def config_path(site: Site, config_id: str) -> str:
    return f"badges/{site.cslug[config_id]}.json"


def cell_path(site: Site, config_id: str, property_id: str) -> str:
    return f"badges/{site.cslug[config_id]}/{site.pslug[property_id]}.json"


def panel(site: Site, config_id: str) -> dict[str, Any]:
    """The badges panel of a configuration page: its own badge, then one per property."""
    config = site.configs[config_id]
    own = snippets(site, f"asgi-matrix: {config_id}", config_path(site, config_id),
                   site.config_href(config_id))
    cells = []
    for pid, verdict in (config.get("verdicts") or {}).items():
        if pid not in site.properties:
            continue
        status = site.shown(pid, verdict)
        cells.append({"id": pid, "title": site.properties[pid].get("title", pid),
                      "status": status,
                      **snippets(site, f"{config_id}: {site.properties[pid].get('title', pid)}",
                                 cell_path(site, config_id, pid),
                                 site.cell_href(config_id, pid))})
    return {"own": own, "cells": cells}


def render(site: Site) -> dict[str, str]:
    files = {}
    for config_id, config in site.configs.items():
        files[config_path(site, config_id)] = json.dumps(config_badge(config))
        for pid, verdict in (config.get("verdicts") or {}).items():
            if pid in site.properties:
                badge = cell_badge(config, site.properties[pid], site.shown(pid, verdict),
                                   site.level(pid, verdict))
                files[cell_path(site, config_id, pid)] = json.dumps(badge)
    return files
