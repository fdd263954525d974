"""Docker names from any configuration id, and one base build at a time (no engine needed)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from asgi_matrix.measure.backends.docker import bases as _bases
from asgi_matrix.measure.backends.docker.engine import NAME_MAX, docker_name
from helpers import wait_for

ENGINE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")  # the engine's rule for names


@pytest.mark.parametrize("config_id", ["uvicorn-history@0.54.0", "granian+mt@2.8.9",
                                       "x" * 200, "a b/c:d", "uvicorn"])
def test_every_id_gives_a_name_the_engine_accepts(config_id: str) -> None:
    name = docker_name("asgi-matrix", "0123456789ab", config_id, "startup-fail")
    assert ENGINE_NAME.match(name), name
    assert len(name) <= NAME_MAX


def test_replaced_characters_do_not_make_two_ids_one_name() -> None:
    names = {docker_name("asgi-matrix", "run", i, "main")
             for i in ("s@1.0", "s+1.0", "s-1.0", "s.1.0")}
    assert len(names) == 4
    long = {docker_name("asgi-matrix", "run", "y" * 80 + end, "main") for end in "ab"}
    assert len(long) == 2


def test_a_plain_id_keeps_its_readable_name() -> None:
    assert docker_name("asgi-matrix", "run1", "uvicorn", "main") == "asgi-matrix-run1-uvicorn-main"


def test_base_builds_take_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASGI_MATRIX_CACHE", str(tmp_path))
    order: list[str] = []

    def build(who: str) -> None:
        with _bases.base_build_lock("asgi-matrix-base:bookworm"):
            order.append(f"{who} in")
            time.sleep(0.3)
            order.append(f"{who} out")

    first = threading.Thread(target=build, args=("a",))
    first.start()
    wait_for("the first build holding the lock", lambda: order, 10)
    second = threading.Thread(target=build, args=("b",))
    second.start()
    first.join(10)
    second.join(10)
    assert order == ["a in", "a out", "b in", "b out"]


def test_other_bases_do_not_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASGI_MATRIX_CACHE", str(tmp_path))
    with _bases.base_build_lock("asgi-matrix-base:bookworm"):
        done = threading.Event()

        def other() -> None:
            with _bases.base_build_lock("asgi-matrix-base:trixie"):
                done.set()

        threading.Thread(target=other).start()
        assert done.wait(10)
