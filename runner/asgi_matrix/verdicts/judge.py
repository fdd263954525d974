"""The judge step of a cell: its recorded attempts -> verdicts, facts and status.

Written once, used by the run (a cell just measured) and the cell cache (a cached
release judged again with today's verdicts). The rule for an error cell lives here: a
configuration whose main scenario could not be measured says nothing about the server.
"""

from __future__ import annotations

from typing import Any

from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.verdicts import PROPERTIES, Observations, Verdict, combine, evaluate, facts
from asgi_matrix.verdicts._model import measured


def observations(config: ServerConfig, scenarios: dict[str, Any]) -> Observations:
    return Observations(config.id, config.kind, config.websocket, scenarios)


def attempt_verdicts(config: ServerConfig, scenarios: dict[str, Any]) -> dict[str, Verdict]:
    """The verdicts of one attempt."""
    return evaluate(observations(config, scenarios))


#: properties whose answer differs by the server's HTTP implementation, as measured
#: (uvicorn: a response sent while draining says Connection: close with httptools, not
#: with h11); their explanation names the configuration's (catalogue ``http_impl``)
BY_HTTP_IMPLEMENTATION = ("stop.keepalive.connection-close",)


def _named(config: ServerConfig, prop: str, verdict: Verdict) -> Verdict:
    if not config.http_impl or prop not in BY_HTTP_IMPLEMENTATION \
            or verdict.status not in ("pass", "fail"):
        return verdict
    return Verdict(verdict.status, f"{verdict.explanation} (HTTP implementation: "
                   f"{config.http_impl})", {**verdict.evidence, "http_impl": config.http_impl})


def judge(config: ServerConfig, per_attempt: list[dict[str, Verdict]],
          last_scenarios: dict[str, Any]) -> dict[str, Any]:
    """The judged fields of a cell: verdicts combined over attempts, the last attempt's
    facts, and "error" with the reason when its main scenario could not be measured."""
    verdicts = {p.id: _named(config, p.id, combine([a[p.id] for a in per_attempt]))
                for p in PROPERTIES}
    last = observations(config, last_scenarios)
    unmeasured = measured(last, "main")
    return {"status": "error" if unmeasured is not None else "measured",
            "reason": unmeasured.explanation if unmeasured is not None else None,
            "facts": facts(last),
            "verdicts": {k: v.to_json() for k, v in verdicts.items()}}
