"""A raw ASGI app with a loop-bound pool made at import time (the matrix's
global-resource pattern), with a lifespan that does nothing: no dependencies, so it
runs in the probe's own image."""

import asyncio

_connection = asyncio.Semaphore(1)


async def _query():
    async with _connection:
        await asyncio.sleep(0.002)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await asyncio.gather(_query(), _query())
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
