"""One ASGI app that serves several pattern and framework apps at once, each under ``/p/<id>/``.

Apps that cannot interfere share one server start: this app routes each request by
path prefix to its pattern's app, and runs every app's lifespan inside its own, in the
server's lifespan task itself: each app's lifespan nested in the previous one's wait
for ``lifespan.shutdown`` (no task beside the server's: a server that sends the
shutdown only once every other task on its loop ended meets the apps as it would meet
each alone). Each mounted app sees what it would see alone:

- its own lifespan messages, and its startup failure is recorded for its patterns
  while the others start;
- its own ``scope["state"]``, with the server's semantics: the dispatcher keeps each
  app's dict under a key of the server's state and hands the app, per request, a
  shallow copy of its lifespan state where the server copied its state for this
  request, the same dict again where the server shares its dict between requests (per
  connection, or the lifespan's own dict), and no state where the server gives none;
- only the event loop it is written for: an app built on asyncio is not run on trio
  (nor a trio one on asyncio); its requests are answered 501 and recorded as such,
  with where they ran, so its verdict is "n/a" from evidence.

Any other path answers 200 (the runner's readiness check).

``ASGI_MATRIX_PATTERNS`` names the apps: ``id=module:attr@library,...`` (library:
anyio, asyncio or trio; anyio if left out). Patterns naming the same ``module:attr``
share that one app (a framework app serving several patterns). ``app`` is one
dispatcher made at import; ``create_app()`` is an app factory (a server's
``--factory``) that makes a fresh dispatcher whose apps come from each module's own
``create_app()`` where it has one, else its ``app``: a server that calls the factory
once per event loop gives each loop its own app objects, as the users of such a server
would get from their factory.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import anyio
from asgi_probe import _async_library
from patterns import _kit

App = Any
#: where each mounted app's own state dict lives in the server's state dict
_STATE_KEY = "asgi_matrix.dispatch:"


class Mount:
    """One app, the patterns it serves, and the event loop library it is written for;
    ``factories``: made by its module's ``create_app()`` where it has one."""

    def __init__(self, target: str, library: str, factories: bool = False) -> None:
        module_name, _, attr = target.partition(":")
        self.target, self.library = target, library
        module = importlib.import_module(module_name)
        factory = getattr(module, "create_app", None) if factories else None
        self.app: App = factory() if callable(factory) else getattr(module, attr or "app")
        self.patterns: list[str] = []
        self.key = _STATE_KEY + target
        #: ids of the state dicts this app got in its lifespans (one per lifespan run)
        self.lifespan_states: dict[int, dict[str, Any]] = {}

    def runs_here(self) -> bool:
        return self.library == "anyio" or self.library == _async_library()


def _load(spec: str, factories: bool = False) -> dict[str, Mount]:
    """Pattern id -> its mounted app (one per ``module:attr``)."""
    mounts: dict[str, Mount] = {}
    by_target: dict[str, Mount] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        pattern, _, rest = item.partition("=")
        target, _, library = rest.partition("@")
        if target not in by_target:
            by_target[target] = Mount(target, library or "anyio", factories)
        mounts[pattern] = by_target[target]
        by_target[target].patterns.append(pattern)
    return mounts


def request_state(mount: Mount, server_state: dict[str, Any],
                  lifespan_states: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The state dict this app would have got for this request from the server alone;
    ``lifespan_states``: the server's own lifespan state dicts, by id."""
    if id(server_state) in lifespan_states:  # the server hands out its lifespan's dict
        return server_state.setdefault(mount.key, {})
    current = server_state.get(mount.key)
    if current is None:  # no lifespan of this app stored one: what the server gave, emptied
        current = server_state[mount.key] = {}
    elif id(current) in mount.lifespan_states:  # a fresh copy of the lifespan state: copy it
        current = server_state[mount.key] = dict(current)
    return current  # else a dict an earlier request put in a dict the server shares


def _child_scope(scope: dict[str, Any], mount: Mount) -> dict[str, Any]:
    child = dict(scope)
    if isinstance(scope.get("state"), dict):  # its own state, kept in the server's under its key
        own: dict[str, Any] = {}
        scope["state"][mount.key] = own
        mount.lifespan_states[id(own)] = own
        child["state"] = own
    return child


async def _nested(mounts: list[Mount], scope: dict[str, Any], receive: Any, send: Any
                  ) -> None:
    """The first app's lifespan, run in this very task; the apps after it run inside its
    wait for ``lifespan.shutdown``, and the last one's wait is the server's own.

    No app's lifespan is a task beside the server's lifespan task: a server that sends
    ``lifespan.shutdown`` only once every other task on its loop has ended would wait
    forever on such siblings, which alone the app never has. Each app gets its own
    messages; what its startup sets in its context is set in the lifespan's own context,
    as if it ran alone; its tasks and task groups are its own, opened in the order of
    the apps and closed in reverse, each after the apps inside it shut down."""
    if not mounts:
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown, the server's: every app's shutdown begins
        return
    mount, rest = mounts[0], mounts[1:]
    asked = [0]
    inner_ran = [False]

    async def inner() -> None:
        inner_ran[0] = True
        await _nested(rest, scope, receive, send)

    async def child_receive() -> dict[str, Any]:
        asked[0] += 1
        if asked[0] == 1:
            return {"type": "lifespan.startup"}
        if not inner_ran[0]:  # it waits for its shutdown: the others run meanwhile
            await inner()
            return {"type": "lifespan.shutdown"}
        await anyio.sleep_forever()  # no server sends a third message
        raise AssertionError("unreachable")

    async def child_send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.failed":
            for pattern in mount.patterns:  # alone, the server would have seen it
                _kit.record(pattern, "startup", ok=False, by="dispatch",
                            error="lifespan.startup.failed: "
                            + (str(message.get("message") or "") or "(no message)"))

    try:
        await mount.app(_child_scope(scope, mount), child_receive, child_send)
    except Exception as exc:  # recorded as its own; the other apps still run
        for pattern in mount.patterns:
            _kit.record(pattern, "lifespan-error", error=_kit.error_text(exc))
    if not inner_ran[0]:  # it failed, returned or raised before waiting for its shutdown
        await inner()


async def _lifespan(mounts: list[Mount], scope: dict[str, Any], receive: Any, send: Any
                    ) -> None:
    message = await receive()
    if message["type"] != "lifespan.startup":
        return
    await _nested([m for m in mounts if m.runs_here()], scope, receive, send)
    await send({"type": "lifespan.shutdown.complete"})


async def _not_here(pattern: str, mount: Mount, scope: dict[str, Any], send: Any) -> None:
    library = _async_library()
    error = (f"not run: {mount.target} is built on {mount.library}, and the server runs "
             f"{library}")
    _kit.record(pattern, "request", tag=_kit.tag_of(scope), ok=False, error=error,
                skipped=True)
    await _kit.respond(send, 501, {"ok": False, "error": error})


class Dispatcher:
    """Routes ``/p/<id>/...`` to that pattern's app; runs their lifespans in its own."""

    def __init__(self, apps: dict[str, Mount]) -> None:
        self.apps = apps
        self.mounts = list({id(m): m for m in apps.values()}.values())
        #: the server's own lifespan state dicts (one per lifespan it ran here), by id
        self.lifespan_states: dict[int, dict[str, Any]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            if isinstance(scope.get("state"), dict):
                self.lifespan_states[id(scope["state"])] = scope["state"]
            await _lifespan(self.mounts, scope, receive, send)
            return
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/p/"):
            pattern = path[3:].split("/", 1)[0]
            mount = self.apps.get(pattern)
            if mount is not None:
                if not mount.runs_here():
                    await _not_here(pattern, mount, scope, send)
                    return
                child = dict(scope)
                if isinstance(scope.get("state"), dict):
                    child["state"] = request_state(mount, scope["state"], self.lifespan_states)
                await mount.app(child, receive, send)
                return
        if scope["type"] == "http":
            await _kit.respond(send, 200, {"patterns": sorted(self.apps)})
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})


def create_app() -> Dispatcher:
    """A new dispatcher with new apps where their modules can make them."""
    return Dispatcher(_load(os.environ.get("ASGI_MATRIX_PATTERNS", ""), factories=True))


app = Dispatcher(_load(os.environ.get("ASGI_MATRIX_PATTERNS", "")))
