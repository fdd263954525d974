"""Probe images: one image per (requirements, Python, system packages), built offline.

``build_image`` makes a temporary build context (``probes/Dockerfile``, the probe app,
the controls, the harness drivers and a wheelhouse, see ``wheelhouse``) and builds it
with the classic builder and ``network_mode="none"``, on a base from ``bases``: the
image provably needs no network. Its tag is a content hash (``image_tag``), so an
unchanged configuration is reused. Also what a container of such an image looks like
from outside (port, interpreter, folders) and the server command run in it, shared by
the docker backend and the compose file.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors
from packaging.specifiers import SpecifierSet

from asgi_matrix.catalogue.load import fill
from asgi_matrix.exceptions import BaseImageError, ImageBuildError, NotRunnable
from asgi_matrix.measure.backends.docker.bases import (
    BASES,
    ensure_base,
    ensure_system_base,
    glibc_for,
    python_minor,
)
from asgi_matrix.measure.backends.docker.engine import LABEL, client_scope, find_image, tail
from asgi_matrix.measure.backends.docker.wheelhouse import (
    download_wheelhouse,
    normalize_requirements,
)
from asgi_matrix.resources import (
    CONTROLS_DIR,
    DOCKERFILE,
    HARNESSES_DIR,
    PROBE_APP,
    PROBE_FILE,
)

#: What goes into an image besides wheels, as (repo path, path in the build context):
#: the context mirrors the checkout, so compose can build from the repository root too.
IMAGE_FILES = [(PROBE_FILE, "probes/asgi_probe.py"),
               *[(p, f"probes/controls/{p.name}") for p in sorted(CONTROLS_DIR.glob("*.py"))],
               *[(p, f"probes/harnesses/{p.name}") for p in sorted(HARNESSES_DIR.glob("*.py"))],
               # the app patterns and framework apps, importable beside the probe
               *[(p, f"probes/{p.parent.name}/{p.name}") for folder in ("patterns", "frameworks")
                 for p in sorted((PROBE_FILE.parent / folder).glob("*.py"))]]
IMAGE_REPO = "asgi-matrix-probe"

# Inside a probe image (probes/Dockerfile).
CONTAINER_PORT = 8000
IMAGE_PYTHON = "/opt/venv/bin/python"
IMAGE_CONTROLS = "/opt/asgi-matrix/controls"
IMAGE_HARNESSES = "/opt/asgi-matrix/harnesses"
DEFAULT_PYTHON = "3.11"  #: the same Python as the local backend's, so verdicts can agree


def python_for(spec: str) -> str:
    """The first Python an image can have that the PEP 440 ``spec`` accepts."""
    accepts = SpecifierSet(spec)
    for python in [DEFAULT_PYTHON, *sorted(BASES)]:
        if accepts.contains(f"{python}.0"):
            return python
    raise NotRunnable(f"no image Python matches {spec!r} (images have: "
                      f"{', '.join(sorted(BASES))})")


def free_threaded_base_variable(python: str) -> str:
    """The environment variable that names a free-threaded base: ASGI_MATRIX_BASE_314T."""
    return f"ASGI_MATRIX_BASE_{python.replace('.', '')}T"


def container_command(argv: Sequence[str]) -> list[str]:
    """A catalogue entry's argv filled in for a probe image's container."""
    return fill(argv, python=IMAGE_PYTHON, host="0.0.0.0", port=str(CONTAINER_PORT),
                app=PROBE_APP, controls=IMAGE_CONTROLS, harnesses=IMAGE_HARNESSES)


@dataclass(frozen=True)
class BuiltImage:
    """A probe image ready to run, and whether it was built just now."""

    tag: str
    image_id: str
    base: str
    python: str
    built: bool  # False when an existing image with this tag was reused
    seconds: float
    log_tail: str


_STEP_IMAGE = re.compile(r"^ ---> ([0-9a-f]{12})$")


def remove_leftovers(client: Any, build_log: Sequence[str]) -> int:
    """Remove the untagged images a failed build of ours left (its steps' images, named in
    its own log; never an image of another build); returns how many went."""
    removed = 0
    for line in reversed(build_log):  # the last step first: a parent goes after its child
        if match := _STEP_IMAGE.match(line):
            image = find_image(client, match.group(1))
            if image is None or image.tags:
                continue
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(image.id, noprune=False)
                removed += 1
    return removed


def _base_id(client: Any, base: str) -> str:
    img = find_image(client, base)
    if img is None:
        raise BaseImageError(f"base image {base} is not present locally")
    return str(img.id)


def image_tag(requirements: list[str], python: str, base: str, *, client: Any | None = None,
              system: Sequence[str] = ()) -> str:
    """``asgi-matrix-probe:<hash>``: Dockerfile, probe app, requirements, base image id, Python
    (and the system packages, when there are any)."""
    with client_scope(client) as docker_api:
        base_id = _base_id(docker_api, base)
    h = hashlib.sha256()
    for part in (
        DOCKERFILE.read_bytes(),
        *[src.read_bytes() for src, _ in IMAGE_FILES],
        "\n".join(normalize_requirements(requirements, python)).encode(),
        base_id.encode(),
        python_minor(python).encode(),
        *([" ".join(sorted(set(system))).encode()] if system else []),
    ):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return f"{IMAGE_REPO}:{h.hexdigest()[:16]}"


def build_image(requirements: list[str], python: str, *, official: bool = False,
                system: Sequence[str] = (), base: str = "", abi: str = "") -> BuiltImage:
    """The probe image for ``requirements`` on Python ``python``: reused when its tag exists,
    else built offline (``network_mode="none"``) from a wheelhouse. ``system``: Debian
    packages the image needs, from a base made with them (``ensure_system_base``). Raises
    ``DockerUnavailable``, ``BaseImageError`` (``SystemPackagesUnavailable``),
    ``NoWheelError``/``WheelhouseError`` or ``ImageBuildError``. ``base``: a base image the
    user gave (a free-threaded Python, which no Debian suite packages), with wheels for
    its ``abi`` ("cp314t")."""
    started = time.monotonic()
    python = python_minor(python)
    reqs = normalize_requirements(requirements, python)
    packages = sorted(set(system))
    with client_scope(None) as client:
        return _build_image(reqs, python, official, client, started, packages, base, abi)


def _build_image(
    reqs: list[str], python: str, official: bool, client: Any, started: float,
    system: list[str] | None = None, given_base: str = "", abi: str = "",
) -> BuiltImage:
    system = system or []
    if given_base and find_image(client, given_base) is None:
        raise BaseImageError(f"base image {given_base} is not present locally")
    base = given_base or ensure_base(python, official=official and not system, client=client)
    if system:
        # The wheels first: a configuration that has none is "not run" without a base build.
        plain = find_image(client, base)
        glibc0 = ((plain.labels or {}) if plain is not None else {}).get(f"{LABEL}.glibc")
        with tempfile.TemporaryDirectory(prefix="asgi-matrix-wheels.") as tmp:
            download_wheelhouse(reqs, python, Path(tmp), glibc=glibc0 or glibc_for(python))
        base = ensure_system_base(python, system, client=client)
    tag = image_tag(reqs, python, base, client=client, system=system)  # base id: the ABI
    existing = find_image(client, tag)
    if existing is not None:
        return BuiltImage(
            tag=tag,
            image_id=str(existing.id),
            base=base,
            python=python,
            built=False,
            seconds=time.monotonic() - started,
            log_tail="",
        )
    base_image = find_image(client, base)
    base_labels: dict[str, str] = (base_image.labels or {}) if base_image is not None else {}
    glibc = base_labels.get(f"{LABEL}.glibc") or glibc_for(python)
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="asgi-matrix-build.") as tmp:
        ctx = Path(tmp)
        shutil.copy2(DOCKERFILE, ctx / "Dockerfile")
        for src, rel in IMAGE_FILES:
            (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, ctx / rel)
        download_wheelhouse(reqs, python, ctx / "wheels", glibc=glibc, abi=abi)
        error: str | None = None
        try:
            stream = client.api.build(
                path=str(ctx),
                dockerfile="Dockerfile",
                tag=tag,
                buildargs={"BASE": base, "REQUIREMENTS": " ".join(reqs),
                           "SYSTEM": " ".join(system)},
                network_mode="none",
                # Labels (asgi-matrix=1, .base, .requirements) come from the Dockerfile's
                # one LABEL: the SDK's labels= adds one ~1 s build step per label.
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
            )
            for chunk in stream:
                if "stream" in chunk:
                    lines.extend(str(chunk["stream"]).rstrip("\n").splitlines())
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
                    lines.append(error)
        except docker.errors.APIError as exc:
            error = str(exc)
            lines.append(error)
        log_tail = tail("\n".join(lines))
        if error is not None:
            remove_leftovers(client, lines)
            raise ImageBuildError(
                f"building {tag} ({' '.join(reqs)} on Python {python}, base {base}) failed: "
                f"{error}",
                log_tail,
            )
    image = find_image(client, tag)
    if image is None:
        raise ImageBuildError(f"build of {tag} reported success but the image is missing", log_tail)
    return BuiltImage(
        tag=tag,
        image_id=str(image.id),
        base=base,
        python=python,
        built=True,
        seconds=time.monotonic() - started,
        log_tail=log_tail,
    )
