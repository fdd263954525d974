"""The answer a user came for: does my app work on this server, which server should I pick.

    ordered(document)            app ids, frameworks first (FastAPI, Starlette, Litestar,
                                 Quart, Django), then the raw ASGI patterns
    for_app(document, app_id)    per server (its default configuration), works / caveat /
                                 breaks / n/a / error / not run with a one-line reason,
                                 the servers that work first; test clients apart
    app_answers(document)        for_app for every app, in that order
    server_apps(document, cid)   one configuration's app statuses (the summary's column)
    alternatives(document, aid)  the apps the advice of ``aid`` names, each with the
                                 configurations where it breaks while ``aid`` works

Pure functions over a results document, like answers.py: the front page, the needs
filter, the summary and ``asgi-matrix show`` all read the pattern verdicts through here,
so no page can say a server suits an app that breaks on it. Controls (built to fail)
never appear; test clients have their own list, never the recommendation.
"""

from __future__ import annotations

import re
from typing import Any

from asgi_matrix.report.answers import defaults, is_release, server_version

#: frameworks in the order users ask about them (an app id's prefix)
FRAMEWORKS = ("fastapi", "starlette", "litestar", "quart", "django")
#: an app's status on a server, best first: the recommendation is the first group
RANK = {"works": 0, "caveat": 1, "breaks": 2, "n/a": 3, "error": 4, "not-run": 5}
#: a reason is one line on the front page; the whole explanation is one click away
REASON_CHARS = 150


def ordered(document: dict[str, Any]) -> list[str]:
    """App ids: frameworks first (FastAPI, then Starlette ...), then patterns, each group
    in the document's order."""
    apps = document.get("patterns") or {}

    def key(item: tuple[int, str]) -> tuple[int, int, int]:
        index, app_id = item
        framework = apps[app_id].get("kind") == "framework"
        rank = next((n for n, name in enumerate(FRAMEWORKS) if app_id.startswith(name)),
                    len(FRAMEWORKS))
        return (0 if framework else 1, rank if framework else 0, index)

    return [app_id for _, app_id in sorted(enumerate(apps), key=key)]


def title(document: dict[str, Any], app_id: str) -> str:
    return str((document.get("patterns") or {}).get(app_id, {}).get("title") or app_id)


def one_line_reason(text: Any, limit: int = REASON_CHARS) -> str:
    """An explanation as one short line: the asides in parentheses left for its page."""
    line = re.sub(r"\s+", " ", str(text or "")).strip()
    while (shorter := re.sub(r" \([^()]*\)", "", line)) != line:  # inner asides first
        line = shorter
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


def cell(config: dict[str, Any], app_id: str) -> tuple[str, str]:
    """(status, explanation) of one app on one configuration; not-run when it was not
    measured there, with why."""
    if config.get("status") != "measured":
        return "not-run", str(config.get("reason") or config.get("status") or "not measured")
    found = (config.get("patterns") or {}).get(app_id)
    if not isinstance(found, dict):
        return "not-run", "this app was not measured on it"
    status = str(found.get("status"))
    return (status if status in RANK else "error"), str(found.get("explanation") or "")


def _entry(document: dict[str, Any], config_id: str, app_id: str) -> dict[str, Any]:
    config = document["configurations"][config_id]
    status, explanation = cell(config, app_id)
    return {"server": str(config.get("server", config_id)), "config": config_id,
            "version": server_version(config), "status": status,
            "reason": one_line_reason(explanation), "explanation": explanation,
            "kind": config.get("kind")}


def for_app(document: dict[str, Any], app_id: str) -> dict[str, Any]:
    """One app across the servers: each server's default configuration (newest release),
    sorted works, caveat, breaks, n/a, error, not run; ``elsewhere`` names the server's
    other configurations where the app breaks though the default does not."""
    configs = document["configurations"]
    servers = []
    for order, (server, config_id) in enumerate(defaults(document).items()):
        entry = _entry(document, config_id, app_id)
        entry["order"] = order
        entry["elsewhere"] = [
            cid for cid, c in configs.items()
            if cid != config_id and c.get("kind") == "server" and str(c.get("server")) == server
            and not is_release(c) and cell(c, app_id)[0] == "breaks"
        ] if entry["status"] in ("works", "caveat") else []
        servers.append(entry)
    servers.sort(key=lambda e: (RANK[e["status"]], e["order"]))
    clients = [_entry(document, cid, app_id) for cid, c in configs.items()
               if c.get("kind") == "harness" and not is_release(c)]
    app = (document.get("patterns") or {}).get(app_id, {})
    return {"id": app_id, "title": title(document, app_id), "kind": app.get("kind", ""),
            "servers": servers, "clients": clients,
            "recommended": [e["server"] for e in servers if e["status"] == "works"],
            "caveat": [e["server"] for e in servers if e["status"] == "caveat"],
            "breaks": [e["server"] for e in servers if e["status"] == "breaks"]}


def app_answers(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [for_app(document, app_id) for app_id in ordered(document)]


def server_apps(document: dict[str, Any], config_id: str) -> dict[str, str]:
    """Every app's status on one configuration, in ``ordered`` order."""
    config = document["configurations"][config_id]
    return {app_id: cell(config, app_id)[0] for app_id in ordered(document)}


def alternatives(document: dict[str, Any], app_id: str) -> list[dict[str, Any]]:
    """The apps an app's advice ("instead") names by id, each with the configurations a
    user runs where it breaks while ``app_id`` does not: advice must never send a user
    from an app that works on their server to one that breaks there."""
    apps = document.get("patterns") or {}
    advice = str(apps.get(app_id, {}).get("instead") or "")
    named = [other for other in apps if other != app_id
             and re.search(rf"(?<![\w-]){re.escape(other)}(?![\w-])", advice)]
    found = []
    for other in named:
        worse = [cid for cid, c in document["configurations"].items()
                 if c.get("kind") in ("server", "harness") and not is_release(c)
                 and cell(c, other)[0] == "breaks" and cell(c, app_id)[0] != "breaks"]
        found.append({"id": other, "title": title(document, other), "breaks_where": worse})
    return found
