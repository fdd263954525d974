"""Release sets: the catalogue's way of measuring one entry across many server releases.

A ``[[config]]`` table may name a release set instead of one version::

    releases = { package = "uvicorn", since = "0.18", per = "minor", max = 8 }
    releases = { package = "uvicorn", versions = ["0.20.0", "0.30.6"] }

This module is the catalogue side only: the table's schema (``parse_release_set``), the
record of the one release a configuration is pinned to, and the pin itself. Which
releases a set stands for is asked of the package index (``index``) and chosen by
``selection``; a release that cannot be installed is "not run" (``measure.backends.releases``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from asgi_matrix.exceptions import CatalogueError

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
