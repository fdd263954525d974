"""Context: is a contextvar set during lifespan startup visible in handlers (asgiref #322)?"""

from __future__ import annotations

from asgi_matrix.verdicts._model import Observations, Verdict, lifespan_ran, measured


def _propagates(obs: Observations, kind: str) -> Verdict:
    tokens = {(e["pid"], e["token"]) for e in obs.startups()}
    served = obs.served("main", kind)
    blind = [e for e in served if (e["pid"], e.get("ctx_token")) not in tokens]
    if blind:
        seen = sorted({repr(e.get("ctx_token")) for e in blind})
        return Verdict("fail", f"{len(blind)} of {len(served)} {kind} handlers did not see the "
                       f"contextvar set during startup (they saw {', '.join(seen)})",
                       {"seen": seen})
    return Verdict("pass", f"all {len(served)} {kind} handlers saw the contextvar set during "
                   "their process's lifespan startup")


def propagates(obs: Observations) -> Verdict:
    if problem := measured(obs, "main") or lifespan_ran(obs):
        return problem
    return _propagates(obs, "http")


def propagates_websocket(obs: Observations) -> Verdict:
    if not obs.websocket:
        return Verdict("n/a", "this configuration does not serve WebSockets")
    if problem := measured(obs, "main") or lifespan_ran(obs):
        return problem
    client = (obs.scenario("main") or {}).get("websocket") or {}
    if not obs.served("main", "websocket"):
        return Verdict("error", "the WebSocket exchange did not reach the app: "
                       f"{client.get('error', 'no record')}", {"client": client})
    return _propagates(obs, "websocket")
