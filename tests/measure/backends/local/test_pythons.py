"""The interpreters a developer has (measure/backends/local/pythons.py): found where pyenv, asdf,
mise and uv install them and on PATH, each called by its real path.

Fake trees of folders stand in for each tool's layout; their "interpreters" are small
shell scripts that answer the question discovery asks, so discovery really runs each
candidate (a broken one is passed over). The last tests use this machine's own
interpreters: Python 3.12 and 3.13 where they exist (pyenv's here), required where
ASGI_MATRIX_REQUIRE names "pythons".
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from asgi_matrix.exceptions import NotRunnable
from asgi_matrix.measure.backends.local import envs as _envs
from asgi_matrix.measure.backends.local import pythons as _pythons
from asgi_matrix.results import document as _results
from helpers import cli
from helpers.prerequisites import missing


def fake_python(path: Path, version: str, *, implementation: str = "CPython",
                free_threaded: bool = False, works: bool = True) -> Path:
    """An executable at ``path`` answering discovery's question like that interpreter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if works:
        body = (f'printf "%s" "{implementation} {version} {int(free_threaded)} '
                f'$(realpath "$0")"\n')
    else:  # a pyenv shim for a version not selected
        body = 'echo "pyenv: $(basename "$0"): command not found" >&2\nexit 127\n'
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def found(home: Path, env: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    _pythons._ask.cache_clear()
    searched = _pythons.places({"PATH": "", **(env or {})}, home)
    return [(i.tool, i.version, i.path) for i in _pythons.discover(searched)]


def test_pyenv_versions_are_found_under_pyenv_root_and_by_default_under_home(tmp_path):
    home = tmp_path / "home"
    default = fake_python(home / ".pyenv/versions/3.12.4/bin/python3.12", "3.12.4")
    (default.parent / "python3").symlink_to("python3.12")  # one interpreter, two names
    assert found(home) == [("pyenv", "3.12.4", str(default))]
    root = tmp_path / "elsewhere"
    moved = fake_python(root / "versions/3.13.1/bin/python3.13", "3.13.1")
    assert found(home, {"PYENV_ROOT": str(root)}) == [("pyenv", "3.13.1", str(moved))]


def test_asdf_installs_are_found_under_its_data_dir(tmp_path):
    home = tmp_path / "home"
    default = fake_python(home / ".asdf/installs/python/3.13.1/bin/python3.13", "3.13.1")
    assert found(home) == [("asdf", "3.13.1", str(default))]
    data = tmp_path / "asdf-data"
    moved = fake_python(data / "installs/python/3.12.8/bin/python3.12", "3.12.8")
    assert found(home, {"ASDF_DATA_DIR": str(data)}) == [("asdf", "3.12.8", str(moved))]


def test_mise_installs_are_found_under_its_data_dir_and_xdg_data_home(tmp_path):
    home = tmp_path / "home"
    default = fake_python(home / ".local/share/mise/installs/python/3.12.7/bin/python3.12",
                          "3.12.7")
    assert found(home) == [("mise", "3.12.7", str(default))]
    xdg = tmp_path / "xdg"
    in_xdg = fake_python(xdg / "mise/installs/python/3.13.2/bin/python3.13", "3.13.2")
    assert found(home, {"XDG_DATA_HOME": str(xdg)}) == [("mise", "3.13.2", str(in_xdg))]
    data = tmp_path / "mise-data"
    moved = fake_python(data / "installs/python/3.14.0/bin/python3.14", "3.14.0")
    assert found(home, {"MISE_DATA_DIR": str(data)}) == [("mise", "3.14.0", str(moved))]


def test_uv_managed_pythons_are_found_with_their_free_threaded_builds(tmp_path):
    home = tmp_path / "home"
    uv = home / ".local/share/uv/python"
    gil = fake_python(uv / "cpython-3.13.2-linux-x86_64-gnu/bin/python3.13", "3.13.2")
    free = fake_python(uv / "cpython-3.14.0+freethreaded-linux-x86_64-gnu/bin/python3.14t",
                       "3.14.0", free_threaded=True)
    assert found(home) == [("uv", "3.13.2", str(gil)), ("uv", "3.14.0", str(free))]
    moved = fake_python(tmp_path / "uvpy/cpython-3.12.9-linux-x86_64-gnu/bin/python3.12",
                        "3.12.9")
    assert found(home, {"UV_PYTHON_INSTALL_DIR": str(tmp_path / "uvpy")}) == [
        ("uv", "3.12.9", str(moved))]
    interpreters = _pythons.discover(_pythons.places({"PATH": ""}, home))
    assert _pythons.choose("==3.14.*", interpreters) is None  # only a free-threaded one
    chosen = _pythons.choose("==3.14.*", interpreters, free_threaded=True)
    assert chosen is not None
    assert chosen.path == str(free)


def test_path_is_searched_but_broken_shims_and_other_pythons_are_passed_over(tmp_path):
    home, bin_dir = tmp_path / "home", tmp_path / "bin"
    good = fake_python(bin_dir / "python3.12", "3.12.3")
    fake_python(bin_dir / "python3.13", "3.13.0", works=False)
    fake_python(bin_dir / "python3", "3.10.14", implementation="PyPy")
    fake_python(bin_dir / "python3-config", "3.12.3")  # not an interpreter's name
    assert found(home, {"PATH": str(bin_dir)}) == [("PATH", "3.12.3", str(good))]


def test_a_tools_shims_folder_on_path_is_not_called(tmp_path):
    home = tmp_path / "home"
    real = fake_python(home / ".pyenv/versions/3.13.0/bin/python3.13", "3.13.0")
    shims = home / ".pyenv/shims"
    fake_python(shims / "python3.12", "3.12.0")  # would answer, but is a shim: not asked
    searched = _pythons.places({"PATH": f"{shims}{os.pathsep}{tmp_path / 'none'}"}, home)
    assert [p.folder for p in searched if p.tool == "PATH"] == [tmp_path / "none"]
    assert found(home, {"PATH": str(shims)}) == [("pyenv", "3.13.0", str(real))]


def test_nothing_is_found_in_an_empty_home():
    assert found(Path("/nonexistent-home")) == []


def test_the_oldest_matching_minor_is_chosen_at_its_newest_patch():
    def python(version: str) -> _pythons.Interpreter:
        return _pythons.Interpreter(f"/p/{version}", version, False, "pyenv")

    have = [python(v) for v in ("3.13.0", "3.12.1", "3.12.9", "3.11.7")]
    assert _pythons.choose(">=3.12", have) == python("3.12.9")
    assert _pythons.choose("==3.13.*", have) == python("3.13.0")
    assert _pythons.choose("==3.14.*", have) is None


def test_a_python_found_nowhere_is_not_run_naming_what_was_searched(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    for var in ("PYENV_ROOT", "ASDF_DATA_DIR", "MISE_DATA_DIR", "XDG_DATA_HOME",
                "UV_PYTHON_INSTALL_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(_envs, "_uv_find", lambda request: "")
    _envs._discover_once.cache_clear()
    try:
        with pytest.raises(NotRunnable) as caught:
            _envs.find_interpreter("==3.99.*")
        assert str(caught.value).endswith(
            "searched pyenv ~/.pyenv/versions, asdf ~/.asdf/installs/python, "
            "mise ~/.local/share/mise/installs/python, uv ~/.local/share/uv/python, PATH, "
            "and uv python find)")
        assert caught.value.hint == "--backend docker"
        fake = fake_python(home / ".pyenv/versions/3.99.1/bin/python3.99", "3.99.1")
        _envs._discover_once.cache_clear()
        assert _envs.find_interpreter("==3.99.*") == str(fake)
    finally:
        _envs._discover_once.cache_clear()


# This machine's own interpreters.

def this_machines(spec: str) -> _pythons.Interpreter:
    """An interpreter for ``spec`` found here, else skip (fail where required) saying where
    discovery looked."""
    chosen = _pythons.choose(spec, _pythons.discover())
    if chosen is None:
        missing("pythons", f"no Python {spec} here (searched {_pythons.searched_words()})")
    return chosen


@pytest.mark.parametrize("minor", ["3.12", "3.13"])
def test_this_machines_python_is_found_and_runs_by_its_real_path(minor):
    chosen = this_machines(f"=={minor}.*")
    assert chosen.version.startswith(f"{minor}.")
    assert os.path.realpath(chosen.path) == chosen.path
    assert _envs.find_interpreter(f"=={minor}.*") == chosen.path


@pytest.mark.servers
def test_a_py313_configuration_is_measured_on_the_python_found(tmp_path):
    chosen = this_machines("==3.13.*")
    done = cli("run", "uvicorn-py313", "--no-patterns", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    cell = _results.load(tmp_path)["configurations"]["uvicorn-py313"]
    assert cell["status"] == "measured", cell.get("reason")
    assert cell["python"] == chosen.version
    statuses = {v["status"] for v in cell["verdicts"].values()}
    assert "pass" in statuses, cell["verdicts"]
    assert "error" not in statuses, cell["verdicts"]


def test_uv_is_asked_once_per_request_and_again_only_when_fresh(monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(_envs, "_ask_uv_find", lambda request: asked.append(request) or "")
    monkeypatch.setattr(_envs, "_FOUND_BY_UV", {})
    assert [_envs._uv_find("3.98t") for _ in range(3)] == ["", "", ""]
    assert asked == ["3.98t"]  # a missing one too: every configuration asked before
    _envs._uv_find("3.97")
    _envs._uv_find("3.98t", fresh=True)  # after an install: asked again
    assert asked == ["3.98t", "3.97", "3.98t"]
