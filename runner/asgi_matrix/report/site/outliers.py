"""This server against all others (outliers.html): per server, the cells, properties and
app patterns alike, where one of its configurations fails or breaks while every
configuration of every other server with a finding passes or works. Controls and test
clients are left out (answers.outliers). A section per server, so it reads without
JavaScript; a list of servers on top jumps to each."""

from __future__ import annotations

from typing import Any

from asgi_matrix.report import answers as _answers
from asgi_matrix.report.site.base import Site, slugs


def found(site: Site) -> list[dict[str, Any]]:
    pattern_slugs = slugs(site.doc.get("patterns") or {})
    servers = []
    outliers = _answers.outliers(site.doc)
    every = sorted({str(c.get("server")) for c in site.configs.values()
                    if c.get("kind") == "server" and c.get("status") == "measured"})
    for server in every:
        configs = []
        for config_id, items in outliers.get(server, {}).items():
            for item in items:
                item["href"] = (f"patterns/{pattern_slugs[item['pattern']]}/"
                                f"{site.cslug[config_id]}.html" if item["pattern"]
                                else site.cell_href(config_id, item["id"]))
            configs.append({"id": config_id, "href": site.config_href(config_id),
                            "items": items})
        servers.append({"server": server, "anchor": "server-" + slugs([server])[server],
                        "configs": configs,
                        "count": sum(len(c["items"]) for c in configs)})
    servers.sort(key=lambda s: -int(str(s["count"])))  # where a server stands alone most, first
    return servers


def render(site: Site) -> dict[str, str]:
    return {"outliers.html": site.page("outliers.html", 0, "Where a server differs",
                                       servers=found(site))}
