"""From the catalogue to configurations: what ``asgi-matrix run`` measures.

At run time a release set is resolved against the package index: pre-releases and
yanked releases are skipped, "per minor" keeps the latest patch of each minor since
``since``, and ``max`` bounds the set, newest first. Each release becomes a
configuration of its own, ``<id>@<version>``, with the entry's requirement on the
package pinned to ``==<version>``; one the index says cannot be installed here carries
the reason and is "not run".

    resolve(release_set, index) -> [Resolved]          the rule applied (pure)
    expand(config, resolved) -> [ServerConfig]          one pinned configuration each
    select(catalogue, ids, servers, history) -> [...]   the run's selection
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from packaging.version import InvalidVersion, Version

from asgi_matrix.catalogue.load import Catalogue, ServerConfig
from asgi_matrix.catalogue.release_index import Host, Index, IndexRelease, fetch_index, unavailable
from asgi_matrix.catalogue.release_sets import Release, ReleaseSet, pin
from asgi_matrix.exceptions import UnknownConfig


@dataclass(frozen=True)
class Resolved:
    """A release chosen for a set, and why it cannot be installed here, if it cannot."""

    version: str
    unavailable: str = ""
    uploaded: str = ""


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
