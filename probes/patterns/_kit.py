"""What every pattern app shares: recording what happened, and a real loop-bound resource.

A pattern app is written the way users write theirs; this module only does the
bookkeeping around it. Records go through the probe's own writer (``asgi_probe._write``,
one line per ``write(2)`` to the file named by ``ASGI_MATRIX_OBS``) with the probe's
``_where()``: process, thread, interpreter and event loop.

Records (``event``):
  pattern.startup / pattern.shutdown   one per lifespan the pattern ran; shutdown says
                                       whether the lifespan exited cleanly, else the error
  pattern.request                      one per request: ok, or the exact exception text
  pattern.job                          background jobs: queued (by the request), started,
                                       finished, or cancelled (with the exception text)
  pattern.close                        the resource was closed (once per lifespan, we hope)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import anyio
from asgi_probe import _where_safe, _write

#: A background job runs until a lifespan of its process is told to shut down, then this
#: much longer: it is always still running when shutdown begins, however slow the traffic
#: (a job that ended inside its request would hide the breakage).
JOB_TAIL_S = float(os.environ.get("ASGI_MATRIX_JOB_TAIL_S", "1.0"))
#: ... and never longer than this in all (a server that never shuts a lifespan down).
JOB_MAX_S = 15.0
#: Set when any lifespan of this process receives lifespan.shutdown.
SHUTTING_DOWN = threading.Event()


def record(pattern: str, event: str, **fields: Any) -> None:
    _write({"event": f"pattern.{event}", "pattern": pattern, **fields, **_where_safe()})


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def tag_of(scope: dict[str, Any]) -> str:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("tag", [""])[0]


async def respond(send: Any, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, default=repr).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


async def handle(pattern: str, tag: str, work: Callable[[], Awaitable[dict[str, Any]]],
                 body_bytes: int | None = None) -> tuple[int, dict[str, Any]]:
    """Run one request's work; record success or the exact exception and where it happened.

    ``body_bytes``: how much of the request's body the app read (the runner compares it
    with what it sent)."""
    try:
        detail = await work()
        if body_bytes is not None:
            detail = {**detail, "body_bytes": body_bytes}
    except Exception as exc:
        text = error_text(exc)
        record(pattern, "request", tag=tag, ok=False, error=text,
               traceback=traceback.format_exc(limit=4))
        return 500, {"ok": False, "error": text}
    record(pattern, "request", tag=tag, ok=True, **detail)
    return 200, {"ok": True, **detail}


class Job:
    """A background job that outlives its request (fire and forget), and says how it ended."""

    def __init__(self, pattern: str, tag: str) -> None:
        self.pattern = pattern
        self.id = f"{tag}-{uuid.uuid4().hex[:6]}"
        record(pattern, "job", job=self.id, phase="queued")

    async def run(self) -> None:
        record(self.pattern, "job", job=self.id, phase="started")
        deadline = time.monotonic() + JOB_MAX_S
        try:
            while not SHUTTING_DOWN.is_set() and time.monotonic() < deadline:
                await anyio.sleep(0.05)
            await anyio.sleep(JOB_TAIL_S)
        except BaseException as exc:  # cancellation too: silent breakage shows here
            record(self.pattern, "job", job=self.id, phase="cancelled", error=error_text(exc))
            raise
        record(self.pattern, "job", job=self.id, phase="finished")


class Pool:
    """A connection-pool stand-in that is really loop-bound, as asyncpg's or httpx's are.

    One connection (an ``asyncio.Semaphore(1)``) and each request runs two queries at
    once, so the second waits on it: the semaphore binds itself to the event loop it
    first waited on, and raises ``RuntimeError: ... is bound to a different event
    loop`` when used from another, exactly as such pools do.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.id = uuid.uuid4().hex[:8]
        self._connection = asyncio.Semaphore(1)
        self.closed = False
        self.queries = 0

    async def _query(self) -> None:
        async with self._connection:
            await asyncio.sleep(0.002)
            self.queries += 1

    async def fetch(self) -> dict[str, Any]:
        if self.closed:
            raise RuntimeError(f"pool {self.id} is closed")
        await asyncio.gather(self._query(), self._query())
        return {"pool": self.id}

    async def aclose(self) -> None:
        self.closed = True
        record(self.pattern, "close", pool=self.id, queries=self.queries)

    async def __aenter__(self) -> Pool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class TrioPool(Pool):
    """The same pool for apps on trio (quart-trio): its one connection an anyio semaphore,
    its two queries in an anyio task group, since asyncio objects cannot run there."""

    def __init__(self, pattern: str) -> None:
        super().__init__(pattern)
        self._connection = anyio.Semaphore(1)  # type: ignore[assignment]

    async def _query(self) -> None:
        async with self._connection:
            await anyio.sleep(0.002)
            self.queries += 1

    async def fetch(self) -> dict[str, Any]:
        if self.closed:
            raise RuntimeError(f"pool {self.id} is closed")
        async with anyio.create_task_group() as queries:
            queries.start_soon(self._query)
            queries.start_soon(self._query)
        return {"pool": self.id}


Lifespan = Callable[[dict[str, Any]], contextlib.AbstractAsyncContextManager[Any]]


async def serve_lifespan(pattern: str, receive: Any, send: Any, lifespan: Lifespan,
                         scope: dict[str, Any]) -> None:
    """The ASGI lifespan protocol around the pattern's own context manager, recorded."""
    message = await receive()
    if message["type"] != "lifespan.startup":
        return
    token = uuid.uuid4().hex[:12]
    try:
        manager = lifespan(scope)
        await manager.__aenter__()
    except Exception as exc:
        record(pattern, "startup", token=token, ok=False, error=error_text(exc))
        await send({"type": "lifespan.startup.failed", "message": error_text(exc)})
        return
    record(pattern, "startup", token=token, ok=True)
    await send({"type": "lifespan.startup.complete"})
    message = await receive()
    SHUTTING_DOWN.set()
    try:
        await manager.__aexit__(None, None, None)
    except BaseException as exc:
        record(pattern, "shutdown", token=token, clean=False, error=error_text(exc),
               traceback=traceback.format_exc(limit=6))
        await send({"type": "lifespan.shutdown.failed", "message": error_text(exc)})
        if not isinstance(exc, Exception):
            raise
        return
    record(pattern, "shutdown", token=token, clean=True)
    await send({"type": "lifespan.shutdown.complete"})


@contextlib.asynccontextmanager
async def nothing(scope: dict[str, Any]) -> AsyncIterator[None]:
    yield


async def read_body(receive: Any) -> int:
    """Read the request's whole body, however many messages it comes in; its length."""
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            return size
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            return size


async def http(pattern: str, scope: dict[str, Any], receive: Any, send: Any,
               work: Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]]) -> None:
    tag = tag_of(scope)
    size = await read_body(receive)
    status, body = await handle(pattern, tag, lambda: work(scope, tag), body_bytes=size)
    await respond(send, status, body)


@contextlib.asynccontextmanager
async def recorded_lifespan(*patterns: str) -> AsyncIterator[None]:
    """For framework apps: record their lifespan's startup and how it ended, per pattern."""
    token = uuid.uuid4().hex[:12]
    for pattern in patterns:
        record(pattern, "startup", token=token, ok=True)
    try:
        yield
    except BaseException as exc:
        for pattern in patterns:
            record(pattern, "shutdown", token=token, clean=False, error=error_text(exc))
        raise
    SHUTTING_DOWN.set()
    for pattern in patterns:
        record(pattern, "shutdown", token=token, clean=True)


def check_own_headers(tag: str, header: str | None) -> dict[str, Any]:
    """The tag the client sent in a header must be this request's own (query) tag."""
    if header != tag:
        raise RuntimeError(f"the handler read another request's headers: {TAG_HEADER} "
                           f"{header!r} on request {tag!r}")
    return {"header": header}


#: The client sends each request's tag in this header too (see check_own_headers).
TAG_HEADER = "x-asgi-matrix-tag"
