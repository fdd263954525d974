"""Litestar: a lifespan context manager keeping the pool in app.state, and a handler that
returns the request's own headers.

Litestar caches what it parsed of a request (its headers among it) in
``scope["state"]``; on a server that shares that dict between the requests of one
connection, a handler reads another request's headers (litestar-org/litestar#4146).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request, Response, route
from patterns import _kit

STATE, HEADERS = "litestar-state", "litestar-headers"


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    async with _kit.recorded_lifespan(STATE, HEADERS), _kit.Pool(STATE) as pool:
        app.state.pool = pool
        yield


METHODS: list[Any] = ["GET", "POST"]  # the runner's traffic sends one large body too


@route(f"/p/{STATE}/work", http_method=METHODS)
async def state(request: Request[Any, Any, Any], tag: str = "") -> Response[dict[str, Any]]:
    size = len(await request.body())
    status, body = await _kit.handle(STATE, tag, lambda: request.app.state.pool.fetch(),
                                     body_bytes=size)
    return Response(body, status_code=status)


@route(f"/p/{HEADERS}/work", http_method=METHODS)
async def headers(request: Request[Any, Any, Any], tag: str = "") -> Response[dict[str, Any]]:
    async def work() -> dict[str, Any]:
        return _kit.check_own_headers(tag, request.headers.get(_kit.TAG_HEADER))

    size = len(await request.body())
    status, body = await _kit.handle(HEADERS, tag, work, body_bytes=size)
    return Response(body, status_code=status)


app = Litestar([state, headers], lifespan=[lifespan])
