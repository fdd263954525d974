"""State: is scope["state"] given to the lifespan and a shallow copy of it to each request,
also to each request of a reused connection (keep-alive, HTTP/2 stream)?

Sightings are matched per loop (process, interpreter, loop): state set by another loop's
lifespan is a failure of its own, named. Connections are the client's sockets as the
traffic side recorded them, never ``scope["client"]`` (faked in-process, None, port 0 or
wrong on some servers).
"""

from __future__ import annotations

from typing import Any

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


def _state_unsupported(obs: Observations) -> Verdict | None:
    if problem := measured(obs, "main") or lifespan_ran(obs):
        return problem
    if not any(e.get("state_present") for e in obs.startups()):
        return Verdict("unsupported", "the lifespan scope had no 'state' key: the server does "
                       "not offer lifespan state")
    return None


def supported(obs: Observations) -> Verdict:
    if problem := _state_unsupported(obs):
        return problem
    lifespans = lifespans_by_token(obs)
    served = judged_requests(obs)
    missing, crossed = sightings(served, "state_token", lifespans, "the state")
    if crossed:
        return Verdict("fail", f"{len(crossed)} of {len(served)} requests got the state of "
                       f"another event loop's lifespan: {crossed[0]}", {"examples": crossed[:5]})
    if missing:
        without = sum(not e.get("state_present") for e in missing)
        return Verdict("fail", f"{len(missing)} of {len(served)} requests did not get the "
                       f"state the lifespan set ({without} had no scope['state'] at all)")
    return Verdict("pass", f"all {len(served)} requests got scope['state'] with what their "
                   "own loop's lifespan put there")


def _added_by(obs: Observations) -> dict[str, dict[str, Any]]:
    """Which request added each per-request key to scope['state']."""
    return {e["state_own_key"]: e for e in obs.served() if e.get("state_own_key")}


def _leaks(obs: Observations, requests: list[dict[str, Any]], same_connection: bool
           ) -> list[str]:
    """Requests that saw a key another request added, from the same connection (as the
    client's sockets say) or not."""
    added = _added_by(obs)
    names = request_names(obs)
    carried = client_connections(obs)
    found = []
    for event in requests:
        for key in event.get("state_foreign_keys") or []:
            source = added.get(key)
            mine = carried.get(str(event.get("tag")))
            same = (source is not None and mine is not None
                    and carried.get(str(source.get("tag"))) == mine)
            if same == same_connection:
                tag, by = str(event.get("tag")), str((source or {}).get("tag", "another request"))
                found.append(f"{names.get(tag, repr(tag))} saw the key "
                             f"{names.get(by, repr(by))} added"
                             + (f" on the same connection {connection_name(mine)}"
                                if same and mine else ""))
                break
    return found


def shallow_copy(obs: Observations) -> Verdict:
    """Across connections: what one request adds is not seen by a request on another one."""
    if problem := _state_unsupported(obs):
        return problem
    with_state = [e for e in obs.served() if e.get("state_present")]
    if len(with_state) < 2:
        return Verdict("n/a", f"{len(with_state) or 'no'} request(s) carried scope['state']: "
                       "nothing to compare")
    leaked = _leaks(obs, with_state, same_connection=False)
    if leaked:
        return Verdict("fail", f"{len(leaked)} of {len(with_state)} requests saw keys a request "
                       f"on another connection added to scope['state']: the state is shared, "
                       f"not copied; e.g. {leaked[0]}", {"examples": leaked[:5]})
    return Verdict("pass", f"none of {len(with_state)} requests saw a key a request on another "
                   "connection added: each got its own shallow copy")


def _reused(obs: Observations, prefix: str, what: str, skipped: str | None,
            unit: str = "requests") -> Verdict:
    if problem := _state_unsupported(obs):
        return problem
    if skipped:
        return Verdict("n/a", skipped)
    on = [e for e in obs.served() if str(e.get("tag", "")).startswith(prefix)]
    with_state = [e for e in on if e.get("state_present")]
    carried = client_connections(obs)
    connections: dict[Any, int] = {}
    for event in with_state:
        connection = carried.get(str(event.get("tag")))
        connections[connection] = connections.get(connection, 0) + 1
    shared = {c: n for c, n in connections.items() if c is not None and n > 1}
    if not shared:
        return Verdict("n/a", f"no two requests carrying scope['state'] arrived on one {what} "
                       f"({len(with_state)} request(s) on {len(connections)} connection(s)): "
                       "the server did not reuse it", {"connections": len(connections)})
    leaked = _leaks(obs, with_state, same_connection=True)
    if leaked:
        return Verdict("fail", f"{len(leaked)} of {len(with_state)} requests on one {what} saw "
                       f"a key an earlier request on it added to scope['state']: the "
                       f"connection's {unit} share one state; e.g. {leaked[0]}",
                       {"examples": leaked[:5]})
    return Verdict("pass", f"each of {len(with_state)} requests on one {what} got its own copy "
                   "of scope['state']")


def isolated_keepalive(obs: Observations) -> Verdict:
    """Each request of one keep-alive (or pipelined) HTTP/1.1 connection gets its own copy."""
    if problem := _state_unsupported(obs):
        return problem
    keepalive = _reused(obs, "ka-", "keep-alive connection", None)
    if keepalive.status != "pass":
        return keepalive
    pipelined = _reused(obs, "pipe-", "pipelined connection", None)
    return pipelined if pipelined.status == "fail" else keepalive


def isolated_http2(obs: Observations) -> Verdict:
    """Each stream of one HTTP/2 connection gets its own copy."""
    record = obs.scenario("main") or {}
    skipped = (record.get("http2") or {}).get("skipped")
    return _reused(obs, "h2-", "HTTP/2 connection", skipped, unit="streams")


#: this group's properties, in the order the matrix shows them
PROPERTIES: tuple[Property, ...] = (
    Property("state.supported", "state", "Lifespan state",
             "scope['state'] is offered to the lifespan and what it stores reaches requests.",
             refs.STATE, supported, "requests see what the lifespan put in scope['state']",
             level="MUST"),
    Property("state.shallow-copy", "state", "State copied per request",
             "A key one request adds to scope['state'] is not seen by another request.",
             refs.STATE, shallow_copy, "each request gets its own shallow copy",
             level="MUST"),
    Property("state.isolated-keepalive", "state", "State copied per keep-alive request",
             "Each request on one reused HTTP/1.1 connection (keep-alive, pipelined) gets its "
             "own copy of scope['state']: a key one adds is not seen by the next.",
             refs.STATE_PER_REQUEST, isolated_keepalive,
             "a fresh shallow copy for every request, not one per connection", level="MUST"),
    Property("state.isolated-http2", "state", "State copied per HTTP/2 stream",
             "Each stream of one HTTP/2 connection (cleartext, prior knowledge) gets its own "
             "copy of scope['state'].", refs.STATE_PER_REQUEST, isolated_http2,
             "a fresh shallow copy for every stream, not one per connection", level="MUST"),
)
