"""Configurations that cannot run here are "not run", with the reason and what to try.

On the local backend: a Python it needs that this machine does not have, and Debian
packages it needs that are not installed. (No wheel is a docker-backend reason:
tests/measure/backends/docker/test_new_servers.py.)
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
from asgi_matrix.measure.backends.docker.bases import BASE_REPO
from asgi_matrix.measure.backends.local import system as _system
from asgi_matrix.results import document as _results
from helpers import cli

ABSENT = "asgi-matrix-no-such-package"


def has_python(spec: str) -> bool:
    from asgi_matrix.measure.backends.local import envs as _envs

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
    done = cli("run", "needs-sys", "--catalogue", str(extra), "--out", str(tmp_path))
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
    done = cli("run", "socketify", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    cell = _results.load(tmp_path)["configurations"]["socketify"]
    assert (cell["status"], cell["reason"]) == (
        "not-run", "needs system packages not installed here: libuv1 "
                   "(as root: apt-get install libuv1)")


@pytest.mark.skipif(has_python("==3.14.*"), reason="this machine has a Python 3.14")
def test_servers_that_need_python_314_are_not_run_locally_with_the_docker_hint(tmp_path):
    ids = [c.id for c in Catalogue.load().select() if c.python in ("==3.14.*", ">=3.14")]
    assert {"pounce", "pounce-subinterpreter2", "uvicorn-py314", "granian-py314"} <= set(ids)
    done = cli("run", "pounce", "uvicorn-py314", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    cells = _results.load(tmp_path)["configurations"]
    for config_id, spec in (("pounce", ">=3.14"), ("uvicorn-py314", "==3.14.*")):
        assert cells[config_id]["status"] == "not-run", cells[config_id].get("reason")
        assert f"no Python interpreter matching '{spec}'" in cells[config_id]["reason"]
        assert cells[config_id]["try"].endswith("--backend docker")
        assert cells[config_id]["axes"]["python"] in ("3.14", ">=3.14")


def test_a_system_base_is_tagged_by_its_python_and_package_set():
    from asgi_matrix.measure.backends.docker import bases as _bases

    tag = _bases.system_base_tag("3.11", ["libuv1", "libpython3.11"])
    assert tag.startswith(f"{BASE_REPO}:bookworm-sys-")
    assert tag == _bases.system_base_tag("3.11.2", ["libpython3.11", "libuv1", "libuv1"])
    assert tag != _bases.system_base_tag("3.11", ["libuv1"])
    assert _bases.system_base_tag("3.14", ["libuv1"]).startswith(f"{BASE_REPO}:sid-sys-")


def has_free_threaded_314() -> bool:
    from asgi_matrix.measure.backends.local import envs as _envs

    try:
        _envs.find_interpreter("==3.14.*", free_threaded=True)
    except NotRunnable:
        return False
    return True


@pytest.mark.skipif(has_free_threaded_314(), reason="uv finds a free-threaded 3.14 here")
def test_free_threaded_entries_are_not_run_locally_with_the_command_that_would_run_them(
        tmp_path):
    done = subprocess.run([sys.executable, "-m", "asgi_matrix", "run",
                           "peregrine-py314t-scope-process", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})
    assert done.returncode == 0, done.stderr
    cell = _results.load(tmp_path)["configurations"]["peregrine-py314t-scope-process"]
    assert cell["status"] == "not-run"
    assert cell["reason"].startswith("needs a free-threaded Python 3.14 (3.14t); none in pyenv ")
    assert "; uv found none" in cell["reason"]
    assert "ASGI_MATRIX_BASE_314T" in cell["reason"]
    assert cell["try"] == ("UV_PYTHON_DOWNLOADS=manual asgi-matrix run --config "
                           "peregrine-py314t-scope-process")
    assert cell["axes"]["python"] == "3.14t"


def test_docker_needs_a_free_threaded_base_named_by_the_user(monkeypatch):
    from asgi_matrix.measure.backends.docker import backend as _docker

    config = Catalogue.load().get("granian-py314t-workers2")
    monkeypatch.delenv("ASGI_MATRIX_BASE_314T", raising=False)
    with pytest.raises(NotRunnable, match="Debian packages none") as caught:
        _docker._free_threaded_base(config, "3.14")
    assert (caught.value.prefix, caught.value.hint) == ("ASGI_MATRIX_BASE_314T=IMAGE ",
                                                        "--backend docker")
    monkeypatch.setenv("ASGI_MATRIX_BASE_314T", "mine:3.14t")
    assert _docker._free_threaded_base(config, "3.14") == ("mine:3.14t", "cp314t")


def test_wheels_for_a_free_threaded_image_are_asked_for_its_abi(monkeypatch, tmp_path):
    from asgi_matrix.measure.backends.docker import wheelhouse as _wheelhouse

    seen: list[list[str]] = []
    monkeypatch.setattr(_wheelhouse.subprocess, "run",
                        lambda cmd, **kw: seen.append(cmd) or subprocess.CompletedProcess(
                            cmd, 0, "", ""))
    _wheelhouse._pip_download(["pip"], ["granian"], "3.14", ["linux_x86_64"], tmp_path, "cp314t")
    _wheelhouse._pip_download(["pip"], ["granian"], "3.14", ["linux_x86_64"], tmp_path)
    with_abi, without = seen
    assert with_abi[with_abi.index("--abi") + 1] == "cp314t"
    assert "--abi" not in without


def test_python_315_comes_from_a_sid_base_made_with_build_base_python():
    from asgi_matrix.measure.backends.docker import bases as _bases

    assert _bases.BASES["3.15"] == ("sid", f"{BASE_REPO}:sid-py3.15")
    assert _bases._python_args("3.15") == ["--python", "3.15"]
    assert _bases._python_args("3.14") == []
    bad = subprocess.run(["bash", str(_bases.BUILD_BASE), "--python", "3.x", "sid"],
                         capture_output=True, text=True, timeout=30)
    assert (bad.returncode, bad.stderr.strip()) == (
        2, "build-base: --python takes a version such as 3.15")


def test_an_sdist_is_built_here_only_when_here_is_the_image(monkeypatch, tmp_path):
    import platform

    from asgi_matrix.exceptions import NoWheelError
    from asgi_matrix.measure.backends.docker import wheelhouse as _wheelhouse

    ran: list[list[str]] = []

    def fake_run(cmd, **kw):  # pip itself is not under test: it "builds" a wheel
        ran.append(cmd)
        (tmp_path / "socketify-0.0.31-cp311-cp311-linux_x86_64.whl").write_bytes(b"")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(_wheelhouse.subprocess, "run", fake_run)
    err = NoWheelError("socketify", "3.11", "linux")
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    arch = _wheelhouse._arch(None)
    todo = ["anyio>=4", "socketify>=0.0.31"]
    glibc = platform.libc_ver()[1]
    other = "3.99" if here != "3.99" else "3.98"
    assert not _wheelhouse._build_here(["pip"], err, todo, other, arch, glibc, "", tmp_path)
    assert not _wheelhouse._build_here(["pip"], err, todo, here, arch, glibc, "cp311t", tmp_path)
    assert not _wheelhouse._build_here(["pip"], err, todo, here, arch, "2.1", "", tmp_path)
    assert ran == []
    assert _wheelhouse._build_here(["pip"], err, todo, here, arch, glibc, "", tmp_path)
    assert ran == [["pip", "wheel", "--no-deps", "--wheel-dir", str(tmp_path),
                    "socketify>=0.0.31"]]
