"""The package index (PyPI's JSON API, or ``$ASGI_MATRIX_INDEX_URL``): a package's releases,
and whether one of them can be installed here judged from the index alone.

    parse_index(package, data) -> Index          PyPI JSON -> releases (pure)
    unavailable(package, version, index) -> str  why it cannot be installed here, or ""
    fetch_index(package) -> Index                the network, with an on-disk copy

Pre-releases and yanked releases are the index's facts; the rule that picks releases
is in ``selection``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, sys_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from asgi_matrix.exceptions import IndexUnavailable
from asgi_matrix.files import write_atomic
from asgi_matrix.resources import cache_root

DEFAULT_INDEX_URL = "https://pypi.org/pypi"


@dataclass(frozen=True)
class IndexRelease:
    """One release as the index lists it."""

    version: str
    files: int
    yanked: bool  #: every file of it is yanked
    yanked_reason: str = ""
    requires_python: str = ""
    uploaded: str = ""
    wheels: tuple[str, ...] = ()  #: wheel file names
    sdist: bool = False


@dataclass(frozen=True)
class Index:
    """The releases of one package, as the index listed them when fetched."""

    package: str
    releases: dict[str, IndexRelease]
    source: str = ""
    fetched: str = ""
    note: str = ""  #: e.g. "the index could not be reached: using the copy of <date>"

    def find(self, version: str) -> IndexRelease | None:
        if version in self.releases:
            return self.releases[version]
        try:
            wanted = Version(version)
        except InvalidVersion:
            return None
        for spelled, release in self.releases.items():
            try:
                if Version(spelled) == wanted:
                    return release
            except InvalidVersion:
                continue
        return None


def parse_index(package: str, data: dict[str, Any], source: str = "",
                fetched: str = "") -> Index:
    """PyPI's JSON API response (``/pypi/<name>/json``) as an Index."""
    releases: dict[str, IndexRelease] = {}
    raw = data.get("releases")
    if not isinstance(raw, dict):
        raise IndexUnavailable(f"the index's answer for {package!r} has no release list")
    for version, files in raw.items():
        files = [f for f in files or [] if isinstance(f, dict)]
        names = [str(f.get("filename", "")) for f in files]
        yanked = bool(files) and all(f.get("yanked") for f in files)
        reasons = [str(f.get("yanked_reason") or "") for f in files if f.get("yanked")]
        pythons = [str(f.get("requires_python") or "") for f in files]
        times = sorted(str(f.get("upload_time_iso_8601") or f.get("upload_time") or "")
                       for f in files)
        releases[version] = IndexRelease(
            version=version, files=len(files), yanked=yanked,
            yanked_reason=next((r for r in reasons if r), ""),
            requires_python=next((p for p in pythons if p), ""),
            uploaded=times[0][:10] if times else "",
            wheels=tuple(n for n in names if n.endswith(".whl")),
            sdist=any(f.get("packagetype") == "sdist" for f in files))
    return Index(package, releases, source, fetched)


@dataclass(frozen=True)
class Host:
    """What "installable here" is judged against."""

    python: str = field(default_factory=platform.python_version)
    tags: frozenset[Tag] = field(default_factory=lambda: frozenset(sys_tags()))


def unavailable(package: str, version: str, index: Index, host: Host | None = None) -> str:
    """Why ``package==version`` cannot be installed here, from the index alone; "" if it may.

    A release with only a source distribution may be installable (the installer builds
    it); whether the build works here is known only after trying.
    """
    host = host or Host()
    release = index.find(version)
    if release is None:
        return f"{package} {version} is not on the package index"
    if release.files == 0:
        return f"{package} {version} has no files on the package index"
    if release.yanked:
        why = f" ({release.yanked_reason})" if release.yanked_reason else ""
        return f"{package} {version} was yanked from the package index{why}"
    if release.requires_python:
        try:
            ok = SpecifierSet(release.requires_python).contains(host.python)
        except InvalidSpecifier:
            ok = True
        if not ok:
            return (f"{package} {version} needs Python {release.requires_python} "
                    f"(this is {host.python})")
    if not release.sdist and not any(_fits(name, host) for name in release.wheels):
        return (f"{package} {version} has no wheel for this Python and platform "
                f"(Python {host.python}) and no source distribution")
    return ""


def _fits(wheel: str, host: Host) -> bool:
    try:
        _, _, _, tags = parse_wheel_filename(wheel)
    except InvalidWheelFilename:
        return False
    return bool(tags & host.tags)


def index_url() -> str:
    return (os.environ.get("ASGI_MATRIX_INDEX_URL") or DEFAULT_INDEX_URL).rstrip("/")


def _copy_path(package: str) -> Path:
    return cache_root() / "history" / "index" / f"{canonicalize_name(package)}.json"


def fetch_index(package: str, timeout: float = 20.0) -> Index:
    """The package's releases from the index; its last answer kept on disk as a fallback."""
    import httpx

    url = f"{index_url()}/{canonicalize_name(package)}/json"
    copy = _copy_path(package)
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True,
                             headers={"Accept": "application/json"})
        if response.status_code == 404:
            raise IndexUnavailable(f"{package!r} is not on the package index ({url})")
        response.raise_for_status()
        data = response.json()
        fetched = datetime.now(UTC).isoformat(timespec="seconds")
        index = parse_index(package, data, url, fetched)
    except (httpx.HTTPError, ValueError) as err:
        if not copy.is_file():
            raise IndexUnavailable(f"cannot read the releases of {package} from {url}: "
                                  f"{err}") from err
        saved = _read_copy(copy, package, url, err)
        index = parse_index(package, saved["data"], saved["source"], saved["fetched"])
        return replace(index, note=f"the index could not be reached ({err}); using its "
                                   f"answer of {saved['fetched']}")
    with contextlib.suppress(OSError):  # the copy is a convenience; the run has its answer
        write_atomic(copy, json.dumps({"source": url, "fetched": fetched,
                                       "data": {"releases": data.get("releases", {})}}))
    return index


def _read_copy(copy: Path, package: str, url: str, why: Exception) -> dict[str, Any]:
    """The index's last answer kept on disk, or one line saying why it cannot be used."""
    try:
        saved = json.loads(copy.read_text())
        if not (isinstance(saved, dict) and isinstance(saved.get("data"), dict)
                and isinstance(saved.get("source"), str)
                and isinstance(saved.get("fetched"), str)):
            raise ValueError("not a saved index answer")
    except (OSError, ValueError) as err:
        raise IndexUnavailable(f"cannot read the releases of {package} from {url} ({why}), "
                               f"and the copy kept in {copy} is unusable ({err}); delete it "
                               "or retry online") from err
    return saved
