"""Context: is a contextvar set during lifespan startup visible in handlers (asgiref #322),
and is what one request sets kept from the requests after it?

Sightings are matched per loop (process, interpreter, loop): a value set by another
loop's lifespan is a failure of its own, named.
"""

from __future__ import annotations

from asgi_matrix.verdicts import references as refs
from asgi_matrix.verdicts._model import (
    Observations,
    Property,
    Verdict,
    client_connections,
    connection_name,
    judged_requests,
    lifespan_ran,
    lifespans_by_token,
    measured,
    request_names,
    sightings,
)

#: How a request got to the server, by its tag's prefix (measure/drive/traffic.py)
_CARRIERS = {"ka": "keep-alive", "pipe": "pipelined", "h2": "HTTP/2"}


def _propagates(obs: Observations, kind: str) -> Verdict:
    lifespans = lifespans_by_token(obs)
    served = [e for e in judged_requests(obs) if e.get("event") == kind]
    blind, crossed = sightings(served, "ctx_token", lifespans, "the contextvar")
    if crossed:
        return Verdict("fail", f"{len(crossed)} of {len(served)} {kind} handlers saw the "
                       f"contextvar of another event loop's lifespan: {crossed[0]}",
                       {"examples": crossed[:5]})
    if blind:
        seen = sorted({repr(e.get("ctx_token")) for e in blind})
        return Verdict("fail", f"{len(blind)} of {len(served)} {kind} handlers did not see the "
                       f"contextvar set during startup (they saw {', '.join(seen)})",
                       {"seen": seen})
    return Verdict("pass", f"all {len(served)} {kind} handlers saw the contextvar set during "
                   "their own loop's lifespan startup")


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


def isolated(obs: Observations) -> Verdict:
    """A contextvar one request sets is not visible to any later request (same connection,
    same loop, or elsewhere): each request runs in a context of its own."""
    if problem := measured(obs, "main"):
        return problem
    served = [e for e in obs.served() if "ctx_own_mark" in e]
    if not served:
        return Verdict("error", "no request recorded its contextvar mark (an older probe?)")
    by_mark = {e["ctx_own_mark"]: e for e in served}
    names = request_names(obs)
    carried = client_connections(obs)  # the client's sockets, never scope["client"]
    leaks: dict[str, list[str]] = {}  # by how the request came: one example of each is said
    for event in served:
        mark = event.get("ctx_foreign_mark")
        if mark is None:
            continue
        source = by_mark.get(mark, {})
        mine = carried.get(str(event.get("tag")))
        same = mine is not None and carried.get(str(source.get("tag"))) == mine
        tag, by = str(event.get("tag")), str(source.get("tag", "another request"))
        carrier = _CARRIERS.get(tag.split("-")[0], "new connections")
        leaks.setdefault(carrier, []).append(
            f"{names.get(tag, repr(tag))} saw the value {names.get(by, repr(by))} set"
            + (f", on the same connection {connection_name(mine)}" if same and mine else ""))
    if leaks:
        count = sum(len(found) for found in leaks.values())
        each = "; ".join(f"{carrier}: {found[0]}" for carrier, found in leaks.items())
        return Verdict("fail", f"{count} of {len(served)} requests saw a contextvar an "
                       f"earlier request set ({each})",
                       {"examples": [e for found in leaks.values() for e in found][:5],
                        "by_carrier": {c: len(found) for c, found in leaks.items()}})
    return Verdict("pass", f"none of {len(served)} requests (fresh, keep-alive, pipelined"
                   + (", HTTP/2" if any(str(e.get("tag")).startswith("h2-") for e in served)
                      else "") + ") saw a contextvar another request set")


#: this group's properties, in the order the matrix shows them
PROPERTIES: tuple[Property, ...] = (
    Property("context.propagates", "context", "Contextvars reach HTTP handlers",
             "A contextvar set during lifespan startup is visible in HTTP handlers.",
             refs.CONTEXT_FROM_LIFESPAN,
             propagates, "handlers see the value set during startup"),
    Property("context.propagates-websocket", "context", "Contextvars reach WebSocket handlers",
             "A contextvar set during lifespan startup is visible in WebSocket handlers.",
             refs.CONTEXT_FROM_LIFESPAN,
             propagates_websocket, "WebSocket handlers see the value set at startup"),
    Property("context.isolated", "context", "Contextvars kept per request",
             "A contextvar one request sets is not visible to a later request: not on the same "
             "keep-alive or pipelined connection (one with a body over 64 KiB), not on the "
             "same loop.",
             refs.CONTEXT_ISOLATED,
             isolated, "each request starts from a context no other request changed"),
)
