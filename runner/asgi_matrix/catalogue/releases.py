"""Release sets: one catalogue entry measured across many releases of its server.

A ``[[config]]`` table may name a release set instead of one version::

    releases = { package = "uvicorn", since = "0.18", per = "minor", max = 8 }
    releases = { package = "uvicorn", versions = ["0.20.0", "0.30.6"] }

At run time the set is resolved against the package index (PyPI's JSON API, or
``$ASGI_MATRIX_INDEX_URL``): pre-releases and yanked releases are skipped, "per minor"
keeps the latest patch of each minor since ``since``, and ``max`` bounds the set,
newest first. Each release becomes a configuration of its own, ``<id>@<version>``,
with the entry's requirement on the package pinned to ``==<version>``.

A release that cannot be installed here (yanked, not on the index, no file for this
Python, a source build that fails) is "not run" with the reason: the index says so
before anything is installed, the installer says so after.

    parse_release_set(raw, where) -> ReleaseSet       catalogue validation
    parse_index(package, data) -> Index                PyPI JSON -> releases (pure)
    resolve(release_set, index) -> [Resolved]          the rule applied (pure)
    fetch_index(package) -> Index                      the network, with an on-disk copy
    select(catalogue, ids, servers, history) -> [...]  what `asgi-matrix run` measures
    prepare(backend, config) -> Prepared               the environment step, for a release
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, sys_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from asgi_matrix.exceptions import (
    AsgiMatrixError,
    CatalogueError,
    EnvironmentFailed,
    ImageBuildFailed,
    NotRunnable,
    UnknownConfig,
)
from asgi_matrix.files import write_atomic

if TYPE_CHECKING:
    from asgi_matrix.catalogue.load import Catalogue, ServerConfig
    from asgi_matrix.measure.backend import Backend, Prepared

DEFAULT_INDEX_URL = "https://pypi.org/pypi"
#: per -> what one release stands for
PER = {"minor": "latest patch of each minor", "major": "latest release of each major",
       "release": "every release"}
_KEYS = {"package", "since", "per", "max", "versions"}
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


# -- the catalogue side -------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseSet:
    """Which releases of ``package`` an entry is measured on."""

    package: str
    since: str = ""  #: lowest version measured (inclusive); "" = from the first
    per: str = "minor"
    max: int = 0  #: at most this many, newest first; 0 = no bound
    versions: tuple[str, ...] = ()  #: an explicit list instead of the rule

    def describe(self) -> str:
        if self.versions:
            return f"{self.package} {', '.join(self.versions)}"
        words = [self.package]
        if self.since:
            words.append(f"since {self.since}")
        words.append(PER[self.per])
        text = ", ".join([" ".join(words[:2]), *words[2:]])
        return text + (f", newest {self.max}" if self.max else "")

    def to_json(self) -> dict[str, Any]:
        if self.versions:
            return {"package": self.package, "versions": list(self.versions)}
        return {"package": self.package, "since": self.since, "per": self.per, "max": self.max}


@dataclass(frozen=True)
class Release:
    """The release one configuration of a set is pinned to."""

    series: str  #: id of the catalogue entry the set belongs to
    package: str
    version: str
    rule: str = ""  #: ReleaseSet.describe(), for readers of the results
    uploaded: str = ""  #: when the index got the release (ISO date), if known

    def to_json(self) -> dict[str, Any]:
        return {"series": self.series, "package": self.package, "version": self.version,
                "rule": self.rule, "uploaded": self.uploaded}


def parse_release_set(raw: Any, here: str) -> ReleaseSet:
    """The ``releases`` table of a catalogue entry; every problem names the entry."""
    where = f"{here}: releases"
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where} must be a table, e.g. "
                             '{ package = "uvicorn", since = "0.18", per = "minor" }')
    if unknown := sorted(set(raw) - _KEYS):
        raise CatalogueError(f"{where}: unknown key {unknown[0]!r}; known keys: "
                             + ", ".join(sorted(_KEYS)))
    package = raw.get("package")
    if not isinstance(package, str) or not _NAME.match(package):
        raise CatalogueError(f"{where}: 'package' must be a package name, got {package!r}")
    if "versions" in raw:
        if set(raw) & {"since", "per", "max"}:
            raise CatalogueError(f"{where}: give either 'versions' or since/per/max, not both")
        versions = raw["versions"]
        if not isinstance(versions, list) or not versions:
            raise CatalogueError(f"{where}: 'versions' must be a non-empty list of versions")
        for version in versions:
            _version(version, f"{where}: 'versions'")
        return ReleaseSet(package, versions=tuple(versions))
    since = raw.get("since", "")
    if since != "":
        _version(since, f"{where}: 'since'")
    per = raw.get("per", "minor")
    if per not in PER:
        raise CatalogueError(f"{where}: 'per' must be one of {', '.join(PER)}, got {per!r}")
    bound = raw.get("max", 0)
    if not isinstance(bound, int) or isinstance(bound, bool) or bound < 0:
        raise CatalogueError(f"{where}: 'max' must be a whole number (0: no bound), "
                             f"got {bound!r}")
    return ReleaseSet(package, since, per, bound)


def _version(value: Any, where: str) -> Version:
    if not isinstance(value, str):
        raise CatalogueError(f"{where}: {value!r} is not a version string")
    try:
        return Version(value)
    except InvalidVersion:
        raise CatalogueError(f"{where}: {value!r} is not a version") from None


def pin(requires: Sequence[str], package: str, version: str) -> tuple[str, ...]:
    """``requires`` with its requirement on ``package`` pinned to ``==version``.

    Extras and markers of the entry's requirement are kept; an entry that does not name
    the package gets the pin appended.
    """
    name = canonicalize_name(package)
    pinned: list[str] = []
    found = False
    for text in requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            pinned.append(text)
            continue
        if canonicalize_name(req.name) != name:
            pinned.append(text)
            continue
        found = True
        req.specifier = SpecifierSet(f"=={version}")
        pinned.append(str(req))
    if not found:
        pinned.append(f"{package}=={version}")
    return tuple(pinned)


# -- the index ----------------------------------------------------------------------------

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
        raise AsgiMatrixError(f"the index's answer for {package!r} has no release list")
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
class Resolved:
    """A release chosen for a set, and why it cannot be installed here, if it cannot."""

    version: str
    unavailable: str = ""
    uploaded: str = ""


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


def resolve(release_set: ReleaseSet, index: Index, host: Host | None = None) -> list[Resolved]:
    """The releases of a set, newest first, each with its reason if it cannot run here."""
    host = host or Host()
    if release_set.versions:
        found = []
        for wanted in release_set.versions:
            release = index.find(wanted)
            spelled = release.version if release else wanted
            found.append(Resolved(spelled, unavailable(release_set.package, spelled, index, host),
                                  release.uploaded if release else ""))
        return sorted(found, key=lambda r: Version(r.version), reverse=True)
    since = Version(release_set.since) if release_set.since else None
    latest: dict[Any, tuple[Version, IndexRelease]] = {}
    for spelled, release in index.releases.items():
        try:
            version = Version(spelled)
        except InvalidVersion:
            continue
        if version.is_prerelease or release.yanked or release.files == 0:
            continue
        if since is not None and version < since:
            continue
        group: Any = {"minor": version.release[:2], "major": version.release[:1]}.get(
            release_set.per, version)
        if group not in latest or version > latest[group][0]:
            latest[group] = (version, release)
    chosen = sorted(latest.values(), key=lambda vr: vr[0], reverse=True)
    if release_set.max:
        chosen = chosen[:release_set.max]
    return [Resolved(r.version, unavailable(release_set.package, r.version, index, host),
                     r.uploaded) for _, r in chosen]


def index_url() -> str:
    return (os.environ.get("ASGI_MATRIX_INDEX_URL") or DEFAULT_INDEX_URL).rstrip("/")


def _copy_path(package: str) -> Path:
    from asgi_matrix.measure.local.envs import cache_root

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
            raise AsgiMatrixError(f"{package!r} is not on the package index ({url})")
        response.raise_for_status()
        data = response.json()
        fetched = datetime.now(UTC).isoformat(timespec="seconds")
        index = parse_index(package, data, url, fetched)
    except (httpx.HTTPError, ValueError) as err:
        if not copy.is_file():
            raise AsgiMatrixError(f"cannot read the releases of {package} from {url}: "
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
        raise AsgiMatrixError(f"cannot read the releases of {package} from {url} ({why}), "
                              f"and the copy kept in {copy} is unusable ({err}); delete it "
                              "or retry online") from err
    return saved


# -- from the catalogue to configurations ------------------------------------------------

IndexSource = Callable[[str], Index]


def expand(config: ServerConfig, resolved: Iterable[Resolved]) -> list[ServerConfig]:
    """One configuration per release, pinned, with its own environment and id."""
    sets = config.releases
    if sets is None:
        return [config]
    rule = sets.describe()
    return [replace(config, id=f"{config.id}@{r.version}",
                    requires=pin(config.requires, sets.package, r.version),
                    releases=None, default=False, unavailable=r.unavailable,
                    release=Release(config.id, sets.package, r.version, rule, r.uploaded))
            for r in resolved]


def select(catalogue: Catalogue, ids: Sequence[str] = (), servers: Sequence[str] = (),
           history: bool = False, index: IndexSource | None = None,
           progress: Callable[[str], None] = lambda line: None) -> list[ServerConfig]:
    """What ``asgi-matrix run`` measures.

    Plain ids and servers select as before (a server's release sets only with
    ``history``); an id of a release set means all its releases, ``<id>@<version>`` one
    release (any version the index has); ``history`` adds every release set.
    """
    indexes: dict[str, Index] = {}

    def index_of(package: str) -> Index:
        if package not in indexes:
            indexes[package] = (index or fetch_index)(package)
            if indexes[package].note:
                progress(f"{package}: {indexes[package].note}")
        return indexes[package]

    plain = [i for i in ids if "@" not in i]
    pinned = [i for i in ids if "@" in i]
    chosen = catalogue.select(plain, servers) if plain or servers or not pinned else []
    if history:
        chosen += [c for c in catalogue.configs if c.releases is not None and c not in chosen
                   and (not servers or c.server in servers)]
    found: list[ServerConfig] = []
    for config in chosen:
        if config.releases is None:
            found.append(config)
            continue
        resolved = resolve(config.releases, index_of(config.releases.package))
        if not resolved:
            progress(f"{config.id}: no release of {config.releases.describe()} on the index")
        found += expand(config, resolved)
    for ident in pinned:
        base, _, version = ident.partition("@")
        config = catalogue.get(base)
        if config.releases is None:
            sets = ", ".join(c.id for c in catalogue.configs if c.releases) or "none"
            raise UnknownConfig(f"{base!r} is not a release set, so {ident!r} names nothing; "
                                f"release sets: {sets}")
        try:
            Version(version)
        except InvalidVersion:
            raise UnknownConfig(f"{ident!r}: {version!r} is not a version") from None
        package = config.releases.package
        idx = index_of(package)
        release = idx.find(version)
        spelled = release.version if release else version
        found += expand(config, [Resolved(spelled, unavailable(package, spelled, idx),
                                          release.uploaded if release else "")])
    return list({c.id: c for c in found}.values())


# -- the environment step -----------------------------------------------------------------

#: installer output that means "this release cannot be installed here", not "we failed"
_NOT_INSTALLABLE = (
    ("failed to build", "its source distribution does not build here"),
    ("failed to download and build", "its source distribution does not build here"),
    ("build backend", "its source distribution does not build here"),
    ("no solution found", "its requirements cannot be satisfied here"),
    ("unsatisfiable", "its requirements cannot be satisfied here"),
    ("no matching distribution", "no installable file for this Python"),
    ("doesn't have a source distribution or wheel", "no installable file for this Python"),
    ("has no wheels with a matching", "no installable file for this Python"),
)


def not_installable(err: EnvironmentFailed | ImageBuildFailed) -> str:
    """The reason an installer failure means "cannot be installed here", or ""."""
    text = f"{err}\n{err.log_tail}".lower()
    for needle, meaning in _NOT_INSTALLABLE:
        if needle in text:
            return meaning
    return ""


def _telling_line(err: EnvironmentFailed | ImageBuildFailed) -> str:
    """The installer's most telling line: its last 'error:' or 'cause:' line, else the last."""
    lines = [ln.strip(" │╰─▶×") for ln in err.log_tail.splitlines() if ln.strip()]
    for line in reversed(lines):
        low = line.lower()
        if low.startswith(("error:", "cause:")) or "error:" in low:
            return line[:300]
    return (lines[-1] if lines else str(err))[:300]


def prepare(backend: Backend, config: ServerConfig) -> Prepared:
    """``backend.prepare`` for a pinned release: not installable here -> NotRunnable.

    The local backend's installer fails with EnvironmentFailed, the docker backend's
    image build with ImageBuildFailed; both carry the installer's last lines.
    """
    release = config.release
    what = f"{release.package}=={release.version}" if release else config.id
    if config.unavailable:
        raise NotRunnable(config.unavailable)
    try:
        return backend.prepare(config)
    except (EnvironmentFailed, ImageBuildFailed) as err:
        meaning = not_installable(err)
        if not meaning:
            raise
        raise NotRunnable(f"cannot install {what} here: {meaning}: {_telling_line(err)}") from err
