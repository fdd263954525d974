"""The recording layer ``asgi-matrix check`` puts around a user's own ASGI app.

Run by the *server's* interpreter: the server loads ``asgi_matrix_check:app``, which
imports the user's app (``ASGI_MATRIX_CHECK_APP``, ``module:attr``; its folder,
``ASGI_MATRIX_CHECK_DIR``, goes first on ``sys.path`` and becomes the working folder, as
when the user starts the server there) and passes every scope, message
and answer through unchanged. It only writes down, through the probe's writer (one line
per ``write(2)`` to ``ASGI_MATRIX_OBS``) with the probe's ``_where_safe()`` (process,
thread, interpreter, event loop):

  check.import     once per process: the app imported, or the exception that stopped it
  check.lifespan   each lifespan message the server sent (``received``) and what the app
                   answered (``sent``), or that it raised (``error``, ``traceback``), or
                   returned without answering (``returned``)
  check.request    each HTTP request: method, path, the client's tag, the status the app
                   sent, the first bytes of a 5xx body, the exception it raised
  check.hold       a request the client asked to be held (``x-asgi-matrix-hold: SECONDS``)
                   is about to wait that long before the app gets it: the stop scenario's
                   request in flight (the app itself is not changed; it runs when the
                   wait ends, as a slow handler would)

An app that does not import is replaced by one that answers 503 and names the error
(the runner reads the record and says so, instead of waiting on a server that cannot
start). In a container the app's folder arrives as a base64 tar in
``ASGI_MATRIX_CHECK_SOURCE_<n>`` variables, unpacked here before the import.
``ResourceWarning`` is shown (unclosed sockets, files), so the server's log has it.
"""

from __future__ import annotations

import base64
import importlib
import io
import os
import sys
import tarfile
import tempfile
import time
import traceback
import warnings
from typing import Any

import anyio
from asgi_probe import _where_safe, _write

TAG_HEADER = b"x-asgi-matrix-check"  #: not the pattern apps' own tag header
HOLD_HEADER = b"x-asgi-matrix-hold"
BODY_SAMPLE = 300  #: bytes of a 5xx body kept as evidence
TRACEBACK_LIMIT = 8

warnings.simplefilter("default", ResourceWarning)


def _record(event: str, **fields: Any) -> None:
    _write({"event": f"check.{event}", **fields, **_where_safe()})


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _unpack_source() -> str | None:
    """The app's folder sent as environment variables (containers); where it went."""
    chunks = []
    for number in range(10_000):
        chunk = os.environ.get(f"ASGI_MATRIX_CHECK_SOURCE_{number}")
        if chunk is None:
            break
        chunks.append(chunk)
    if not chunks:
        return None
    target = tempfile.mkdtemp(prefix="asgi-matrix-app-")
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode("".join(chunks))), mode="r:gz") as tar:
        members = tar.getmembers()
        for member in members:  # Python before 3.11.4 has no extraction filter: check here
            parts = os.path.normpath(member.name).split(os.sep)
            if os.path.isabs(member.name) or ".." in parts or not (member.isfile()
                                                                   or member.isdir()):
                raise ValueError(f"refused member of the app's folder: {member.name!r}")
        try:
            tar.extractall(target, members=members, filter="data")
        except TypeError:  # no filter argument: the members were checked above
            tar.extractall(target, members=members)
    return target


async def _unavailable(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Stands in for an app that did not import: every request 503, lifespan refused."""
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": IMPORT_ERROR})
        return
    if scope["type"] == "http":
        body = f"asgi-matrix check: the app did not import: {IMPORT_ERROR}".encode()
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"content-type", b"text/plain"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    elif scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1011})


def _load() -> tuple[Any, str]:
    target = os.environ.get("ASGI_MATRIX_CHECK_APP", "")
    module_name, _, attr = target.partition(":")
    try:
        folder = _unpack_source() or os.environ.get("ASGI_MATRIX_CHECK_DIR")
        if folder:  # as when the user starts the server from the app's folder
            if folder not in sys.path:
                sys.path.insert(0, folder)
            os.chdir(folder)
        if not module_name:
            raise ImportError("ASGI_MATRIX_CHECK_APP is not set (module:attr)")
        found: Any = importlib.import_module(module_name)
        for part in (attr or "app").split("."):
            found = getattr(found, part)
        if not callable(found):
            raise TypeError(f"{target} is {type(found).__name__}, not an ASGI app")
    except BaseException as exc:  # SystemExit too: a module that exits on import
        _record("import", ok=False, app=target, error=_error(exc),
                traceback=traceback.format_exc(limit=-TRACEBACK_LIMIT))
        return _unavailable, _error(exc)
    _record("import", ok=True, app=target, cwd=os.getcwd())
    return found, ""


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return ""


async def _lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    pending: list[str] = []  # the messages received and not answered yet

    async def recording_receive() -> Any:
        message = await receive()
        kind = str(message.get("type", ""))
        _record("lifespan", received=kind)
        if kind in ("lifespan.startup", "lifespan.shutdown"):
            pending.append(kind)
        return message

    async def recording_send(message: Any) -> None:
        kind = str(message.get("type", ""))
        fields = {"message": str(message.get("message") or "")} if kind.endswith("failed") else {}
        _record("lifespan", sent=kind, **fields)
        if pending and kind.startswith(pending[-1]):
            pending.pop()
        await send(message)

    try:
        await APP(scope, recording_receive, recording_send)
    except BaseException as exc:
        _record("lifespan", error=_error(exc), during=pending[-1] if pending else "",
                traceback=traceback.format_exc(limit=-TRACEBACK_LIMIT))
        raise
    _record("lifespan", returned=True, unanswered=pending)


async def _http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    tag, hold = _header(scope, TAG_HEADER), _header(scope, HOLD_HEADER)
    start = time.monotonic()
    answer: dict[str, Any] = {"status": None, "body": b""}
    common = {"tag": tag, "method": str(scope.get("method", "")),
              "path": str(scope.get("path", ""))}
    if hold:
        _record("hold", **common, seconds=float(hold))
        await anyio.sleep(float(hold))

    async def recording_send(message: Any) -> None:
        if message.get("type") == "http.response.start":
            answer["status"] = message.get("status")
        elif message.get("type") == "http.response.body" and (answer["status"] or 0) >= 500 \
                and len(answer["body"]) < BODY_SAMPLE:
            answer["body"] += bytes(message.get("body") or b"")[:BODY_SAMPLE]
        await send(message)

    try:
        await APP(scope, receive, recording_send)
    except BaseException as exc:
        _record("request", **common, status=answer["status"], error=_error(exc),
                traceback=traceback.format_exc(limit=-TRACEBACK_LIMIT), held=bool(hold),
                t_start=start, seconds=round(time.monotonic() - start, 4))
        raise
    body = bytes(answer["body"]).decode("utf-8", "replace")
    _record("request", **common, status=answer["status"], held=bool(hold), t_start=start,
            seconds=round(time.monotonic() - start, 4), **({"body": body} if body else {}))


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The user's app, recorded; everything passes through unchanged."""
    kind = scope.get("type")
    if kind == "lifespan":
        await _lifespan(scope, receive, send)
    elif kind == "http":
        await _http(scope, receive, send)
    else:
        try:
            await APP(scope, receive, send)
        except BaseException as exc:
            _record("request", scope_type=str(kind), path=str(scope.get("path", "")),
                    error=_error(exc), traceback=traceback.format_exc(limit=-TRACEBACK_LIMIT))
            raise


APP, IMPORT_ERROR = _load()
