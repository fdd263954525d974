"""factory-resource: an app factory whose lifespan makes the pool (PR #277, "Good").

The pool is made inside the lifespan, on a running loop, and closed when it ends; it
is kept on the app object the factory made. That is safe where each loop gets its own
app object; where one object serves several loops, the last lifespan's pool wins.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from patterns import _kit

PATTERN = "factory-resource"


class App:
    pool: _kit.Pool

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _kit.serve_lifespan(PATTERN, receive, send, self.lifespan, scope)
        elif scope["type"] == "http":
            await _kit.http(PATTERN, scope, receive, send, self.request)

    @contextlib.asynccontextmanager
    async def lifespan(self, scope: dict[str, Any]) -> AsyncIterator[None]:
        async with _kit.Pool(PATTERN) as pool:
            self.pool = pool
            yield

    async def request(self, scope: dict[str, Any], tag: str) -> dict[str, Any]:
        return await self.pool.fetch()


def create_app() -> App:
    return App()


app = create_app()  # what `server --factory factory_resource:create_app` would call
