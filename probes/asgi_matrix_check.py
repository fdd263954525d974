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
  check.task       a task a request started (its coroutine's code in the app's folder)
                   that was still running when the request ended (background work): how
                   it ended (finished, failed with its exception, cancelled), whether its
                   own loop's lifespan had been told to shut down by then; asyncio loops
                   only (a task factory that notes the request, wrapping the loop's own)
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

import asyncio
import base64
import contextvars
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

#: the request whose handling is running in this context: the tasks it starts
_REQUEST: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "asgi_matrix_check_request", default=None)
#: event loops (by id) with our task factory, and those whose lifespan got shutdown
_FACTORIES: set[int] = set()
_SHUTTING_DOWN: set[int] = set()
#: the app's folder: tasks whose coroutine's code lives under it are the app's
APP_FOLDER = ""


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
            global APP_FOLDER
            APP_FOLDER = os.path.abspath(folder)
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


def _loop() -> Any:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # trio: no task factory to note tasks with
        return None


def _in_app(coro: Any) -> bool:
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    filename = os.path.abspath(getattr(code, "co_filename", "") or "")
    return bool(APP_FOLDER) and filename.startswith(APP_FOLDER + os.sep)


def _apps_own(task: Any) -> bool:
    """A task running the app's code (its coroutine, or one it awaits or wraps, lives in
    the app's folder), not the server's: servers start tasks of their own from inside
    the app's call (hypercorn does). Libraries wrap the app's coroutine in their own
    (anyio's task handle): the wrapper's frame and the objects in it are looked into."""
    seen: set[int] = set()
    todo = [task.get_coro()]
    while todo and len(seen) < 50:
        coro = todo.pop()
        if coro is None or id(coro) in seen:
            continue
        seen.add(id(coro))
        if _in_app(coro):
            return True
        todo.append(getattr(coro, "cr_await", None))
        frame = getattr(coro, "cr_frame", None)
        for value in (frame.f_locals.values() if frame is not None else ()):
            if asyncio.iscoroutine(value):
                todo.append(value)
            else:  # an object holding the app's coroutine (attributes or slots)
                held = list(getattr(value, "__dict__", {}).values())
                held += [getattr(value, slot, None) for klass in type(value).__mro__
                         for slot in getattr(klass, "__slots__", ())
                         if isinstance(slot, str)]
                todo += [v for v in held if asyncio.iscoroutine(v)]
    return False


def _note_tasks() -> None:
    """Note the tasks each request starts, through the running loop's task factory."""
    loop = _loop()
    if loop is None or id(loop) in _FACTORIES:
        return
    previous = loop.get_task_factory()

    def factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
        task = (previous(loop, coro, **kwargs) if previous is not None
                else asyncio.Task(coro, loop=loop, **kwargs))
        request = _REQUEST.get()
        if request is not None:
            request["tasks"].append(task)
        return task

    try:
        loop.set_task_factory(factory)
        _FACTORIES.add(id(loop))
    except Exception:  # a loop without task factories: its tasks are not noted
        _FACTORIES.add(id(loop))


def _watch(task: Any, common: dict[str, Any], ended: float) -> None:
    """A task still running when its request ended: record it, and how it ends."""
    key = f"{os.getpid()}-{id(task):x}"
    _record("task", outcome="running", task_key=key, **common, name=task.get_name())

    def done(task: Any) -> None:
        loop = task.get_loop()
        fields = {**common, "after_request_s": round(time.monotonic() - ended, 3),
                  "own_loop_shutting_down": id(loop) in _SHUTTING_DOWN,
                  "name": task.get_name(), "task_key": key}
        if task.cancelled():
            _record("task", outcome="cancelled", **fields)
        elif (exc := task.exception()) is not None:
            _record("task", outcome="failed", error=_error(exc), **fields)
        else:
            _record("task", outcome="finished", **fields)

    task.add_done_callback(done)


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
        if kind == "lifespan.shutdown" and (loop := _loop()) is not None:
            _SHUTTING_DOWN.add(id(loop))
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

    _note_tasks()
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

    _note_tasks()
    request: dict[str, Any] = {"tasks": []}
    token = _REQUEST.set(request)
    try:
        await APP(scope, receive, recording_send)
    except BaseException as exc:
        _record("request", **common, status=answer["status"], error=_error(exc),
                traceback=traceback.format_exc(limit=-TRACEBACK_LIMIT), held=bool(hold),
                t_start=start, seconds=round(time.monotonic() - start, 4))
        raise
    finally:
        _REQUEST.reset(token)
        ended = time.monotonic()
        for task in request["tasks"]:
            if not task.done() and _apps_own(task):
                _watch(task, common, ended)
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
