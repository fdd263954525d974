"""Shared by the harness drivers: load the app, write what the client saw.

A harness is an in-process test client (Starlette's TestClient, asgi-lifespan): there
is no server to send HTTP to, so the driver sends the same traffic itself and writes
the outcome to $ASGI_MATRIX_CLIENT in the runner's own format.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

SEQUENTIAL = 6
CONCURRENT = 8
#: the pattern axis: the paths to send the traffic to instead of /fast (no WebSocket then)
PATHS = [p for p in os.environ.get("ASGI_MATRIX_PATHS", "").split(",") if p]
if PATHS:  # as the runner's pattern traffic: fewer per path, so many paths stay quick
    SEQUENTIAL, CONCURRENT = 3, 6


def load_app(target: str) -> Any:
    module, _, attr = target.partition(":")
    sys.path.insert(0, os.getcwd())
    return getattr(importlib.import_module(module), attr or "app")


def outcome(tag: str, path: str, status: int | None, error: str | None = None) -> dict[str, Any]:
    return {"tag": tag, "path": path, "status": status, "error": error, "t_done": time.monotonic()}


def write(record: dict[str, Any]) -> None:
    path = os.environ.get("ASGI_MATRIX_CLIENT")
    if path:
        with open(path, "w") as handle:
            json.dump(record, handle, default=repr)


def failed(record: dict[str, Any], err: BaseException) -> int:
    record["error"] = f"{type(err).__name__}: {err}"
    record["traceback"] = traceback.format_exc(limit=4)
    print(record["traceback"], file=sys.stderr)
    write(record)
    return 1
