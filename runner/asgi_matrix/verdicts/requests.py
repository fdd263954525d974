"""Requests: is every request the runner sent answered?"""

from __future__ import annotations

from asgi_matrix.verdicts._model import Observations, Verdict, measured


def all_answered(obs: Observations) -> Verdict:
    if problem := measured(obs, "main"):
        return problem
    record = obs.scenario("main") or {}
    sent = list(record.get("requests") or [])
    websocket = record.get("websocket")
    unanswered = [r for r in sent if r.get("status") != 200]
    if websocket and not websocket.get("ok"):
        unanswered.append({"tag": "ws", "error": websocket.get("error")})
    total = len(sent) + (1 if websocket else 0)
    if not total:
        return Verdict("error", "no request was sent in the main scenario")
    if unanswered:
        errors = sorted({str(r.get("error") or r.get("status")) for r in unanswered})
        return Verdict("fail", f"{len(unanswered)} of {total} requests got no answer: "
                       f"{errors[0]}", {"unanswered": [r.get("tag") for r in unanswered],
                                        "errors": errors})
    return Verdict("pass", f"all {total} requests (sequential, concurrent"
                   + (", WebSocket" if websocket else "") + ") were answered")
