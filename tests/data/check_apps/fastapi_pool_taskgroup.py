"""A FastAPI app as users write one: a connection pool made in the lifespan and an anyio
task group opened there, both kept on ``app.state``; GET /items queries the pool and
starts a fire-and-forget job in the task group, POST /items only starts one (a job that
takes a few seconds, as a call to another service does). The pool is loop-bound as asyncpg's
is: two queries at once share one connection (an ``asyncio.Semaphore``), so using it
from another event loop raises "is bound to a different event loop".

The same pattern as the matrix's fastapi-app-state (pool on app.state) and
taskgroup-on-instance (task group on the app object); used by tests/measure/test_check_servers.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import anyio
from fastapi import FastAPI

log = logging.getLogger("pool-app")
AUDIT_S = 3.0


class Pool:
    def __init__(self) -> None:
        self._connection = asyncio.Semaphore(1)
        self.closed = False

    async def _query(self) -> None:
        async with self._connection:
            await asyncio.sleep(0.002)

    async def fetch(self) -> dict[str, bool]:
        if self.closed:
            raise RuntimeError("pool is closed")
        await asyncio.gather(self._query(), self._query())
        return {"ok": True}


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = Pool()
    async with anyio.create_task_group() as jobs:
        app.state.jobs = jobs
        yield
        app.state.pool.closed = True


app = FastAPI(lifespan=lifespan)


async def audit(item: str) -> None:
    """Work handed off by a request: it takes a while (a call to another service)."""
    await anyio.sleep(AUDIT_S)
    log.info("audited %s", item)


@app.get("/items")
async def items() -> dict[str, bool]:
    result = await app.state.pool.fetch()
    app.state.jobs.start_soon(audit, "items")
    return result


@app.post("/items")
async def create(payload: dict[str, str]) -> dict[str, str]:
    app.state.jobs.start_soon(audit, payload.get("name", "?"))
    return payload
