"""global-resource: a loop-bound pool made at import time, at module level (PR #277, "Bad").

The pool binds itself to the first event loop that waits on it; requests served on
any other loop of the same process fail.
"""

from __future__ import annotations

from typing import Any

from patterns import _kit

PATTERN = "global-resource"

pool = _kit.Pool(PATTERN)  # module level: made before any event loop runs


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _kit.serve_lifespan(PATTERN, receive, send, _kit.nothing, scope)
    elif scope["type"] == "http":
        await _kit.http(PATTERN, scope, receive, send, request)


async def request(scope: dict[str, Any], tag: str) -> dict[str, Any]:
    return await pool.fetch()
