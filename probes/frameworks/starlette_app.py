"""Starlette, as its docs show: ``lifespan=`` with ``app.state``, and with yielded state.

/p/starlette-app-state/work    the pool the lifespan put on app.state
/p/starlette-yielded-state/work the pool the lifespan yielded (request.state, a copy of
                                the server's lifespan state per request)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from patterns import _kit
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

APP_STATE, YIELDED = "starlette-app-state", "starlette-yielded-state"


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    async with _kit.recorded_lifespan(APP_STATE, YIELDED), _kit.Pool(APP_STATE) as on_app, \
            _kit.Pool(YIELDED) as yielded:
        app.state.pool = on_app
        yield {"pool": yielded}


async def app_state(request: Request) -> JSONResponse:
    tag = request.query_params.get("tag", "")
    size = len(await request.body())
    status, body = await _kit.handle(APP_STATE, tag, lambda: request.app.state.pool.fetch(),
                                     body_bytes=size)
    return JSONResponse(body, status_code=status)


async def yielded_state(request: Request) -> JSONResponse:
    tag = request.query_params.get("tag", "")
    size = len(await request.body())
    status, body = await _kit.handle(YIELDED, tag, lambda: request.state.pool.fetch(),
                                     body_bytes=size)
    return JSONResponse(body, status_code=status)


METHODS = ["GET", "POST"]  # the runner's traffic sends one large body too
app = Starlette(routes=[Route(f"/p/{APP_STATE}/work", app_state, methods=METHODS),
                        Route(f"/p/{YIELDED}/work", yielded_state, methods=METHODS)],
                lifespan=lifespan)
