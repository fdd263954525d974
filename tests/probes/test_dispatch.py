"""patterns.dispatch, driven in-process as a server would drive it: one lifespan, then
requests given the state dict each kind of server gives them.

Each mounted app must see what it would see alone: its own lifespan messages and state
dict (two apps writing the same key do not collide), a copy of its lifespan state where
the server copies per request, the same dict again where the server shares one, no app
run on a loop library it is not built for, and its startup failure recorded as its own.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest
from asgi_matrix.resources import PROBES_DIR

APPS = '''
import json

def make(name, fail=False):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            if fail:
                await send({"type": "lifespan.startup.failed", "message": "no " + name})
                return
            scope["state"]["pool"] = name  # the same key in every app: kept apart
            scope["state"]["seen"] = []
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        state = scope.get("state")
        if state is not None:
            state["seen"] = [*state.get("seen", []), scope["query_string"].decode()]
        body = json.dumps({"state": state}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
    return app

one, two, bad, on_trio = make("one"), make("two"), make("bad", fail=True), make("trio")
'''


#: imported afresh by each test: the dispatcher reads its apps, the probe its file, once
FRESH = ("patterns", "patterns.dispatch", "patterns._kit", "asgi_probe", "mounted_apps")


@pytest.fixture
def dispatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    (tmp_path / "mounted_apps.py").write_text(textwrap.dedent(APPS))
    obs = tmp_path / "obs.jsonl"
    monkeypatch.setenv("ASGI_MATRIX_OBS", str(obs))
    monkeypatch.setenv("ASGI_MATRIX_PATTERNS", "a=mounted_apps:one@asyncio,"
                       "a2=mounted_apps:one@asyncio,b=mounted_apps:two,"
                       "c=mounted_apps:bad,t=mounted_apps:on_trio@trio")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(PROBES_DIR))
    for name in FRESH:
        sys.modules.pop(name, None)
    module = importlib.import_module("patterns.dispatch")
    module.obs = obs  # type: ignore[attr-defined]
    yield module
    for name in FRESH:
        sys.modules.pop(name, None)


def serve(dispatch: ModuleType, requests: list[tuple[str, str, str]]
          ) -> tuple[dict[str, Any], list[tuple[int, Any]]]:
    """Run the lifespan with a state dict, then each (pattern, tag, how) request, its state
    given as servers do: "copy" (a shallow copy per request), "connection" (one copy shared
    by every such request, as one kept-alive connection), "lifespan" (the lifespan's own
    dict) or "none"; the lifespan state and each answer (status, what the app saw)."""
    state: dict[str, Any] = {}
    answers: list[tuple[int, Any]] = []
    connection: dict[str, Any] = {}

    def given(how: str) -> dict[str, Any]:
        if how == "copy":
            return {"state": dict(state)}
        if how == "connection":
            if not connection:
                connection.update(state)
            return {"state": connection}
        return {"state": state} if how == "lifespan" else {}

    async def main() -> None:
        to_app, app_receive = anyio.create_memory_object_stream[dict[str, Any]](4)
        app_send, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)
        async with to_app, app_receive, app_send, from_app, anyio.create_task_group() as tg:
            tg.start_soon(dispatch.app, {"type": "lifespan", "state": state},
                          app_receive.receive, app_send.send)
            await to_app.send({"type": "lifespan.startup"})
            assert (await from_app.receive())["type"] == "lifespan.startup.complete"
            for pattern, tag, how in requests:
                sent: list[dict[str, Any]] = []

                async def receive() -> dict[str, Any]:
                    return {"type": "http.request", "body": b"", "more_body": False}

                async def send(message: dict[str, Any], sent: Any = sent) -> None:
                    sent.append(message)

                scope = {"type": "http", "path": f"/p/{pattern}/work",
                         "query_string": tag.encode(), **given(how)}
                await dispatch.app(scope, receive, send)
                answers.append((sent[0]["status"], json.loads(sent[1]["body"])))
            await to_app.send({"type": "lifespan.shutdown"})
            assert (await from_app.receive())["type"] == "lifespan.shutdown.complete"

    anyio.run(main)
    return state, answers


def records(dispatch: ModuleType) -> list[dict[str, Any]]:
    return [json.loads(line) for line in dispatch.obs.read_text().splitlines()]


def seen(answers: list[tuple[int, Any]]) -> list[Any]:
    return [body["state"] and body["state"]["seen"] for _, body in answers]


def test_each_app_keeps_its_own_lifespan_state(dispatch):
    state, _ = serve(dispatch, [])
    own = {k: v["pool"] for k, v in state.items() if isinstance(v, dict) and v}
    assert own == {"asgi_matrix.dispatch:mounted_apps:one": "one",
                   "asgi_matrix.dispatch:mounted_apps:two": "two"}  # one app, one lifespan
    assert "pool" not in state  # nothing of an app among the server's own keys


def test_a_copy_per_request_gives_each_app_a_copy_of_its_own_state(dispatch):
    _, answers = serve(dispatch, [("a", "r1", "copy"), ("a2", "r2", "copy"),
                                  ("b", "r3", "copy")])
    assert seen(answers) == [["r1"], ["r2"], ["r3"]]  # no request sees another's key
    assert [body["state"]["pool"] for _, body in answers] == ["one", "one", "two"]


def test_a_dict_shared_by_a_connection_is_shared_by_each_apps_requests(dispatch):
    _, answers = serve(dispatch, [("a", "r1", "connection"), ("b", "r2", "connection"),
                                  ("a", "r3", "connection")])
    assert seen(answers) == [["r1"], ["r2"], ["r1", "r3"]]  # as app "a" alone would see


def test_the_lifespans_own_dict_is_the_apps_own_lifespan_state(dispatch):
    state, answers = serve(dispatch, [("a", "r1", "lifespan"), ("a", "r2", "lifespan")])
    assert seen(answers) == [["r1"], ["r1", "r2"]]
    assert state["asgi_matrix.dispatch:mounted_apps:one"]["seen"] == ["r1", "r2"]


def test_no_state_from_the_server_is_no_state_for_the_app(dispatch):
    _, answers = serve(dispatch, [("a", "r1", "none")])
    assert answers == [(200, {"state": None})]


def test_an_app_for_another_loop_library_is_not_run_and_says_where(dispatch):
    _, answers = serve(dispatch, [("t", "r1", "copy")])
    assert answers[0][0] == 501
    got = [r for r in records(dispatch) if r["pattern"] == "t"]
    assert [(r["event"], r["async_library"]) for r in got] == [("pattern.request", "asyncio")]
    assert "built on trio" in got[0]["error"]


def test_a_failed_startup_is_recorded_for_its_app_and_the_others_start(dispatch):
    _, answers = serve(dispatch, [("b", "r1", "copy")])
    assert answers[0][1]["state"]["pool"] == "two"
    failed = [r for r in records(dispatch) if r["event"] == "pattern.startup"]
    assert [(r["pattern"], r["ok"], r["error"]) for r in failed] == [
        ("c", False, "lifespan.startup.failed: no bad")]


def test_the_apps_lifespans_add_no_task_beside_the_servers(dispatch):
    """Some servers send lifespan.shutdown only once every other task on the loop ended:
    the apps' lifespans run inside the server's lifespan task, none beside it."""
    import asyncio

    async def main() -> tuple[int, str]:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        lifespan = asyncio.ensure_future(dispatch.app({"type": "lifespan", "state": {}},
                                                      inbox.get, outbox.put))
        await inbox.put({"type": "lifespan.startup"})
        assert (await outbox.get())["type"] == "lifespan.startup.complete"
        others = asyncio.all_tasks() - {asyncio.current_task(), lifespan}
        await inbox.put({"type": "lifespan.shutdown"})
        answer = await asyncio.wait_for(outbox.get(), 5)
        await lifespan
        return len(others), answer["type"]

    assert asyncio.run(main()) == (0, "lifespan.shutdown.complete")
