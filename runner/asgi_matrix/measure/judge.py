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


def judge(config: ServerConfig, per_attempt: list[dict[str, Verdict]],
          last_scenarios: dict[str, Any]) -> dict[str, Any]:
    """The judged fields of a cell: verdicts combined over attempts, the last attempt's
    facts, and "error" with the reason when its main scenario could not be measured."""
    verdicts = {p.id: combine([a[p.id] for a in per_attempt]) for p in PROPERTIES}
    last = observations(config, last_scenarios)
    unmeasured = measured(last, "main")
    return {"status": "error" if unmeasured is not None else "measured",
            "reason": unmeasured.explanation if unmeasured is not None else None,
            "facts": facts(last),
            "verdicts": {k: v.to_json() for k, v in verdicts.items()}}
