"""Drive the probe through Starlette's TestClient, with or without ``with``."""

from __future__ import annotations

import argparse
import contextlib
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import CONCURRENT, PATHS, SEQUENTIAL, failed, load_app, outcome, write
from starlette.testclient import TestClient


def get(client: TestClient, tag: str, path: str = "/fast") -> dict[str, Any]:
    try:
        return outcome(tag, path, client.get(path, params={"tag": tag},
                                              headers={"x-asgi-matrix-tag": tag}).status_code)
    except Exception as err:
        return outcome(tag, path, None, f"{type(err).__name__}: {err}")


def websocket(client: TestClient) -> dict[str, Any]:
    try:
        with client.websocket_connect("/ws?tag=ws") as ws:
            ws.send_text("hello")
            return {"attempted": True, "ok": True, "reply": ws.receive_text()[:200]}
    except Exception as err:
        return {"attempted": True, "ok": False, "error": f"{type(err).__name__}: {err}"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--context-manager", action="store_true")
    args = parser.parse_args()
    client = TestClient(load_app(args.app))
    record: dict[str, Any] = {"ready": {"ok": False}, "requests": []}
    try:
        with client if args.context_manager else contextlib.nullcontext(client):
            first = get(client, "ready")
            record["ready"] = {"ok": first["status"] is not None, "status": first["status"]}
            write(record)  # what was seen so far survives a hang further on
            for path in PATHS or ["/fast"]:
                record["requests"] += [get(client, f"seq-{i}", path) for i in range(SEQUENTIAL)]
                with ThreadPoolExecutor(CONCURRENT) as pool:
                    record["requests"] += list(pool.map(
                        lambda i, path=path: get(client, f"conc-{i}", path), range(CONCURRENT)))
                write(record)
            if not PATHS:  # the pattern axis sends HTTP only
                record["websocket"] = websocket(client)
            write(record)
    except Exception as err:
        return failed(record, err)
    write(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
