"""Drive the probe through asgi-lifespan's LifespanManager and httpx.ASGITransport."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import httpx
from _common import CONCURRENT, PATHS, SEQUENTIAL, failed, load_app, outcome, write
from asgi_lifespan import LifespanManager


async def get(client: httpx.AsyncClient, tag: str, path: str = "/fast") -> dict[str, Any]:
    try:
        response = await client.get(path, params={"tag": tag},
                                              headers={"x-asgi-matrix-tag": tag})
        return outcome(tag, path, response.status_code)
    except Exception as err:
        return outcome(tag, path, None, f"{type(err).__name__}: {err}")


async def drive(app: Any, record: dict[str, Any]) -> None:
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            first = await get(client, "ready")
            record["ready"] = {"ok": first["status"] is not None, "status": first["status"]}
            for path in PATHS or ["/fast"]:
                record["requests"] += [await get(client, f"seq-{i}", path)
                                       for i in range(SEQUENTIAL)]
                record["requests"] += await asyncio.gather(
                    *(get(client, f"conc-{i}", path) for i in range(CONCURRENT)))


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
