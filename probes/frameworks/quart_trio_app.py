"""Quart-Trio, as its docs show: Quart's serving hooks on trio (``QuartTrio``).
``before_serving`` makes the pool, ``while_serving`` wraps the serving time,
``after_serving`` closes it; handlers use it from the app object. It runs only on trio."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from patterns import _kit
from quart import request
from quart_trio import QuartTrio

PATTERN = "quart-trio-serving"

app = QuartTrio(__name__)


@app.before_serving
async def startup() -> None:
    app.pool = _kit.TrioPool(PATTERN)  # type: ignore[attr-defined]


@app.while_serving
async def serving() -> AsyncGenerator[None, None]:
    async with _kit.recorded_lifespan(PATTERN):
        yield


@app.after_serving
async def shutdown() -> None:
    await app.pool.aclose()  # type: ignore[attr-defined]


@app.route(f"/p/{PATTERN}/work", methods=["GET", "POST"])
async def work() -> tuple[dict[str, Any], int]:
    tag = request.args.get("tag", "")
    size = len(await request.get_data())
    status, body = await _kit.handle(PATTERN, tag, lambda: app.pool.fetch(),  # type: ignore[attr-defined]
                                     body_bytes=size)
    return body, status
