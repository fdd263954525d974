"""A harness control: an in-process client that hands every request ONE shared state dict.

It runs the app's lifespan itself with a state dict, then sends the traffic through
httpx's ASGITransport (every request's ``scope["client"]`` is 127.0.0.1:123) and puts
that very dict, not a copy, into each request's scope. ``state.shallow-copy`` must fail
on it on every path (server, pattern harness, docker): a verdict that passed here would
be reading connections from the faked address.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import httpx
from _common import CONCURRENT, PATHS, SEQUENTIAL, failed, load_app, outcome, write


class SharedState:
    """The app with its lifespan run here; every request gets the lifespan's dict."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app({**scope, "state": self.state}, receive, send)  # the same dict

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": self.state}
        try:
            await self.app(scope, self.inbox.get, self.answers.put)
        except Exception as err:  # no lifespan support: serve anyway, as servers do
            await self.answers.put({"type": "lifespan.failed", "message": repr(err)})

    async def startup(self) -> dict[str, Any]:
        self.task = asyncio.get_running_loop().create_task(self._run())
        await self.inbox.put({"type": "lifespan.startup"})
        return await asyncio.wait_for(self.answers.get(), 5.0)

    async def shutdown(self) -> None:
        if self.task is None or self.task.done():
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self.answers.get(), 5.0)
        await asyncio.wait_for(self.task, 5.0)


async def get(client: httpx.AsyncClient, tag: str, path: str = "/fast") -> dict[str, Any]:
    try:
        response = await client.get(path, params={"tag": tag}, headers={"x-asgi-matrix-tag": tag})
        return outcome(tag, path, response.status_code)
    except Exception as err:
        return outcome(tag, path, None, f"{type(err).__name__}: {err}")


async def drive(app: Any, record: dict[str, Any]) -> None:
    shared = SharedState(app)
    record["lifespan"] = (await shared.startup()).get("type")
    if record["lifespan"] == "lifespan.startup.failed":
        raise RuntimeError("the app's lifespan startup failed")
    transport = httpx.ASGITransport(app=shared)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        first = await get(client, "ready")
        record["ready"] = {"ok": first["status"] is not None, "status": first["status"]}
        for path in PATHS or ["/fast"]:
            record["requests"] += [await get(client, f"seq-{i}", path) for i in range(SEQUENTIAL)]
            record["requests"] += await asyncio.gather(
                *(get(client, f"conc-{i}", path) for i in range(CONCURRENT)))
    await shared.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    args = parser.parse_args()
    record: dict[str, Any] = {"ready": {"ok": False}, "requests": []}
    try:
        asyncio.run(drive(load_app(args.app), record))
    except Exception as err:
        return failed(record, err)
    write(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
