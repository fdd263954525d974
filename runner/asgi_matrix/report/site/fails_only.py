"""What fails in one configuration only: fails-only.html across the matrix (the per
configuration list is on each configuration page)."""

from __future__ import annotations

from typing import Any

from asgi_matrix.report import answers as _answers
from asgi_matrix.report.site.base import SECTIONS, Site


def found(site: Site) -> dict[str, list[dict[str, Any]]]:
    """answers.fails_only with the links each item needs."""
    result = _answers.fails_only(site.doc)
    for config_id, items in result.items():
        for item in items:
            item["href"] = site.cell_href(config_id, item["id"])
    return result


def render(site: Site, only: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    sections = []
    kinds = list(SECTIONS) + sorted({str(c.get("kind")) for c in site.configs.values()}
                                    - set(SECTIONS))
    for kind in kinds:
        rows = [{"id": cid, "href": site.config_href(cid), "items": items}
                for cid, items in only.items() if site.configs[cid].get("kind") == kind]
        if rows:
            sections.append({"kind": kind, "title": SECTIONS.get(kind, kind), "rows": rows})
    return {"fails-only.html": site.page("fails_only.html", 0, "Fails only here",
                                         sections=sections)}
