"""Where a probe image's base comes from (measure/backends/docker/bases.py), in order: the image the
user names, a Debian base already made here, the official python:X.Y-slim (present or
pulled), a Debian base made now (root only), else "not run" saying why.

The engine is a fake here (a dict of images, a registry that answers or not): what is
under test is the choice, not Docker. tests/measure/backends/docker/test_github_runner.py does it
for real as a non-root user.
"""

from __future__ import annotations

from typing import Any

import docker.errors
import pytest
from asgi_matrix.exceptions import BaseUnavailable
from asgi_matrix.measure.backends.docker import bases as _bases


class FakeImages:
    def __init__(self, present: set[str], registry: set[str] | None) -> None:
        self.present = set(present)
        self.registry = registry  #: None: the registry cannot be reached
        self.pulls: list[str] = []

    def get(self, ref: str) -> Any:
        if ref not in self.present:
            raise docker.errors.ImageNotFound(ref)
        return object()

    def pull(self, repository: str, tag: str) -> None:
        ref = f"{repository}:{tag}"
        self.pulls.append(ref)
        if self.registry is None:
            raise docker.errors.APIError("Get \"https://registry-1.docker.io/v2/\": dial tcp: "
                                         "lookup registry-1.docker.io: no such host")
        if ref not in self.registry:
            raise docker.errors.NotFound(f"manifest for {ref} not found")
        self.present.add(ref)


class FakeClient:
    def __init__(self, present: set[str] = frozenset(), registry: set[str] | None = None
                 ) -> None:
        self.images = FakeImages(set(present), registry)


@pytest.fixture(autouse=True)
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Debian bases "made" (debootstrap itself is not under test here)."""
    monkeypatch.setattr(_bases, "_NO_REGISTRY", [])
    monkeypatch.delenv(_bases.BASE_IMAGE_VARIABLE, raising=False)
    monkeypatch.delenv(_bases.PULL_VARIABLE, raising=False)
    made: list[str] = []
    monkeypatch.setattr(_bases, "_build_base",
                        lambda python, suite, tag, client: made.append(tag) or tag)
    return made


DEBIAN = _bases.BASES["3.11"][1]


def choose(client: FakeClient, python: str = "3.11", *, root: bool,
           monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(_bases.os, "geteuid", lambda: 0 if root else 1001)
    return _bases.ensure_base(python, client=client)


def test_a_registry_gives_the_official_image_to_a_non_root_user(monkeypatch):
    client = FakeClient(registry={"python:3.11-slim"})
    assert choose(client, root=False, monkeypatch=monkeypatch) == "python:3.11-slim"
    assert client.images.pulls == ["python:3.11-slim"]


def test_the_official_image_already_here_is_used_without_a_pull(monkeypatch):
    client = FakeClient(present={"python:3.11-slim"})
    assert choose(client, root=False, monkeypatch=monkeypatch) == "python:3.11-slim"
    assert client.images.pulls == []


def test_a_debian_base_made_here_is_kept_before_any_pull(monkeypatch):
    client = FakeClient(present={DEBIAN, "python:3.11-slim"}, registry={"python:3.11-slim"})
    assert choose(client, root=False, monkeypatch=monkeypatch) == DEBIAN
    assert client.images.pulls == []


def test_offline_root_makes_a_debian_base(monkeypatch, built):
    client = FakeClient(registry=None)
    assert choose(client, root=True, monkeypatch=monkeypatch) == DEBIAN
    assert built == [DEBIAN]


def test_offline_without_root_is_not_run_in_one_reason_for_every_python(monkeypatch, built):
    client = FakeClient(registry=None)
    reasons = []
    for python in ("3.11", "3.13", "3.14"):
        with pytest.raises(BaseUnavailable) as caught:
            choose(client, python, root=False, monkeypatch=monkeypatch)
        reasons.append(str(caught.value))
    assert built == []
    assert client.images.pulls == ["python:3.11-slim"]  # the registry is asked once
    assert len(set(reasons)) == 1, reasons
    assert reasons[0] == (
        "no base image for the probe images: the official python:X.Y-slim could not be "
        "pulled (Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup "
        "registry-1.docker.io: no such host) and a Debian base (debootstrap) can be made "
        "only as root; name an image that is here with --base-image or ASGI_MATRIX_BASE_IMAGE")
    assert caught.value.prefix == "ASGI_MATRIX_BASE_IMAGE=IMAGE "


def test_an_image_the_registry_lacks_does_not_stop_other_pulls(monkeypatch):
    client = FakeClient(registry={"python:3.13-slim"})
    with pytest.raises(BaseUnavailable, match="no such image"):
        choose(client, "3.15", root=False, monkeypatch=monkeypatch)
    assert choose(client, "3.13", root=False, monkeypatch=monkeypatch) == "python:3.13-slim"


def test_the_image_the_user_names_wins_and_must_exist(monkeypatch):
    monkeypatch.setenv(_bases.BASE_IMAGE_VARIABLE, "mirror.example/python:{python}-slim")
    client = FakeClient(present={DEBIAN}, registry={"mirror.example/python:3.11-slim"})
    assert (choose(client, root=True, monkeypatch=monkeypatch)
            == "mirror.example/python:3.11-slim")
    with pytest.raises(BaseUnavailable, match=r"mirror.example/python:3.13-slim "
                                              r"\(ASGI_MATRIX_BASE_IMAGE or --base-image\) "
                                              r".*: no such image"):
        choose(client, "3.13", root=True, monkeypatch=monkeypatch)


def test_with_pulls_off_nothing_is_pulled_and_root_makes_a_debian_base(monkeypatch, built):
    monkeypatch.setenv(_bases.PULL_VARIABLE, "never")
    client = FakeClient(registry={"python:3.11-slim"})
    assert choose(client, root=True, monkeypatch=monkeypatch) == DEBIAN
    assert client.images.pulls == []
    assert built == [DEBIAN]
    with pytest.raises(BaseUnavailable, match=r"\(pulls are off \(ASGI_MATRIX_PULL=never\)\)"):
        choose(client, "3.13", root=False, monkeypatch=monkeypatch)
