"""Every spec text and issue a property checks, in one table: the quotes are the spec's
own words, so one quote is written once (the lifespan shutdown message is cited by
four groups)."""

from __future__ import annotations

from asgi_matrix.verdicts._model import Reference

LIFESPAN_SPEC = "https://asgi.readthedocs.io/en/latest/specs/lifespan.html"
WWW_SPEC = "https://asgi.readthedocs.io/en/latest/specs/www.html"
ASGIREF_338 = "https://github.com/django/asgiref/pull/338"
ASGIREF_322 = "https://github.com/django/asgiref/issues/322"
ASGIREF_277 = "https://github.com/django/asgiref/pull/277"

PER_LOOP = Reference(
    "ASGI lifespan spec (asgiref #338)", ASGIREF_338,
    "Lifespans should be executed once per event loop that will be processing requests. "
    "[...] The important part is that lifespans and requests are run in the same event loop")
PER_THREAD = Reference(
    "ASGI lifespan spec (asgiref #338)", ASGIREF_338,
    "Lifespans should be executed once per event loop that will be processing requests. "
    "In a multi-process environment there will be lifespan events in each process and in a "
    "multi-threaded environment there will be lifespans for each thread.")
STATE = Reference(
    "ASGI lifespan spec: Lifespan State", f"{LIFESPAN_SPEC}#lifespan-state",
    "The server will ensure that a *shallow copy* of the namespace is passed into each "
    "subsequent request/response call into the application.")
STATE_PER_REQUEST = Reference(
    "ASGI lifespan spec: Lifespan State; HTTP connection scope", f"{LIFESPAN_SPEC}#lifespan-state",
    "The server will ensure that a *shallow copy* of the namespace is passed into each "
    "subsequent request/response call into the application. [...] HTTP connections have a "
    "single-request *connection scope* [...] even if the underlying socket is still open and "
    "serving multiple requests.")
HTTP_SCOPE = Reference(
    "ASGI HTTP spec: Connection Scope", f"{WWW_SPEC}#connection-scope",
    "HTTP connections have a single-request *connection scope* - that is, your application "
    "will be called at the start of the request, and will last until the end of that "
    "specific request, even if the underlying socket is still open and serving multiple "
    "requests.")
SHUTDOWN = Reference(
    "ASGI lifespan spec: Shutdown", LIFESPAN_SPEC,
    "Sent to the application when the server has stopped accepting connections and closed "
    "all active connections.")
SHUTDOWN_DRAIN = Reference("ASGI lifespan spec: Shutdown (draining is not addressed)",
                           LIFESPAN_SPEC, SHUTDOWN.quote)
WS_DISCONNECT = Reference(
    "ASGI WebSocket spec: Disconnect - receive event", f"{WWW_SPEC}#disconnect-receive-event-ws",
    "Sent to the application when either connection to the client is lost, either from the "
    "client closing the connection, the server closing the connection, or loss of the socket.")
HTTP_DISCONNECT = Reference(
    "ASGI HTTP spec: Disconnect - receive event", f"{WWW_SPEC}#disconnect-receive-event",
    "Sent to the application if receive is called after a response has been sent or after "
    "the HTTP connection has been closed.")
RFC6455 = Reference(
    "RFC 6455 7.4.1 (not in the ASGI spec)",
    "https://www.rfc-editor.org/rfc/rfc6455#section-7.4.1",
    "1001 indicates that an endpoint is \"going away\", such as a server going down")
UVICORN_451 = Reference("not in the ASGI spec; encode/uvicorn#451",
                        "https://github.com/encode/uvicorn/issues/451")
GRANIAN_568 = Reference("not in the ASGI spec; emmett-framework/granian#568",
                        "https://github.com/emmett-framework/granian/issues/568")
RFC9112 = Reference(
    "RFC 9112 9.6 (not in the ASGI spec); emmett-framework/granian#568",
    "https://www.rfc-editor.org/rfc/rfc9112#section-9.6",
    "The \"close\" connection option is defined as a signal that the sender will close this "
    "connection after completion of the response.")
UVICORN_2751 = Reference("not in the ASGI spec; encode/uvicorn#2751",
                         "https://github.com/encode/uvicorn/issues/2751")
UVICORN_426 = Reference("not in the ASGI spec; encode/uvicorn#426",
                        "https://github.com/encode/uvicorn/issues/426")
LIFESPAN_SUPPORTED = Reference(
    "ASGI lifespan spec (an optional protocol)",
    LIFESPAN_SPEC)
LIFESPAN_STARTUP_BEFORE_REQUESTS = Reference(
    "ASGI lifespan spec: Startup Complete",
    LIFESPAN_SPEC,
    "A server must wait for this message before it starts processing "
    "connections.")
LIFESPAN_RESOURCES_USABLE = Reference(
    "asgiref PR #277 and the lifespan spec (asgiref #338)",
    ASGIREF_277,
    "The important part is that lifespans and requests are run in the "
    "same event loop to ensure that objects like database connection "
    "pools are not moved or shared across event loops.")
LIFESPAN_APP_OBJECT_RESOURCES = Reference(
    "asgiref PR #277: lifespans in multi-thread environments (the spec "
    "does not say how many loops share an app object)",
    ASGIREF_277)
CONTEXT_FROM_LIFESPAN = Reference(
    "asgiref #322: contextvars from lifespan (open)",
    ASGIREF_322)
CONTEXT_ISOLATED = Reference(
    "asgiref #322 (open) and encode/uvicorn#2167: contexts leaking between "
    "requests",
    "https://github.com/encode/uvicorn/issues/2167")
SHUTDOWN_NO_ORPHANS = Reference(
    "not addressed by the ASGI spec",
    LIFESPAN_SPEC)
SHUTDOWN_CLEAN_EXIT = Reference(
    "not addressed by the ASGI spec (a process's exit status)",
    LIFESPAN_SPEC)
STARTUP_FAILURE_EXITS_NONZERO = Reference(
    "ASGI lifespan spec: Startup Failed",
    LIFESPAN_SPEC,
    "If a server sees this it should log/print the message provided and "
    "then exit.")
LIFESPAN_REJECTED_KEEPS_SERVING = Reference(
    "ASGI lifespan spec: Scope",
    LIFESPAN_SPEC,
    "If an exception is raised when calling the application callable with "
    "a lifespan.startup message or a scope with type lifespan, the server "
    "must continue but not send any lifespan events.")
