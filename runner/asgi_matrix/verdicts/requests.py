"""Requests: is every request the runner sent answered? A server that crashed or answered
500 is judged from what it did, with the count and the cause."""

from __future__ import annotations

from collections import Counter
from typing import Any

from asgi_matrix.verdicts import references as refs
from asgi_matrix.verdicts._model import Observations, Property, Verdict, measured

#: tag prefix -> the batch it belongs to, for explanations
BATCHES = {"seq": "sequential", "conc": "concurrent", "ka": "keep-alive", "h2": "HTTP/2",
           "ws": "WebSocket"}


def _batch(tag: Any) -> str:
    return BATCHES.get(str(tag).split("-")[0], str(tag))


def _cause(record: dict[str, Any], unanswered: list[dict[str, Any]], obs: Observations) -> str:
    """Why requests went unanswered, from what was observed."""
    died = record.get("exited_early") or {}
    if died:
        how = (f"with {died['exit_signal']}" if died.get("exit_signal")
               else f"with status {died.get('exit_code')}")
        return f"the server died {how} during the {_batch(unanswered[0].get('tag'))} batch"
    statuses = Counter(r.get("status") for r in unanswered if r.get("status") is not None)
    if statuses:
        status, _ = statuses.most_common(1)[0]
        errors = sorted({str(e.get("error")) for e in obs.events("main", "app.error")})
        why = f" (the app raised: {errors[0]})" if errors else ""
        return f"answered {status}{why}"
    errors = sorted({str(r.get("error")) for r in unanswered})
    return errors[0]


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
    pipelined = record.get("pipelined") or {}
    aside = ""
    if pipelined.get("tags"):
        answered = sum(s == 200 for s in pipelined.get("statuses") or [])
        aside = f"; pipelined on one connection: {answered} of {len(pipelined['tags'])} " \
                "answered (not counted: a server may refuse pipelining)"
    evidence = {"exited_early": record.get("exited_early"), "pipelined": pipelined.get("statuses")}
    if unanswered:
        if all(r.get("status") not in (None, 200) for r in unanswered) and \
                len(unanswered) == total:
            lead = f"all {total} answered {unanswered[0].get('status')}"
            cause = _cause(record, unanswered, obs).removeprefix(
                f"answered {unanswered[0].get('status')}")
            explanation = f"{lead}{cause}"
        else:
            explanation = (f"{len(unanswered)} of {total} got no answer: "
                           f"{_cause(record, unanswered, obs)}")
        return Verdict("fail", explanation + aside,
                       {**evidence, "unanswered": [r.get("tag") for r in unanswered],
                        "errors": sorted({str(r.get("error") or r.get("status"))
                                          for r in unanswered})})
    batches = sorted({_batch(r.get("tag")) for r in sent} | ({"WebSocket"} if websocket else set()))
    return Verdict("pass", f"all {total} requests ({', '.join(batches)}) were answered" + aside,
                   evidence)


#: this group's properties, in the order the matrix shows them
PROPERTIES: tuple[Property, ...] = (
    Property("requests.all-answered", "requests", "Every request answered",
             "Every request the runner sent (sequential, concurrent, WebSocket) got an answer.",
             refs.HTTP_SCOPE, all_answered, "every request gets a 200", level="MUST"),
)
