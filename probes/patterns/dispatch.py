"""One ASGI app that serves several pattern apps at once, each under ``/p/<id>/``.

Patterns that cannot interfere share one server start: this app routes each request
by path prefix to its pattern's app, and runs every pattern's lifespan side by side
inside its own (a combined lifespan). A pattern whose startup fails is recorded by
the pattern itself and left out; the others still start, so one broken pattern never
hides another's verdict. Any other path answers 200 (the runner's readiness check).

``ASGI_MATRIX_PATTERNS`` names the apps: ``id=module:attr,id=module:attr``. ``app`` is
one dispatcher made at import; ``create_app()`` is an app factory (a server's
``--factory``) that makes a fresh dispatcher whose pattern apps come from each module's
own ``create_app()`` where it has one, else its ``app``: a server that calls the factory
once per event loop gives each loop its own app objects, as the users of such a server
would get from their factory.
"""

from __future__ import annotations

import contextvars
import importlib
import os
from typing import Any

import anyio
from patterns import _kit

App = Any
_UNSET = object()


def _load(spec: str, factories: bool = False) -> dict[str, App]:
    """Pattern id -> app; ``factories``: a module's ``create_app()`` makes a new one."""
    apps: dict[str, App] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        pattern, _, target = item.partition("=")
        module_name, _, attr = target.partition(":")
        module = importlib.import_module(module_name)
        factory = getattr(module, "create_app", None) if factories else None
        apps[pattern] = factory() if callable(factory) else getattr(module, attr or "app")
    return apps


class _Child:
    """One pattern's lifespan, driven through its own pair of message streams."""

    def __init__(self, pattern: str, app: App) -> None:
        self.pattern, self.app = pattern, app
        self.to_child, self._inbox = anyio.create_memory_object_stream[dict[str, Any]](4)
        self._outbox, self.from_child = anyio.create_memory_object_stream[dict[str, Any]](4)
        self.set_during_startup: dict[contextvars.ContextVar[Any], Any] = {}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            now = contextvars.copy_context()
            self.set_during_startup = {var: value for var, value in now.items()
                                       if self._before.get(var, _UNSET) is not value}
        await self._outbox.send(message)

    async def run(self, scope: dict[str, Any]) -> None:
        self._before = contextvars.copy_context()
        try:
            await self.app(scope, self._inbox.receive, self._send)
        except Exception as exc:  # the pattern recorded it; answer for it so nobody waits
            _kit.record(self.pattern, "lifespan-error", error=_kit.error_text(exc))
            self._outbox.send_nowait({"type": "lifespan.failed", "message": _kit.error_text(exc)})

    async def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        await self.to_child.send(message)
        return await self.from_child.receive()


async def _lifespan(apps: dict[str, App], scope: dict[str, Any], receive: Any, send: Any
                    ) -> None:
    message = await receive()
    if message["type"] != "lifespan.startup":
        return
    children = [_Child(p, a) for p, a in apps.items()]
    async with anyio.create_task_group() as task_group:
        for child in children:
            # Each pattern gets the same scope, "state" included, as a framework's
            # sub-applications would; keys are prefixed with the pattern's id.
            task_group.start_soon(child.run, scope)
        started = []
        for child in children:
            answer = await child.ask({"type": "lifespan.startup"})
            if answer["type"] == "lifespan.startup.complete":
                started.append(child)
                # What the pattern's startup set in its context lands in this lifespan's
                # context, as if it had run here: servers that hand requests a copy of
                # the lifespan's context then hand them the pattern's values too.
                for var, value in child.set_during_startup.items():
                    var.set(value)
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        for child in started:
            await child.ask({"type": "lifespan.shutdown"})
    await send({"type": "lifespan.shutdown.complete"})


class Dispatcher:
    """Routes ``/p/<id>/...`` to that pattern's app; runs their lifespans in its own."""

    def __init__(self, apps: dict[str, App]) -> None:
        self.apps = apps

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(self.apps, scope, receive, send)
            return
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/p/"):
            pattern = path[3:].split("/", 1)[0]
            if pattern in self.apps:
                await self.apps[pattern](scope, receive, send)
                return
        if scope["type"] == "http":
            await _kit.respond(send, 200, {"patterns": sorted(self.apps)})
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})


def create_app() -> Dispatcher:
    """A new dispatcher with new pattern apps where their modules can make them."""
    return Dispatcher(_load(os.environ.get("ASGI_MATRIX_PATTERNS", ""), factories=True))


app = Dispatcher(_load(os.environ.get("ASGI_MATRIX_PATTERNS", "")))
