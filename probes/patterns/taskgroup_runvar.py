"""taskgroup-runvar: the lifespan's task group kept in an anyio RunVar (PR #277's fix).

A RunVar holds one value per event loop (asyncio loop or trio run), so each request
finds the task group of the lifespan that ran on its own loop, or none at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
from patterns import _kit

PATTERN = "taskgroup-runvar"


class App:
    def __init__(self) -> None:
        self.task_group_var = anyio.lowlevel.RunVar[anyio.abc.TaskGroup]("task_group")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _kit.serve_lifespan(PATTERN, receive, send, self.lifespan, scope)
        elif scope["type"] == "http":
            await _kit.http(PATTERN, scope, receive, send, self.request)

    @contextlib.asynccontextmanager
    async def lifespan(self, scope: dict[str, Any]) -> AsyncIterator[None]:
        async with anyio.create_task_group() as task_group:
            self.task_group_var.set(task_group)
            yield

    async def request(self, scope: dict[str, Any], tag: str) -> dict[str, Any]:
        job = _kit.Job(PATTERN, tag)
        self.task_group_var.get().start_soon(job.run)  # LookupError: no lifespan on this loop
        return {"job": job.id}


app = App()
