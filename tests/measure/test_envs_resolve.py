"""Newest release always: unpinned requirements are resolved again after a day, the
environment is keyed by what they resolved to, and offline the last resolution stands.
The installer is replaced by a fake that answers as uv pip compile does (the runner's own
logic under test, not a server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asgi_matrix.exceptions import EnvironmentFailed
from asgi_matrix.measure.backends.local import envs as _envs

DAY = _envs.RESOLVE_EVERY_S


class FakeIndex:
    """uv pip compile: pins ``pkg`` to the index's newest version, or fails offline."""

    def __init__(self) -> None:
        self.newest, self.offline, self.calls = "1.0.0", False, 0

    def __call__(self, argv: list[str], what: str) -> str:
        assert argv[1:3] == ["pip", "compile"]
        self.calls += 1
        if self.offline:
            raise EnvironmentFailed(f"{what}: error sending request", log_tail="dns error")
        return f"# via compile\npkg=={self.newest}\nanyio==4.0.0\n"


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> FakeIndex:
    fake = FakeIndex()
    monkeypatch.setattr(_envs, "_run", fake)
    monkeypatch.setattr(_envs, "uv_binary", lambda: "uv")
    return fake


def test_pinned_requirements_are_not_resolved(index: FakeIndex, tmp_path: Path) -> None:
    assert _envs.resolve(("pkg==0.9.0", "anyio==4.0.0"), "py", tmp_path) == (
        "pkg==0.9.0", "anyio==4.0.0")
    assert index.calls == 0


def test_unpinned_requirements_resolve_to_the_newest_and_again_after_a_day(
        index: FakeIndex, tmp_path: Path) -> None:
    assert _envs.resolve(("pkg",), "py", tmp_path, now=0.0) == ("anyio==4.0.0", "pkg==1.0.0")
    index.newest = "1.1.0"  # a release the next hour: the day's resolution stands
    assert _envs.resolve(("pkg",), "py", tmp_path, now=3600.0) == ("anyio==4.0.0", "pkg==1.0.0")
    assert index.calls == 1
    assert _envs.resolve(("pkg",), "py", tmp_path, now=DAY + 1) == ("anyio==4.0.0", "pkg==1.1.0")
    kept = json.loads(next((tmp_path / "resolved").glob("*.json")).read_text())
    assert (kept["pins"], kept["resolved_at"]) == (["anyio==4.0.0", "pkg==1.1.0"], DAY + 1)


def test_offline_the_last_resolution_stands_and_without_one_it_fails(
        index: FakeIndex, tmp_path: Path) -> None:
    _envs.resolve(("pkg",), "py", tmp_path, now=0.0)
    index.offline = True
    assert _envs.resolve(("pkg",), "py", tmp_path, now=2 * DAY) == ("anyio==4.0.0", "pkg==1.0.0")
    with pytest.raises(EnvironmentFailed, match="error sending request"):
        _envs.resolve(("other",), "py", tmp_path, now=2 * DAY)
