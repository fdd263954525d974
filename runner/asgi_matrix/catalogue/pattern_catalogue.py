"""The pattern catalogue: app patterns and framework apps, as data (patterns.toml).

A pattern is an app written the way users write theirs (probes/patterns/,
probes/frameworks/), measured on each server configuration. Adding one is a table in
the TOML file plus its module; unknown keys and duplicate ids are rejected with the
file and entry named.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgi_matrix.catalogue.tables import check_entry, read_tables
from asgi_matrix.exceptions import CatalogueError, UnknownConfig
from asgi_matrix.resources import PATTERNS_FILE, PATTERNS_SCHEMA, PROBES_DIR

_APP = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(\(\))?$")


@dataclass(frozen=True)
class Pattern:
    """One way of keeping a resource in an app, and what its verdict needs to know."""

    id: str
    title: str
    app: str
    source: str
    kind: str = "pattern"
    requires: tuple[str, ...] = ()
    lifespan: bool = False
    jobs: bool = False
    closes: bool = False
    library: str = "anyio"
    why: str = ""
    instead: str = ""
    default: bool = True
    #: the server start it shares with the other raw patterns of the same name
    start: str = "patterns"

    @property
    def path(self) -> str:
        """Where its requests go."""
        return f"/p/{self.id}/work"

    @property
    def mount(self) -> str:
        """How patterns.dispatch is told of it: ``id=module:attr@library``."""
        return f"{self.id}={self.app}@{self.library}"

    @property
    def raw(self) -> bool:
        """A raw ASGI pattern, served through the dispatcher; else a framework's own app."""
        return self.kind == "pattern"

    def code_files(self, probes: Path = PROBES_DIR) -> list[Path]:
        """The files under probes/ its app runs: its module, the kit every pattern and
        framework records through, and the dispatcher that mounts it (every app but one
        alone in its start, Django's; hashed with it too, not to depend on the others).
        The probe itself is covered by the suite's probe hash."""
        names = [self.source, "patterns/__init__.py", "patterns/_kit.py",
                 "patterns/dispatch.py"]
        if not self.raw:
            names.append(f"{Path(self.source).parent}/__init__.py")
        return [probes / name for name in dict.fromkeys(names)]

    def code_sha256(self, probes: Path = PROBES_DIR) -> str:
        """A hash of ``code_files``: results measured with another hash are not comparable."""
        digest = hashlib.sha256()
        for path in self.code_files(probes):
            digest.update(path.relative_to(probes).as_posix().encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError:
                digest.update(b"(missing)")  # a pattern without its module hashes as such
            digest.update(b"\0")
        return digest.hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "kind": self.kind, "app": self.app,
                "start": self.start,
                "source": self.source, "requires": list(self.requires),
                "lifespan": self.lifespan, "jobs": self.jobs, "closes": self.closes,
                "library": self.library, "why": self.why, "instead": self.instead}




def _entry(raw: Any, where: str) -> Pattern:
    here = check_entry(raw, where, PATTERNS_SCHEMA)
    if not _APP.match(raw["app"]):
        raise CatalogueError(f"{here}: app must look like MODULE:ATTR, got {raw['app']!r}")
    if not all(isinstance(r, str) for r in raw.get("requires", [])):
        raise CatalogueError(f"{here}: requires must be a list of strings")
    if raw.get("kind") == "framework" and "start" not in raw:
        raise CatalogueError(f"{here}: a framework needs 'start' (the start it shares with "
                             "the frameworks it cannot interfere with)")
    if raw.get("kind", "pattern") == "pattern" and raw.get("requires"):
        raise CatalogueError(f"{here}: a raw pattern runs with the probe's own requirements; "
                             "one that needs packages is a framework")
    return Pattern(**{**raw, "requires": tuple(raw.get("requires", ()))})


def load(path: Path = PATTERNS_FILE) -> list[Pattern]:
    """Every pattern in the file, in order; every problem names the file and entry."""
    patterns: list[Pattern] = []
    seen: set[str] = set()
    for raw, where in read_tables(path, "pattern", "pattern catalogue"):
        pattern = _entry(raw, where)
        if pattern.id in seen:
            raise CatalogueError(f"{where}: duplicate pattern id {pattern.id!r}")
        seen.add(pattern.id)
        for other in patterns:
            if other.start == pattern.start and other.kind != pattern.kind:
                # raw patterns run in the probe's environment, frameworks in their own
                raise CatalogueError(f"{where}: pattern {pattern.id!r} shares start "
                                     f"{pattern.start!r} with {other.id!r} but not its kind")
            if other.app == pattern.app and (other.start, other.library, other.requires) != (
                    pattern.start, pattern.library, pattern.requires):
                # one app object runs one lifespan, on the loops it is written for
                raise CatalogueError(f"{where}: pattern {pattern.id!r} shares app "
                                     f"{pattern.app!r} with {other.id!r} but not its start, "
                                     "library and requires")
        patterns.append(pattern)
    return patterns


def suite_hashes(patterns: Sequence[Pattern]) -> dict[str, str]:
    """pattern id -> the hash of its code (the suite's ``patterns_sha256``)."""
    return {p.id: p.code_sha256() for p in patterns}


def for_releases(selected: Sequence[Pattern], named: bool) -> list[Pattern]:
    """The patterns each release of a release set measures: those named on the command
    line (``--pattern``), else the raw ones of the selection. Raw patterns share the
    dispatcher's starts (two today), in the release's own environment; frameworks need
    an environment of their own per release, so history runs them only when asked."""
    return list(selected) if named else [p for p in selected if p.raw]


def select(patterns: Sequence[Pattern], ids: Sequence[str]) -> list[Pattern]:
    """The patterns named (in catalogue order); none named means every default one."""
    known = {p.id for p in patterns}
    if unknown := [i for i in ids if i not in known]:
        raise UnknownConfig(f"unknown pattern {unknown[0]!r}; known: {', '.join(sorted(known))}")
    if not ids:
        return [p for p in patterns if p.default]
    return [p for p in patterns if p.id in ids]
