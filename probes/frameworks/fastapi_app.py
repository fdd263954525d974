"""FastAPI, as its docs show: ``lifespan=`` with ``app.state``, and with yielded state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from patterns import _kit

APP_STATE, YIELDED = "fastapi-app-state", "fastapi-yielded-state"


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    async with _kit.recorded_lifespan(APP_STATE, YIELDED), _kit.Pool(APP_STATE) as on_app, \
            _kit.Pool(YIELDED) as yielded:
        app.state.pool = on_app
        yield {"pool": yielded}


app = FastAPI(lifespan=lifespan)


@app.api_route(f"/p/{APP_STATE}/work", methods=["GET", "POST"])
async def app_state(request: Request, tag: str = "") -> JSONResponse:
    size = len(await request.body())
    status, body = await _kit.handle(APP_STATE, tag, lambda: request.app.state.pool.fetch(),
                                     body_bytes=size)
    return JSONResponse(body, status_code=status)


@app.api_route(f"/p/{YIELDED}/work", methods=["GET", "POST"])
async def yielded_state(request: Request, tag: str = "") -> JSONResponse:
    size = len(await request.body())
    status, body = await _kit.handle(YIELDED, tag, lambda: request.state.pool.fetch(),
                                     body_bytes=size)
    return JSONResponse(body, status_code=status)
