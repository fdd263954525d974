"""Verdicts: pure functions from recorded observations to pass/fail with evidence.

Each property has a stable id, a group (a column group on the dashboard), a one-line
description, the spec text or issue it checks, its level (MUST / SHOULD in the spec's own
words, or not-in-spec) and the scenario it is judged from. ``PROPERTIES`` is the ordered
list the matrix shows; adding a property is adding an entry here with its check.
"""

from __future__ import annotations

from typing import Any

from asgi_matrix.verdicts import (
    context,
    failure,
    lifecycle,
    lifespan,
    recycle,
    requests,
    shutdown,
    state,
)
from asgi_matrix.verdicts._model import (
    ASGIREF_277,
    ASGIREF_322,
    ASGIREF_338,
    LEVELS,
    LIFESPAN_SPEC,
    STATUSES,
    WWW_SPEC,
    Observations,
    Property,
    Reference,
    Status,
    Verdict,
    combine,
)
from asgi_matrix.verdicts.facts import facts

__all__ = ["LEVELS", "PROPERTIES", "STATUSES", "Observations", "Property", "Status", "Verdict",
           "combine", "evaluate", "facts", "property_by_id"]

_PER_LOOP = Reference(
    "ASGI lifespan spec (asgiref #338)", ASGIREF_338,
    "Lifespans should be executed once per event loop that will be processing requests. "
    "[...] The important part is that lifespans and requests are run in the same event loop")
_PER_THREAD = Reference(
    "ASGI lifespan spec (asgiref #338)", ASGIREF_338,
    "Lifespans should be executed once per event loop that will be processing requests. "
    "In a multi-process environment there will be lifespan events in each process and in a "
    "multi-threaded environment there will be lifespans for each thread.")
_STATE = Reference(
    "ASGI lifespan spec: Lifespan State", f"{LIFESPAN_SPEC}#lifespan-state",
    "The server will ensure that a *shallow copy* of the namespace is passed into each "
    "subsequent request/response call into the application.")
_STATE_PER_REQUEST = Reference(
    "ASGI lifespan spec: Lifespan State; HTTP connection scope", f"{LIFESPAN_SPEC}#lifespan-state",
    "The server will ensure that a *shallow copy* of the namespace is passed into each "
    "subsequent request/response call into the application. [...] HTTP connections have a "
    "single-request *connection scope* [...] even if the underlying socket is still open and "
    "serving multiple requests.")
_HTTP_SCOPE = Reference(
    "ASGI HTTP spec: Connection Scope", f"{WWW_SPEC}#connection-scope",
    "HTTP connections have a single-request *connection scope* - that is, your application "
    "will be called at the start of the request, and will last until the end of that "
    "specific request, even if the underlying socket is still open and serving multiple "
    "requests.")
_SHUTDOWN = Reference(
    "ASGI lifespan spec: Shutdown", LIFESPAN_SPEC,
    "Sent to the application when the server has stopped accepting connections and closed "
    "all active connections.")


def _shutdown_properties() -> list[Property]:
    found = []
    for name, how in shutdown.STOPS.items():
        found.append(Property(
            f"shutdown.delivered.sigterm-{name}", "shutdown", f"Shutdown delivered ({how})",
            f"After {how}, every loop that ran a lifespan startup receives lifespan.shutdown.",
            _SHUTDOWN, shutdown.delivered(name),
            "lifespan.shutdown reaches the app on every loop, so it can close its resources",
            level="SHOULD", scenario=name))
        found.append(Property(
            f"shutdown.after-drain.sigterm-{name}", "shutdown", f"Drains first ({how})",
            f"A request in flight at {how} completes, and lifespan.shutdown comes after it.",
            Reference("ASGI lifespan spec: Shutdown (draining is not addressed)", LIFESPAN_SPEC,
                      _SHUTDOWN.quote), shutdown.after_drain(name),
            "the slow request gets its response; shutdown starts only afterwards",
            level="not-in-spec", scenario=name))
    return found


#: The matrix's columns, in order. A new property is one entry here (its check lives in a
#: module of this package); ``level`` and ``scenario`` are required reading for reviewers.
PROPERTIES: tuple[Property, ...] = (
    Property("lifespan.supported", "lifespan", "Lifespan supported",
             "The server runs the lifespan protocol: the app's startup completes.",
             Reference("ASGI lifespan spec (an optional protocol)", LIFESPAN_SPEC),
             lifespan.supported, "at least one lifespan.startup reaches the app and completes",
             level="not-in-spec"),
    Property("lifespan.startup-before-requests", "lifespan", "Startup before requests",
             "No request reaches the app before its process's lifespan startup completed.",
             Reference("ASGI lifespan spec: Startup Complete", LIFESPAN_SPEC,
                       "A server must wait for this message before it starts processing "
                       "connections."), lifespan.startup_before_requests,
             "every request starts after lifespan.startup.complete", level="MUST"),
    Property("lifespan.per-loop", "lifespan", "Lifespan per event loop",
             "Every event loop that served a request ran exactly one lifespan startup, on that "
             "loop, before serving.", _PER_LOOP, lifespan.per_loop,
             "one lifespan per serving loop, run on that loop before its first request",
             level="SHOULD"),
    Property("lifespan.same-thread", "lifespan", "Requests on the lifespan's thread",
             "Requests run on a thread where a lifespan ran.", _PER_THREAD,
             lifespan.same_thread, "each request's thread also ran a lifespan", level="SHOULD"),
    Property("lifespan.resources-usable", "lifespan", "Lifespan resources usable",
             "A task group opened in the lifespan and kept per event loop (the RunVar fix of "
             "asgiref PR #277) can run a job started from each request.",
             Reference("asgiref PR #277 and the lifespan spec (asgiref #338)", ASGIREF_277,
                       "The important part is that lifespans and requests are run in the "
                       "same event loop to ensure that objects like database connection "
                       "pools are not moved or shared across event loops."),
             lifespan.resources_usable, "the job each request starts in the task group runs",
             level="SHOULD"),
    Property("lifespan.app-object-resources", "lifespan", "Resources on the app object usable",
             "A task group the lifespan stored on the app object (the naive pattern of asgiref "
             "PR #277) can run a job started from each request: true only where one app "
             "object never serves two event loops.",
             Reference("asgiref PR #277: lifespans in multi-thread environments (the spec "
                       "does not say how many loops share an app object)", ASGIREF_277),
             lifespan.app_object_resources,
             "the job each request starts in the app object's task group runs"),
    Property("context.propagates", "context", "Contextvars reach HTTP handlers",
             "A contextvar set during lifespan startup is visible in HTTP handlers.",
             Reference("asgiref #322: contextvars from lifespan (open)", ASGIREF_322),
             context.propagates, "handlers see the value set during startup"),
    Property("context.propagates-websocket", "context", "Contextvars reach WebSocket handlers",
             "A contextvar set during lifespan startup is visible in WebSocket handlers.",
             Reference("asgiref #322: contextvars from lifespan (open)", ASGIREF_322),
             context.propagates_websocket, "WebSocket handlers see the value set at startup"),
    Property("context.isolated", "context", "Contextvars kept per request",
             "A contextvar one request sets is not visible to a later request: not on the same "
             "keep-alive or pipelined connection (one with a body over 64 KiB), not on the "
             "same loop.",
             Reference("asgiref #322 (open) and encode/uvicorn#2167: contexts leaking between "
                       "requests", "https://github.com/encode/uvicorn/issues/2167"),
             context.isolated, "each request starts from a context no other request changed"),
    Property("state.supported", "state", "Lifespan state",
             "scope['state'] is offered to the lifespan and what it stores reaches requests.",
             _STATE, state.supported, "requests see what the lifespan put in scope['state']",
             level="MUST"),
    Property("state.shallow-copy", "state", "State copied per request",
             "A key one request adds to scope['state'] is not seen by another request.",
             _STATE, state.shallow_copy, "each request gets its own shallow copy",
             level="MUST"),
    Property("state.isolated-keepalive", "state", "State copied per keep-alive request",
             "Each request on one reused HTTP/1.1 connection (keep-alive, pipelined) gets its "
             "own copy of scope['state']: a key one adds is not seen by the next.",
             _STATE_PER_REQUEST, state.isolated_keepalive,
             "a fresh shallow copy for every request, not one per connection", level="MUST"),
    Property("state.isolated-http2", "state", "State copied per HTTP/2 stream",
             "Each stream of one HTTP/2 connection (cleartext, prior knowledge) gets its own "
             "copy of scope['state'].", _STATE_PER_REQUEST, state.isolated_http2,
             "a fresh shallow copy for every stream, not one per connection", level="MUST"),
    Property("requests.all-answered", "requests", "Every request answered",
             "Every request the runner sent (sequential, concurrent, WebSocket) got an answer.",
             _HTTP_SCOPE, requests.all_answered, "every request gets a 200", level="MUST"),
    *_shutdown_properties(),
    Property("shutdown.long-lived-task", "shutdown", "Shutdown with a long-lived task",
             "While the lifespan keeps a long-lived task (a ticker in the task group it "
             "opened), SIGTERM to the main process still brings lifespan.shutdown to every "
             "loop that started; the explanation says how long the stop took.",
             _SHUTDOWN, shutdown.long_lived_task,
             "lifespan.shutdown comes at SIGTERM whatever tasks the lifespan keeps (servers "
             "that wait for every other task on the loop first never send it)",
             level="SHOULD", scenario="lifespan-task"),
    Property("shutdown.no-orphans", "shutdown", "No orphan processes",
             "After the stop signal, no process of the server is left running once its main "
             "process exited (the runner removes any leftovers itself).",
             Reference("not addressed by the ASGI spec", LIFESPAN_SPEC), shutdown.no_orphans,
             "every worker exits with the server"),
    Property("shutdown.clean-exit", "shutdown", "Exits cleanly",
             "After the stop signal the server exits by itself, with status 0 or by the "
             "SIGTERM it was sent, not by a crash.",
             Reference("not addressed by the ASGI spec (a process's exit status)",
                       LIFESPAN_SPEC), shutdown.clean_exit,
             "status 0 (or SIGTERM re-raised after a graceful shutdown)"),
    Property("startup-failure.exits-nonzero", "failure", "Failed startup exits",
             "When the app sends lifespan.startup.failed, the server serves nothing and exits "
             "with a non-zero status.",
             Reference("ASGI lifespan spec: Startup Failed", LIFESPAN_SPEC,
                       "If a server sees this it should log/print the message provided and "
                       "then exit."), failure.startup_failure_exits,
             "no request is served; the exit status is not 0", level="SHOULD",
             scenario="startup-fail"),
    Property("lifespan-rejected.keeps-serving", "failure", "Serves apps without lifespan",
             "When the app raises on the lifespan scope, the server carries on serving.",
             Reference("ASGI lifespan spec: Scope", LIFESPAN_SPEC,
                       "If an exception is raised when calling the application callable with "
                       "a lifespan.startup message or a scope with type lifespan, the server "
                       "must continue but not send any lifespan events."),
             failure.rejected_keeps_serving, "requests are answered as usual", level="MUST",
             scenario="reject-lifespan"),
    *lifecycle.PROPERTIES,
    *recycle.PROPERTIES,
)


def property_by_id(property_id: str) -> Property:
    for prop in PROPERTIES:
        if prop.id == property_id:
            return prop
    raise KeyError(property_id)


def evaluate(obs: Observations) -> dict[str, Verdict]:
    """Every property's verdict for one attempt; a check that crashes is an error cell."""
    verdicts: dict[str, Verdict] = {}
    for prop in PROPERTIES:
        try:
            verdicts[prop.id] = prop.check(obs)
        except Exception as err:  # a malformed record must not lose the other cells
            verdicts[prop.id] = Verdict("error", f"could not judge: {type(err).__name__}: {err}")
    return verdicts


def summary(verdicts: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for verdict in verdicts.values():
        status = verdict.status if isinstance(verdict, Verdict) else verdict["status"]
        counts[status] = counts.get(status, 0) + 1
    return counts
