"""One cell's page: the verdict, what the property means (with its level), the evidence,
and what the probe observed in the scenario it was judged from."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from asgi_matrix.report.site import badges as _badges
from asgi_matrix.report.site.base import SCENARIOS, Site, command_of, env, reproduce, scenario_for


def _detail(event: dict[str, Any]) -> str:
    parts = [str(event[k]) for k in ("outcome", "path") if event.get(k)]
    if event.get("tag"):
        parts.append(f"tag {event['tag']}")
    if isinstance(event.get("t"), int | float) and isinstance(event.get("t_end"), int | float):
        parts.append(f"{(event['t_end'] - event['t']) * 1000:.1f} ms")
    return " ".join(parts)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def timeline(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The probe's events in time order, time relative to the first one.

    The signal asgi-matrix sent is one more row: its time is on the same monotonic clock.
    """
    events = [e for e in record.get("events") or [] if isinstance(e, dict)]
    stop = record.get("stop") or {}
    if isinstance(stop.get("t_signal"), int | float):
        events.append({"event": "SIGTERM", "t": stop["t_signal"], "seq": -1,
                       "_detail": f"sent by asgi-matrix to the {stop.get('scope', '?')} process"
                                 + ("" if stop.get("scope") == "main" else " group")})
    times = [e["t"] for e in events if isinstance(e.get("t"), int | float)]
    t0 = min(times, default=0.0)
    rows = []
    for event in sorted(events, key=lambda e: (_number(e.get("t")), _number(e.get("seq")))):
        t = event.get("t")
        rows.append({"t": f"+{t - t0:.3f} s" if isinstance(t, int | float) else "?",
                     "event": str(event.get("event", "?")),
                     "detail": event.get("_detail") or _detail(event),
                     "pid": event.get("pid", ""), "thread": event.get("thread_name", ""),
                     "loop": event.get("loop_id", ""), "loop_kind": event.get("loop_kind", "")})
    return rows


def topology(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Per process/thread/loop: how many startups, requests and shutdowns it ran."""
    places: dict[tuple[Any, ...], dict[str, Any]] = {}
    for event in record.get("events") or []:
        if not isinstance(event, dict):
            continue
        key = (event.get("pid"), event.get("thread_name"), event.get("loop_id"),
               event.get("loop_kind"))
        place = places.setdefault(key, {"pid": key[0], "thread": key[1], "loop": key[2],
                                        "loop_kind": key[3], "startups": 0, "failed": 0,
                                        "requests": 0, "shutdowns": 0})
        kind = event.get("event")
        if kind == "lifespan.startup":
            place["failed" if event.get("outcome") == "failed" else "startups"] += 1
        elif kind in ("http", "websocket"):
            place["requests"] += 1
        elif kind == "lifespan.shutdown":
            place["shutdowns"] += 1
    return list(places.values())


class Cells:
    """Renders cell pages; what one scenario observed is rendered once for all the
    properties judged from it."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._observed: dict[tuple[str, str], Markup] = {}

    def observed(self, config_id: str, name: str) -> Markup:
        """The fragment is the output of an autoescaping template, so it is markup we made:
        every value from the results inside it has been escaped there."""
        key = (config_id, name)
        if key not in self._observed:
            config = self.site.configs[config_id]
            attempts = config.get("attempts") or []
            record = (attempts[-1].get("scenarios") or {}).get(name) or {} if attempts else {}
            self._observed[key] = Markup(env().get_template("_observed.html").render(
                scenario=name, scenario_text=SCENARIOS.get(name, ""), record=record,
                attempts=len(attempts), timeline=timeline(record), topology=topology(record),
                log_tail=record.get("log_tail") or config.get("log_tail") or ""))
        return self._observed[key]

    def page(self, config_id: str, property_id: str) -> str:
        site = self.site
        config = site.configs[config_id]
        prop = site.properties[property_id]
        verdict = config["verdicts"][property_id]
        badge = _badges.snippets(site, f"{config_id}: {prop['title']}",
                                 _badges.cell_path(site, config_id, property_id),
                                 site.cell_href(config_id, property_id))
        return site.page("cell.html", 2, f"{prop['title']} · {config_id}", config=config,
                         config_id=config_id, slug=site.cslug[config_id], prop=prop,
                         verdict=verdict, status=site.shown(property_id, verdict),
                         level=site.level(property_id, verdict), badge=badge,
                         observed=self.observed(config_id, scenario_for(prop)),
                         command=command_of(config), reproduce=reproduce(config_id))


def render(site: Site) -> dict[str, str]:
    cells = Cells(site)
    files = {}
    for config_id, config in site.configs.items():
        for property_id in config.get("verdicts") or {}:
            if property_id in site.properties:
                files[site.cell_href(config_id, property_id)] = cells.page(config_id,
                                                                           property_id)
    return files
