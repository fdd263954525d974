"""lifespan-state: the pool yielded as lifespan state and read from ``scope["state"]``.

The spec's way (asgiref #338): the server gives each request a shallow copy of the
lifespan's state, so each loop's lifespan hands its own pool to its own requests. Each
request also writes a key of its own; seeing another request's key means the server
shares one dict between requests (per connection, or globally).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from patterns import _kit

PATTERN = "lifespan-state"
KEY = "lifespan-state.pool"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _kit.serve_lifespan(PATTERN, receive, send, lifespan, scope)
    elif scope["type"] == "http":
        await _kit.http(PATTERN, scope, receive, send, request)


@contextlib.asynccontextmanager
async def lifespan(scope: dict[str, Any]) -> AsyncIterator[None]:
    if "state" not in scope:
        raise RuntimeError("the server does not support lifespan state (no scope['state'])")
    async with _kit.Pool(PATTERN) as pool:
        scope["state"][KEY] = pool
        yield


async def request(scope: dict[str, Any], tag: str) -> dict[str, Any]:
    state = scope["state"]  # KeyError where the server gives requests no state
    foreign = sorted(k for k in state if k.startswith("lifespan-state.request:"))
    state[f"lifespan-state.request:{tag}"] = True
    if foreign:
        raise RuntimeError(f"scope['state'] holds another request's key {foreign[0]!r}: "
                           "the server shares one state dict between requests")
    return await state[KEY].fetch()
