"""taskgroup-on-instance: the lifespan's task group kept on the app object (PR #277, "Bad").

Each request starts a fire-and-forget job in it that outlives the response. On a
server that runs one event loop per process this works; where one app object serves
several loops, the attribute holds the task group of whichever lifespan started last.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.abc
from patterns import _kit

PATTERN = "taskgroup-on-instance"


class App:
    task_group: anyio.abc.TaskGroup

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _kit.serve_lifespan(PATTERN, receive, send, self.lifespan, scope)
        elif scope["type"] == "http":
            await _kit.http(PATTERN, scope, receive, send, self.request)

    @contextlib.asynccontextmanager
    async def lifespan(self, scope: dict[str, Any]) -> AsyncIterator[None]:
        async with anyio.create_task_group() as self.task_group:
            yield  # leaving the block waits for every job started in it

    async def request(self, scope: dict[str, Any], tag: str) -> dict[str, Any]:
        job = _kit.Job(PATTERN, tag)
        self.task_group.start_soon(job.run)
        return {"job": job.id}


app = App()
