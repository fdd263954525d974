"""contextvar-resource: the lifespan puts the pool in a ContextVar; requests read it.

Works only where the server runs each request in a copy of the lifespan's context
(asgiref issue #322); elsewhere requests see the variable unset.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator
from typing import Any

from patterns import _kit

PATTERN = "contextvar-resource"

POOL: contextvars.ContextVar[_kit.Pool] = contextvars.ContextVar("pool")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _kit.serve_lifespan(PATTERN, receive, send, lifespan, scope)
    elif scope["type"] == "http":
        await _kit.http(PATTERN, scope, receive, send, request)


@contextlib.asynccontextmanager
async def lifespan(scope: dict[str, Any]) -> AsyncIterator[None]:
    async with _kit.Pool(PATTERN) as pool:
        POOL.set(pool)
        yield


async def request(scope: dict[str, Any], tag: str) -> dict[str, Any]:
    return await POOL.get().fetch()  # LookupError where the lifespan's context is not ours
