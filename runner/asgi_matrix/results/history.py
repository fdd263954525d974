"""History across server releases: per property and per app pattern, since which
release a verdict holds.

Pure functions from a results document's configurations to its ``history`` section.
Configurations pinned to a release (``axes.release``, with a ``release`` record naming
their series) are grouped by series, ordered by version, and each track's verdicts
are collapsed to the releases where they changed::

    unsupported 0.18.3 ... 0.20.0, pass 0.21.1 ... 0.54.0  ->  "pass since 0.21.1"
    pass, fail in 0.25.0, pass again in 0.26.0               ->  "broke in 0.25.0, fixed in 0.26.0"

A release with no verdict for a property (not run, or an error cell: no finding either
way) is a gap, never a change; a change after a gap names the last release measured
before it, so "since" is exact only when the release just before was measured.

A series has one section per axis (``AXES``): ``properties`` (the server's verdicts,
always there) and ``patterns`` (the app patterns' works/breaks/n/a, when some release
measured one); an axis of cells added to configurations later is one more row there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from packaging.version import InvalidVersion, Version

#: statuses that say nothing about the server: gaps in a history
NO_FINDING = frozenset({"error"})


@dataclass(frozen=True)
class Axis:
    """One kind of cell a configuration carries, followed across releases."""

    cells: str  #: the configuration's key holding {id: {"status": ...}}
    good: str  #: the status that means "it works" (what "broke" and "fixed" are about)
    bad: str  #: the status a plain "broke in X" means
    always: bool = False  #: listed even when no release has a cell of it


#: history section of a series -> the cells it follows
AXES: dict[str, Axis] = {"properties": Axis("verdicts", "pass", "fail", always=True),
                         "patterns": Axis("patterns", "works", "breaks")}


def _order(version: str) -> tuple[int, Any]:
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def segments(points: Sequence[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """Runs of one verdict over consecutive measured releases (oldest first)."""
    found: list[dict[str, Any]] = []
    for version, status in points:
        if status is None or status in NO_FINDING:
            continue
        if found and found[-1]["status"] == status:
            found[-1]["to"] = version
            found[-1]["releases"] += 1
        else:
            found.append({"status": status, "from": version, "to": version, "releases": 1})
    return found


def collapse(points: Sequence[tuple[str, str | None]],
             axis: Axis = AXES["properties"]) -> dict[str, Any]:
    """One property's (or pattern's) history: its runs, its changes, since when its latest
    verdict holds, and a one-line summary.

    ``points`` are (version, status) oldest first; status None means no verdict.
    """
    runs = segments(points)
    measured = [(v, s) for v, s in points if s is not None and s not in NO_FINDING]
    changes: list[dict[str, Any]] = []
    passed_before = False
    for before, after in pairwise(runs):
        passed_before = passed_before or before["status"] == axis.good
        gap = [v for v, _ in points
               if _order(before["to"]) < _order(v) < _order(after["from"])]
        if after["status"] == axis.good:
            kind = "fixed" if passed_before else "since"
        elif before["status"] == axis.good:
            kind = "broke"
        else:
            kind = "changed"
        changes.append({"version": after["from"], "previous": before["to"],
                        "from": before["status"], "to": after["status"], "kind": kind,
                        "exact": not gap, "unmeasured_between": gap})
    since: dict[str, Any] | None = None
    if runs:
        last = runs[-1]
        since = {"status": last["status"], "version": last["from"],
                 "exact": len(runs) > 1 and changes[-1]["exact"],
                 "first_measured": len(runs) == 1}
    return {"segments": runs, "changes": changes, "since": since,
            "summary": summary(runs, changes, measured, bad=axis.bad)}


def summary(runs: Sequence[Mapping[str, Any]], changes: Sequence[Mapping[str, Any]],
            measured: Sequence[tuple[str, str]] = (), bad: str = "fail") -> str:
    """The collapsed history in words: "pass since 0.21.1", "broke in X, fixed in Y"."""
    if not runs:
        return "no release measured"
    if not changes:
        only = runs[0]
        span = only["from"] if only["from"] == only["to"] else f"{only['from']} to {only['to']}"
        word = "the one release measured" if only["releases"] == 1 else "every release measured"
        return f"{only['status']} in {word} ({span})"
    parts = []
    for change in changes:
        version = change["version"]
        if change["kind"] == "since":
            parts.append(f"{change['to']} since {version}")
        elif change["kind"] == "fixed":
            parts.append(f"fixed in {version}")
        elif change["kind"] == "broke":
            parts.append(f"broke in {version}" + ("" if change["to"] == bad
                                                    else f" ({change['to']})"))
        else:
            parts.append(f"{change['to']} since {version}")
    return ", ".join(parts)


def compute(configurations: Mapping[str, Mapping[str, Any]],
            properties: Sequence[str] | None = None,
            patterns: Sequence[str] | None = None) -> dict[str, Any]:
    """The ``history`` section of a results document; {} when no release was measured.

    ``{"series": {series id: {server, package, rule, releases: [...oldest first],
    properties: {property id: {statuses, segments, changes, since, summary}},
    patterns: {pattern id: {...the same}}}}}`` (``patterns`` only when some release
    measured one). ``properties``/``patterns`` give the ids and their order; None: every
    id some release has.
    """
    order = {"properties": properties, "patterns": patterns}
    series: dict[str, dict[str, Any]] = {}
    for config_id, config in configurations.items():
        version = (config.get("axes") or {}).get("release")
        if not version:
            continue
        release = config.get("release") or {}
        name = release.get("series") or config_id.partition("@")[0]
        entry = series.setdefault(name, {
            "server": config.get("server", ""), "package": release.get("package", ""),
            "rule": release.get("rule", ""), "releases": [], "properties": {}})
        entry["releases"].append({
            "version": str(version), "config": config_id, "status": config.get("status"),
            "reason": config.get("reason"), "uploaded": release.get("uploaded", ""),
            "cached": bool(config.get("cached")), "measured_at": config.get("measured_at", ""),
            "installed": (config.get("versions") or {}).get(release.get("package", ""), "")})
    for name, entry in series.items():
        entry["releases"].sort(key=lambda r: _order(r["version"]))
        cells = [configurations[r["config"]] for r in entry["releases"]]
        for section, axis in AXES.items():
            present = list(dict.fromkeys(
                cid for c in cells for cid in (c.get(axis.cells) or {})))
            ids = order.get(section)
            # ids nobody measured are left out, except for the server's own properties
            ids = present if ids is None else [i for i in ids if axis.always or i in present]
            if not ids and not axis.always:
                continue
            tracks = entry.setdefault(section, {})
            for pid in ids:
                statuses = [_status(c, axis, pid) for c in cells]
                points = [(r["version"], st)
                          for r, st in zip(entry["releases"], statuses, strict=True)]
                tracks[pid] = {"statuses": statuses, **collapse(points, axis)}
        series[name] = entry
    return {"series": dict(sorted(series.items()))} if series else {}


def _status(config: Mapping[str, Any], axis: Axis, cell_id: str) -> str | None:
    if config.get("status") == "not-run":
        return None
    verdict = (config.get(axis.cells) or {}).get(cell_id)
    return verdict.get("status") if isinstance(verdict, Mapping) else None


def changed(entry: Mapping[str, Any], section: str = "properties") -> list[str]:
    """The properties (or patterns) of one series whose verdict changed across its releases."""
    return [pid for pid, prop in (entry.get(section) or {}).items() if prop["changes"]]


def diff(entry: Mapping[str, Any], old: str, new: str,
         section: str = "properties") -> list[dict[str, Any]]:
    """Properties (or patterns) whose verdict differs between two releases of one series."""
    versions = [r["version"] for r in entry["releases"]]
    i, j = versions.index(old), versions.index(new)
    rows = []
    for pid, prop in (entry.get(section) or {}).items():
        a, b = prop["statuses"][i], prop["statuses"][j]
        if a != b:
            rows.append({"property": pid, "old": a, "new": b})
    return rows


def attach(document: dict[str, Any]) -> dict[str, Any]:
    """Set the document's ``history`` section from its configurations (removed when no
    release was measured): the one place a document gets it; readers read it."""
    document.pop("history", None)
    if history := compute(document["configurations"], list(document["properties"]),
                          list(document.get("patterns") or {})):
        document["history"] = history
    return document
