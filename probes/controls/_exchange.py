"""What an HTTP exchange of the reference server keeps, over HTTP/1.1 (_http1.py) and
HTTP/2 (_h2.py) alike: the ASGI types, the response state (``started``, ``complete``,
``gone``) and the order an app's messages must come in. Standard library only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Message = dict[str, Any]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


async def first_of(*coros: Coroutine[Any, Any, Any]) -> None:
    """Wait until any of the coroutines finishes; cancel the rest."""
    tasks = [asyncio.ensure_future(coro) for coro in coros]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


class ResponseState:
    """One request's response as the app sends it: the request message once, then
    ``http.disconnect`` once the response completed or the server let go (``gone``)."""

    #: what the server lets go of at a stop, as messages name it
    carrier = "connection"
    #: where an unexpected message came, as messages name it
    where = "an http connection"

    def __init__(self, app: App, scope: Scope, method: str) -> None:
        self.app = app
        self.scope = {**scope, "type": "http", "method": method, "scheme": "http"}
        self.head_only = method == "HEAD"
        self.started = False
        self.complete = asyncio.Event()
        self.gone = asyncio.Event()  # the server let go of this exchange (a stop)
        self._request_sent = False

    def request(self, body: bytes) -> Message | None:
        """The request message the first time the app receives; None after."""
        if self._request_sent:
            return None
        self._request_sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    def accept(self, message: Message) -> str:
        """The message's type once it may be sent (a start marks the response started);
        raises as a server does on a message out of order."""
        kind = str(message["type"])
        if self.complete.is_set():
            raise RuntimeError(f"{kind} after the response completed")
        if self.gone.is_set():
            raise ConnectionResetError(f"{kind} after the server let go of the {self.carrier}")
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.started = True
        elif kind == "http.response.body":
            if not self.started:
                raise RuntimeError("http.response.body before http.response.start")
        else:
            raise RuntimeError(f"unexpected message {kind!r} on {self.where}")
        return kind
