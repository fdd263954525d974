"""Two configurations side by side: every property, the differences first, each status
linking to its cell.

    compare.html?a=ID&b=ID   any two configurations (releases of one server included),
                             computed in the browser by static/compare.js from the data
                             embedded in the page (escaped by tojson; the script only
                             sets text and attributes)
    compare/A--B.html        pre-rendered, no JavaScript needed: each configuration of a
                             server against the server's default configuration, and the
                             pair compare.html opens on (answers.default_pair: the two
                             servers' defaults that differ most)

App patterns are rows too (``pattern:ID``), linking their pattern cells.
"""

from __future__ import annotations

from typing import Any

from asgi_matrix.report import answers as _answers
from asgi_matrix.report.site.base import Site, is_release, server_version, slugs
from asgi_matrix.report.words import (
    CLASSES,
    GLYPHS,
    VOCABULARY,
    WORDS,
    level_phrase,
    required,
)


def pair_href(site: Site, a: str, b: str) -> str:
    return f"compare/{site.cslug[a]}--{site.cslug[b]}.html"


def pairs(site: Site) -> list[tuple[str, str]]:
    """(default, other) for every other configuration of a server with a default."""
    found = []
    for server, default in _answers.defaults(site.doc).items():
        for config_id, config in site.configs.items():
            if (config_id != default and config.get("server") == server
                    and config.get("kind") == "server" and not is_release(config)):
                found.append((default, config_id))
    return found


def options(site: Site) -> list[dict[str, Any]]:
    """Configurations by server, for the pickers (releases after the rest)."""
    by_server: dict[str, list[dict[str, Any]]] = {}
    ordered = sorted(site.configs.items(), key=lambda kv: is_release(kv[1]))
    for config_id, config in ordered:
        version = server_version(config)
        by_server.setdefault(str(config.get("server")), []).append(
            {"id": config_id, "label": f"{config_id} ({version})" if version else config_id})
    return [{"server": server, "configs": items} for server, items in by_server.items()]


def data(site: Site) -> dict[str, Any]:
    """What compare.js needs: statuses as displayed (app patterns as ``pattern:ID``),
    names, file names for links, the vocabulary, and the pair to open on."""
    patterns = site.doc.get("patterns") or {}
    pattern_slugs = slugs(patterns)
    properties = {pid: {"title": prop.get("title", pid), "slug": site.pslug[pid],
                        "group": prop.get("group", ""),
                        "level": "" if required(site.level(pid))
                        else level_phrase(site.level(pid))}
                  for pid, prop in site.properties.items()}
    properties.update({f"pattern:{pid}": {"title": p.get("title", pid),
                                          "pattern": pattern_slugs[pid],
                                          "group": "app patterns", "level": ""}
                       for pid, p in patterns.items()})

    def verdicts(config: dict[str, Any]) -> dict[str, str]:
        found = {pid: site.shown(pid, v) for pid, v in (config.get("verdicts") or {}).items()
                 if pid in site.properties}
        found.update({f"pattern:{pid}": str(cell.get("status"))
                      for pid, cell in (config.get("patterns") or {}).items()
                      if pid in patterns and isinstance(cell, dict)})
        return found

    pair = _answers.default_pair(site.doc)
    return {
        "order": list(properties),
        "properties": properties,
        "configs": {cid: {"slug": site.cslug[cid], "server": config.get("server", ""),
                          "version": server_version(config), "status": config.get("status"),
                          "verdicts": verdicts(config)}
                    for cid, config in site.configs.items()},
        "vocabulary": {s: {"glyph": GLYPHS[s], "word": WORDS[s], "css": CLASSES[s]}
                       for s in VOCABULARY},
        "default": list(pair) if pair else [],
    }


def _side(site: Site, config_id: str) -> dict[str, Any]:
    config = site.configs[config_id]
    return {"id": config_id, "href": site.config_href(config_id),
            "version": server_version(config), "server": config.get("server", ""),
            "status": config.get("status")}


def result(site: Site, a: str, b: str) -> dict[str, Any]:
    found = _answers.compare(site.doc, a, b)
    pattern_slugs = slugs(site.doc.get("patterns") or {})
    for row in found["rows"]:
        for side, config_id in (("a", a), ("b", b)):
            if row[side] is None:
                row[f"{side}_href"] = ""
            elif row["pattern"]:
                row[f"{side}_href"] = (f"patterns/{pattern_slugs[row['pattern']]}/"
                                       f"{site.cslug[config_id]}.html")
            else:
                row[f"{side}_href"] = site.cell_href(config_id, row["id"])
        row["level_text"] = "" if required(row["level"]) else level_phrase(row["level"])
    return {**found, "side_a": _side(site, a), "side_b": _side(site, b)}


def render(site: Site) -> dict[str, str]:
    pair = _answers.default_pair(site.doc)
    listed = [{"a": a, "b": b, "href": pair_href(site, a, b)}
              for a, b in ([pair] if pair else []) + pairs(site)]
    files = {"compare.html": site.page("compare.html", 0, "Compare two configurations",
                                       result=None, data=data(site), options=options(site),
                                       pairs=listed)}
    for item in listed:
        files[item["href"]] = site.page(
            "compare.html", 1, f"{item['a']} and {item['b']}",
            result=result(site, item["a"], item["b"]), data=None, options=[], pairs=[])
    return files
