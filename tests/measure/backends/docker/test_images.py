"""Probe images: content-hash tags, reuse, offline builds, clear errors.

Needs a Docker engine (skipped with the reason otherwise) and PyPI for the wheelhouse.
The first run on a machine may also build the bookworm base image (~40 s, as root).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from asgi_matrix.exceptions import DockerUnavailable, ImageBuildError, NoWheelError
from asgi_matrix.measure.backends.docker.bases import ensure_base
from asgi_matrix.measure.backends.docker.engine import client_scope, docker_client
from asgi_matrix.measure.backends.docker.images import build_image, image_tag
from asgi_matrix.measure.backends.docker.wheelhouse import download_wheelhouse
from helpers.prerequisites import missing

# at least the inner timeouts: a base build (1200 s) then an image build
pytestmark = [pytest.mark.containers, pytest.mark.timeout(1500)]

try:
    docker_client().close()
except DockerUnavailable as exc:  # pragma: no cover - depends on the machine
    missing("docker", str(exc), module=True)

PYTHON = "3.11"
UVICORN = ["uvicorn==0.54.0", "anyio"]


@pytest.fixture(scope="module", autouse=True)
def _own_wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A fresh wheel cache: the wheelhouse is really downloaded once per session."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASGI_MATRIX_CACHE", str(tmp_path_factory.mktemp("asgi-matrix-cache")))
        yield


@pytest.fixture(scope="module")
def base() -> str:
    return ensure_base(PYTHON)


def test_build_twice_reuses_the_image(base: str) -> None:
    first = build_image(UVICORN, PYTHON)
    second = build_image(list(reversed(UVICORN)), PYTHON)
    assert first.tag.startswith("asgi-matrix-probe:")
    assert first.base == base
    assert second.built is False, "the second build of the same configuration is a cache hit"
    assert second.tag == first.tag
    assert second.image_id == first.image_id
    assert second.seconds < 20  # a lookup, not a build (~40 s); room for a loaded machine
    with client_scope(None) as client:
        labels = client.images.get(first.tag).labels
    assert labels["asgi-matrix"] == "1"
    assert labels["asgi-matrix.requirements"] == "anyio uvicorn==0.54.0"


def test_tag_changes_when_requirements_change(base: str) -> None:
    tag = image_tag(UVICORN, PYTHON, base)
    assert image_tag(["anyio", "uvicorn == 0.54.0"], PYTHON, base) == tag  # order, spaces
    assert image_tag(["uvicorn==0.53.0", "anyio"], PYTHON, base) != tag
    assert image_tag([*UVICORN, "h11"], PYTHON, base) != tag
    assert image_tag(UVICORN, "3.12", base) != tag


def test_requirement_without_wheel_names_the_package(tmp_path: Path) -> None:
    # docopt has only ever been published as an sdist. For a Python other than this
    # machine's, no wheel can be built here either: "not run", naming the package.
    with pytest.raises(NoWheelError, match=r"no wheel for Python 3\.13.*'docopt'") as info:
        download_wheelhouse(["docopt", "anyio"], "3.13", tmp_path, glibc="2.41")
    assert info.value.package == "docopt"
    assert info.value.python == "3.13"


def test_sdist_only_requirement_is_built_here_for_this_machines_python(tmp_path: Path) -> None:
    # Same Python, architecture and an older-or-equal glibc: the wheel is built on the host.
    house = download_wheelhouse(["docopt", "anyio"], PYTHON, tmp_path)
    assert any(p.name.startswith("docopt-") for p in house.glob("*.whl"))


def test_failed_build_carries_the_log_tail() -> None:
    # No anyio: the image's import check of the probe app fails inside the build.
    with pytest.raises(ImageBuildError) as info:
        build_image(["uvicorn==0.54.0"], PYTHON)
    assert "No module named 'anyio'" in info.value.log_tail
    # ... and leaves no untagged step images of its own (they carry its labels).
    with client_scope(None) as client:
        left = client.images.list(filters={
            "dangling": True, "label": "asgi-matrix.requirements=uvicorn==0.54.0"})
    assert left == []


def test_markers_are_judged_for_the_target_python(tmp_path: Path) -> None:
    # pip judges anyio's `exceptiongroup; python_version < "3.11"` for the host's Python;
    # the wheelhouse for 3.10 must still have it.
    dest = download_wheelhouse(["anyio==4.16.0"], "3.10", tmp_path / "wheels")
    names = sorted(p.name.split("-")[0].lower() for p in dest.glob("*.whl"))
    assert "exceptiongroup" in names
    assert "anyio" in names


def test_unreachable_engine_says_use_local_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/asgi-matrix-docker.sock")
    expected = r"cannot reach the Docker engine \(.*\): use --backend local"
    with pytest.raises(DockerUnavailable, match=expected):
        docker_client()
