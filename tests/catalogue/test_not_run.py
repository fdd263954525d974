"""Configurations that cannot run here are "not run", with the reason and what to try.

On the local backend: a Python it needs that this machine does not have, and Debian
packages it needs that are not installed. (No wheel is a docker-backend reason:
tests/containers/test_new_servers.py.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from asgi_matrix.catalogue.load import Catalogue
from asgi_matrix.exceptions import NotRunnable
from asgi_matrix.measure.local import system as _system
from asgi_matrix.results import document as _results

ABSENT = "asgi-matrix-no-such-package"


def asgi_matrix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "asgi_matrix", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ})


def has_python(spec: str) -> bool:
    from asgi_matrix.measure.local import envs as _envs

    try:
        _envs.find_interpreter(spec)
    except NotRunnable:
        return False
    return True


def installed(package: str) -> bool:
    return shutil.which("dpkg-query") is not None and not _system.missing([package])


needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-query") is None,
                                reason="no dpkg-query: not a Debian-like machine")


def write_extra(tmp_path: Path, body: str) -> Path:
    extra = tmp_path / "extra.toml"
    extra.write_text('[[config]]\nid = "needs-sys"\nserver = "x"\nrequires = []\n' + body
                     + 'argv = ["{python}", "-m", "x", "--port", "{port}", "{app}"]\n')
    return extra


@needs_dpkg
def test_a_missing_system_package_is_not_run_naming_it_and_the_docker_backend(tmp_path):
    extra = write_extra(tmp_path, f'system = ["libc6", "{ABSENT}"]\n')
    done = asgi_matrix("run", "needs-sys", "--catalogue", str(extra), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    cell = _results.load(tmp_path)["configurations"]["needs-sys"]
    assert cell["status"] == "not-run"
    assert cell["reason"] == (f"needs system packages not installed here: {ABSENT} "
                              f"(as root: apt-get install {ABSENT})")
    assert cell["try"] == "asgi-matrix run --config needs-sys --backend docker"


@needs_dpkg
def test_installed_system_packages_let_it_run_and_nothing_is_checked_without_them():
    assert _system.missing(["libc6"]) == []
    assert _system.missing([]) == []
    assert _system.missing(["libc6", ABSENT]) == [ABSENT]


def test_without_dpkg_the_check_is_not_guessed(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(NotRunnable, match="no dpkg-query to check for them") as caught:
        _system.missing(["libuv1"])
    assert caught.value.hint == "--backend docker"


@pytest.mark.skipif(installed("libuv1"), reason="libuv1 is installed on this machine")
@needs_dpkg
def test_socketify_needs_libuv1_and_says_so(tmp_path):
    done = asgi_matrix("run", "socketify", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    cell = _results.load(tmp_path)["configurations"]["socketify"]
    assert (cell["status"], cell["reason"]) == (
        "not-run", "needs system packages not installed here: libuv1 "
                   "(as root: apt-get install libuv1)")


@pytest.mark.skipif(has_python("==3.14.*"), reason="this machine has a Python 3.14")
def test_servers_that_need_python_314_are_not_run_locally_with_the_docker_hint(tmp_path):
    ids = [c.id for c in Catalogue.load().select() if c.python in ("==3.14.*", ">=3.14")]
    assert {"pounce", "pounce-subinterpreter2", "uvicorn-py314", "granian-py314"} <= set(ids)
    done = asgi_matrix("run", "pounce", "uvicorn-py314", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    cells = _results.load(tmp_path)["configurations"]
    for config_id, spec in (("pounce", ">=3.14"), ("uvicorn-py314", "==3.14.*")):
        assert cells[config_id]["status"] == "not-run", cells[config_id].get("reason")
        assert f"no Python interpreter matching '{spec}'" in cells[config_id]["reason"]
        assert cells[config_id]["try"].endswith("--backend docker")
        assert cells[config_id]["axes"]["python"] in ("3.14", ">=3.14")


def test_a_system_base_is_tagged_by_its_python_and_package_set():
    from asgi_matrix.measure.docker import images as _images

    tag = _images.system_base_tag("3.11", ["libuv1", "libpython3.11"])
    assert tag.startswith("asgi-matrix-base:bookworm-sys-")
    assert tag == _images.system_base_tag("3.11.2", ["libpython3.11", "libuv1", "libuv1"])
    assert tag != _images.system_base_tag("3.11", ["libuv1"])
    assert _images.system_base_tag("3.14", ["libuv1"]).startswith("asgi-matrix-base:sid-sys-")
