"""What a verdict is, what a property is, and the observations verdicts are made from."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

#: One status set for every verdict: a property's (pass ... flaky) and an app pattern's
#: (works, caveat: works with a caveat, the server's fault; breaks, n/a, error).
Status = Literal["pass", "fail", "unsupported", "error", "n/a", "flaky", "works", "caveat",
                 "breaks"]
PROPERTY_STATUSES: tuple[Status, ...] = ("pass", "fail", "unsupported", "error", "n/a", "flaky")
PATTERN_STATUSES: tuple[Status, ...] = ("works", "caveat", "breaks", "n/a", "error")
STATUSES: tuple[Status, ...] = (*PROPERTY_STATUSES, "works", "caveat", "breaks")

#: How strongly the ASGI spec asks for a property: its own words "must" and "should", or
#: "not-in-spec" where the spec does not require it (an open issue, an optional feature,
#: what users rely on beyond it). A failed "not-in-spec" property is a difference between
#: servers, not a violation.
Level = Literal["MUST", "SHOULD", "not-in-spec"]
LEVELS: tuple[Level, ...] = ("MUST", "SHOULD", "not-in-spec")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one property or app pattern for one configuration, with the
    evidence behind it."""

    status: Status
    explanation: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "explanation": self.explanation,
                "evidence": self.evidence}


@dataclass(frozen=True)
class Reference:
    """The spec text or issue a property checks."""

    title: str
    url: str
    quote: str = ""


@dataclass(frozen=True)
class Property:
    """A behaviour of a server that a user's app depends on, and how to judge it.

    ``level`` says whether the spec requires it; for MUST and SHOULD the reference quotes
    the spec's sentence. ``scenario`` names the scenario whose observations the check
    reads (the site shows that scenario's record beside the verdict).
    """

    id: str
    group: str  #: lifespan, context, state, requests, shutdown, failure
    title: str
    description: str
    reference: Reference
    check: Callable[[Observations], Verdict]
    expected: str = ""  #: what a correct server does, in plain words
    level: Level = field(default="not-in-spec", kw_only=True)
    scenario: str = field(default="main", kw_only=True)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"property {self.id}: level {self.level!r} is not one of {LEVELS}")
        if self.level != "not-in-spec" and not self.reference.quote:
            raise ValueError(f"property {self.id}: a {self.level} property quotes the spec")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "group": self.group, "title": self.title,
                "description": self.description, "expected": self.expected,
                "level": self.level, "scenario": self.scenario,
                "reference": {"title": self.reference.title, "url": self.reference.url,
                              "quote": self.reference.quote}}


@dataclass(frozen=True)
class Observations:
    """Everything recorded for one attempt at one configuration, scenario by scenario."""

    config_id: str
    kind: str  #: server, harness or control
    websocket: bool
    scenarios: dict[str, dict[str, Any]]

    def scenario(self, name: str) -> dict[str, Any] | None:
        return self.scenarios.get(name)

    def events(self, name: str, *kinds: str) -> list[dict[str, Any]]:
        record = self.scenarios.get(name) or {}
        return [e for e in record.get("events", []) if e.get("event") in kinds]

    def startups(self, name: str = "main") -> list[dict[str, Any]]:
        return [e for e in self.events(name, "lifespan.startup") if e.get("outcome") == "complete"]

    def served(self, name: str = "main", *kinds: str) -> list[dict[str, Any]]:
        return self.events(name, *(kinds or ("http", "websocket")))


def measured(obs: Observations, name: str) -> Verdict | None:
    """An "error" verdict when the scenario could not be measured, else None."""
    record = obs.scenario(name)
    if record is None:
        return Verdict("error", f"the {name!r} scenario was not run")
    if record.get("error"):
        return Verdict("error", record["error"], {"log_tail": record.get("log_tail", "")})
    ready = record.get("ready") or {}
    if not ready.get("ok"):
        if ready.get("exited"):
            why = "the server exited before it answered a request"
        else:
            why = f"the server did not answer within {ready.get('seconds', '?')} s"
        return Verdict("error", f"{why} ({name} scenario); see the log tail",
                       {"ready": ready, "log_tail": record.get("log_tail", "")})
    bad = record.get("bad_lines") or {}
    if bad.get("count"):
        return Verdict("error", f"the observation file had {bad['count']} line(s) that are not "
                       "probe records, so what it says cannot be trusted; e.g. "
                       f"{(bad.get('samples') or ['?'])[0]}",
                       {"bad_lines": bad, "log_tail": record.get("log_tail", "")})
    if name == "main" and not obs.served(name):
        if raised := obs.events(name, "app.error"):
            return Verdict("error", f"the app raised before it could answer ({len(raised)} "
                           f"time(s)), so the server's behaviour could not be measured: "
                           f"{raised[0].get('error')}",
                           {"app_errors": raised[:5], "log_tail": record.get("log_tail", "")})
        return Verdict("error", "the server answered but the probe recorded no request: "
                       "is the observation file being written?",
                       {"bad_lines": record.get("bad_lines"),
                        "log_tail": record.get("log_tail", "")})
    return None


Found = TypeVar("Found")


def judged_on(guard: Callable[[Observations], Found | Verdict]
              ) -> Callable[[Callable[[Observations, Found], Verdict]],
                            Callable[[Observations], Verdict]]:
    """A check that reads what ``guard`` finds (a scenario's record, the stops): the
    decorated check takes the observations alone, and where the guard finds nothing to
    judge its verdict (error, n/a) is the check's."""
    def decorate(check: Callable[[Observations, Found], Verdict]
                 ) -> Callable[[Observations], Verdict]:
        @functools.wraps(check)
        def judged(obs: Observations) -> Verdict:
            found = guard(obs)
            if isinstance(found, Verdict):
                return found
            return check(obs, found)
        return judged
    return decorate


def lifespan_ran(obs: Observations, name: str = "main") -> Verdict | None:
    """An "unsupported" verdict when the server never completed a lifespan startup."""
    if obs.startups(name):
        return None
    others = sorted({e.get("scope_type", "?") for e in obs.events(name, "scope")})
    extra = f"; it sent scope types of its own: {', '.join(others)}" if others else ""
    return Verdict("unsupported", "the server never ran the lifespan protocol "
                   f"(no lifespan.startup reached the app){extra}")


LoopKey = tuple[Any, Any, Any]

#: Tag prefixes of requests sent on a reused connection (keep-alive, HTTP/2, pipelined).
REUSED = ("ka-", "h2-", "pipe-")


def loop_key(event: dict[str, Any]) -> LoopKey:
    """Where an event ran: process, interpreter and event loop (not the pid alone)."""
    return (event.get("pid"), event.get("interpreter") or 0, event.get("loop_id"))


def loop_name(event: dict[str, Any]) -> str:
    interpreter = event.get("interpreter") or 0
    return (f"loop {event.get('loop_id')} (pid {event.get('pid')}"
            + (f", interpreter {interpreter}" if interpreter else "") + ")")


def lifespans_by_token(obs: Observations, name: str = "main") -> dict[Any, dict[str, Any]]:
    return {e.get("token"): e for e in obs.startups(name)}


def sightings(requests: list[dict[str, Any]], token_key: str,
              lifespans: dict[Any, dict[str, Any]], what: str
              ) -> tuple[list[dict[str, Any]], list[str]]:
    """Sort requests by what they saw under ``token_key`` (``state_token``, ``ctx_token``):
    those that saw no lifespan's token, and, for those that saw another loop's lifespan's,
    why. ``what`` names the thing seen ("the state", "the contextvar")."""
    missing: list[dict[str, Any]] = []
    crossed: list[str] = []
    for request in requests:
        source = lifespans.get(request.get(token_key))
        if source is None:
            missing.append(request)
        elif loop_key(source) != loop_key(request):
            crossed.append(f"request {request.get('tag')!r} on {loop_name(request)} saw "
                           f"{what} set by {loop_name(source)}'s lifespan")
    return missing, crossed


def client_connections(obs: Observations, name: str = "main") -> dict[str, str]:
    """Which of the client's sockets carried each request, by tag, as the traffic side
    recorded it: a request of a reused connection (keep-alive, pipelined, HTTP/2) by
    its kind and local port, any other request a connection of its own. Never
    ``scope["client"]``: in-process clients fake it (httpx's ASGITransport gives every
    request 127.0.0.1:123) and servers send None, port 0 or a wrong port. A reused
    request whose port was not seen has no connection named (it matches none)."""
    record = obs.scenario(name) or {}
    sent = [*(record.get("requests") or []),
            *((record.get("pipelined") or {}).get("requests") or [])]
    out: dict[str, str] = {}
    for one in sent:
        tag = one.get("tag")
        if tag is None:
            continue
        reused = one.get("reused")
        if not reused:
            out[str(tag)] = f"new:{tag}"
        elif one.get("local_port") is not None:
            out[str(tag)] = f"{reused}:{one['local_port']}"
    return out


def connection_name(connection: str) -> str:
    """A connection as explanations name it: the client's local port."""
    kind, _, port = connection.partition(":")
    return f"(port {port})" if kind != "new" else "(its own)"


def request_names(obs: Observations, name: str = "main") -> dict[str, str]:
    """Each request's tag as an explanation names it: quoted, and for an HTTP/2 request
    with the stream the client saw carry it ("'h2-1' (stream 3)")."""
    names: dict[str, str] = {}
    for record in (obs.scenario(name) or {}).get("requests") or []:
        tag = record.get("tag")
        if tag is not None and record.get("stream_id") is not None:
            names[str(tag)] = f"{tag!r} (stream {record['stream_id']})"
    return names


def judged_requests(obs: Observations, name: str = "main",
                    per_process: bool = False) -> list[dict[str, Any]]:
    """The requests that can show what a loop's lifespan set up: all but those that began
    before their own loop's startup completed, and those still running when their loop's
    lifespan.shutdown came (startup-before-requests and after-drain judge those).
    ``per_process``: "began before" counts from the first startup in the request's
    process, on whichever loop (what a process-wide object holds exists from then on)."""
    done: dict[Any, float] = {}
    where_of = (lambda e: e.get("pid")) if per_process else loop_key
    for event in obs.startups(name):
        key = where_of(event)
        done[key] = min(done.get(key, event["t"]), event["t"])
    shut: dict[LoopKey, float] = {}
    for event in obs.events(name, "lifespan.shutdown"):
        key = loop_key(event)
        shut[key] = min(shut.get(key, event["t"]), event["t"])
    return [e for e in obs.served(name)
            if not (where_of(e) in done and e["t"] < done[where_of(e)])
            and (not per_process or where_of(e) in done)
            and not (loop_key(e) in shut and e.get("t_end", e["t"]) > shut[loop_key(e)])]


def where(event: dict[str, Any]) -> str:
    """A short place name for explanations: process, thread and loop."""
    return (f"pid {event.get('pid')} thread {event.get('thread_name')!s} "
            f"loop {event.get('loop_id')}")


def count(things: Iterable[str]) -> str:
    return ", ".join(f"{k} x{n}" if n > 1 else k for k, n in Counter(things).items())


def combine(attempts: list[Verdict]) -> Verdict:
    """One verdict from several attempts: "flaky" when they disagree, every attempt kept."""
    statuses = [v.status for v in attempts]
    if len(set(statuses)) <= 1:
        return attempts[0]
    return Verdict("flaky", f"differed across {len(attempts)} attempts: {count(statuses)}",
                   {"attempts": [v.to_json() for v in attempts]})


def summary(verdicts: dict[str, Any]) -> dict[str, int]:
    """How many verdicts (properties' or patterns', as Verdicts or their JSON) got each
    status."""
    return dict(Counter(v.status if isinstance(v, Verdict) else v.get("status", "error")
                        for v in verdicts.values()))
