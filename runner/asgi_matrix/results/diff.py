"""What changed between two results documents, cell by cell (configuration x property).

"Worse" follows one explicit order, pass > n/a > unsupported > flaky > fail. "error"
is outside it: it means the harness could not measure, which says nothing about the
server, so a cell becoming (or ceasing to be) an error is its own category and never
counts as a regression or an improvement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from asgi_matrix.results import document as _results

Kind = Literal["regression", "improvement", "became-error", "recovered", "new", "removed"]

#: Higher is better. "error" is deliberately absent: it is not a measurement.
RANK: dict[str, int] = {"pass": 4, "n/a": 3, "unsupported": 2, "flaky": 1, "fail": 0}
#: Pattern cells are listed beside the properties as "pattern:<id>", and ranked as the
#: server status they match: works as pass, breaks as fail.
PATTERN_PREFIX = "pattern:"
PATTERN_RANKED_AS = {"works": "pass", "caveat": "flaky", "breaks": "fail"}  # caveat: between
ERROR = "error"

#: Order and wording of the categories in every rendering.
KINDS: dict[Kind, str] = {
    "regression": "regression",
    "improvement": "improvement",
    "became-error": "became error",
    "recovered": "recovered from error",
    "new": "new cell",
    "removed": "removed cell",
}
_ICONS: dict[Kind, str] = {"regression": "🔴", "improvement": "🟢", "became-error": "⚠️",
                           "recovered": "🔧", "new": "➕", "removed": "➖"}


@dataclass(frozen=True)
class CellChange:
    """One cell whose verdict status differs between the two documents."""

    config: str
    property: str
    kind: Kind
    old: str | None  #: None for a new cell
    new: str | None  #: None for a removed cell


@dataclass
class Diff:
    """All changes from ``old`` to ``new``; unchanged cells are not listed."""

    old_run: str
    new_run: str
    changes: list[CellChange] = field(default_factory=list)
    configs_added: list[str] = field(default_factory=list)
    configs_removed: list[str] = field(default_factory=list)
    #: Why the two may not be comparable (another suite or probe measured them).
    notes: list[str] = field(default_factory=list)
    #: Why the new run cannot vouch for "no regression" (empty, interrupted, unfinished,
    #: configurations gone): ``--fail-on-regression`` fails on these too.
    incomplete: list[str] = field(default_factory=list)

    def of_kind(self, kind: Kind) -> list[CellChange]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def regressions(self) -> list[CellChange]:
        return self.of_kind("regression")

    @property
    def empty(self) -> bool:
        return not (self.changes or self.configs_added or self.configs_removed)

    def counts(self) -> dict[Kind, int]:
        return {kind: len(self.of_kind(kind)) for kind in KINDS}

    def to_json(self) -> dict[str, Any]:
        return {"old_run": self.old_run, "new_run": self.new_run,
                "counts": self.counts(), "configs_added": self.configs_added,
                "configs_removed": self.configs_removed, "notes": self.notes,
                "incomplete": self.incomplete,
                "changes": [vars(c) for c in self.changes]}


def classify(old: str, new: str) -> Kind | None:
    """The kind of change from status ``old`` to ``new``; None when unchanged."""
    if old == new:
        return None
    if new == ERROR:
        return "became-error"
    if old == ERROR:
        return "recovered"
    return "regression" if RANK[new] < RANK[old] else "improvement"


def _statuses(config: dict[str, Any], patterns: bool = False) -> dict[str, str]:
    statuses = {prop: verdict["status"] for prop, verdict in config.get("verdicts", {}).items()}
    if patterns:
        statuses.update({PATTERN_PREFIX + pattern: cell["status"]
                         for pattern, cell in config.get("patterns", {}).items()})
    return statuses


def diff(old: dict[str, Any], new: dict[str, Any]) -> Diff:
    """Compare two (validated) results documents."""
    result = Diff(old["run"]["id"], new["run"]["id"])
    for key, label in (("version", "suite version"), ("probe_sha256", "probe hash")):
        if old["suite"][key] != new["suite"][key]:
            result.notes.append(f"{label} changed ({old['suite'][key]} -> {new['suite'][key]}): "
                                "some changes may come from the suite, not the servers")
    if changed := _results.mismatched_patterns(old, new):
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if changed[5:] else "")
        result.notes.append(f"the code of pattern(s) {shown} changed: their changes may come "
                            "from the patterns, not the servers")
    old_configs, new_configs = old["configurations"], new["configurations"]
    # Cells of added or removed configurations are summed up by the configuration,
    # not listed one by one: a new server is not fifteen "new cells".
    result.configs_added = [c for c in new_configs if c not in old_configs]
    result.configs_removed = [c for c in old_configs if c not in new_configs]
    result.incomplete = incomplete(new, result.configs_removed)
    # Patterns are compared where both runs measured the pattern axis; else say so.
    patterns = bool(old.get("patterns")) and bool(new.get("patterns"))
    if bool(old.get("patterns")) != bool(new.get("patterns")):
        result.notes.append("only one of the two runs measured the app patterns: their cells "
                            "are not compared")
    prop_order = list(dict.fromkeys([*new["properties"], *old["properties"],
                                     *(PATTERN_PREFIX + p for p in new.get("patterns", {})),
                                     *(PATTERN_PREFIX + p for p in old.get("patterns", {}))]))
    for config_id in (c for c in new_configs if c in old_configs):
        before = _statuses(old_configs[config_id], patterns)
        after = _statuses(new_configs[config_id], patterns)
        rank = {p: i for i, p in enumerate(prop_order)}
        for prop in sorted(before.keys() | after.keys(), key=lambda p: (rank.get(p, len(rank)), p)):
            was, now = before.get(prop), after.get(prop)
            kind: Kind | None = ("new" if was is None else "removed" if now is None
                                 else classify(PATTERN_RANKED_AS.get(was, was),
                                               PATTERN_RANKED_AS.get(now, now)))
            if kind is not None:
                result.changes.append(CellChange(config_id, prop, kind, was, now))
    return result


def incomplete(new: dict[str, Any], removed: list[str]) -> list[str]:
    """Why the new run's silence about a cell proves nothing."""
    run, reasons = new["run"], []
    if not new["configurations"]:
        reasons.append("the new run has no configurations")
    if run.get("interrupted"):
        reasons.append("the new run was interrupted")
    elif not run.get("finished"):
        reasons.append("the new run did not finish")
    if removed:
        shown = ", ".join(removed[:5]) + (f" and {len(removed) - 5} more" if removed[5:] else "")
        reasons.append(f"configurations missing from the new run: {shown}")
    return reasons


def _summary(result: Diff) -> str:
    # Regressions are always counted, even as 0: that is what a reader looks for first.
    parts = [f"{n} {KINDS[kind]}{'' if n == 1 else 's'}" for kind, n in result.counts().items()
             if n or kind == "regression"]
    return ", ".join(parts)


def _by_config(result: Diff) -> dict[str, list[CellChange]]:
    groups: dict[str, list[CellChange]] = {}
    for change in result.changes:
        groups.setdefault(change.config, []).append(change)
    return groups


def render_text(result: Diff) -> str:
    """Grouped by configuration, for a terminal or a log."""
    lines = [f"asgi-matrix diff: run {result.old_run} -> run {result.new_run}"]
    lines += [f"note: {note}" for note in result.notes]
    lines += [f"incomplete: {reason}" for reason in result.incomplete]
    if result.empty:
        return "\n".join([*lines, "no changes"])
    lines.append(_summary(result))
    if result.configs_added:
        lines.append("configurations added: " + ", ".join(result.configs_added))
    if result.configs_removed:
        lines.append("configurations removed: " + ", ".join(result.configs_removed))
    for config_id, changes in _by_config(result).items():
        lines += ["", config_id]
        width = max(len(c.property) for c in changes)
        for change in changes:
            lines.append(f"  {KINDS[change.kind]:21} {change.property:{width}}  "
                         f"{change.old or '-'} -> {change.new or '-'}")
    return "\n".join(lines)


def _md(text: str) -> str:
    """Inline code that survives a table cell, whatever the id contains."""
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def render_markdown(result: Diff) -> str:
    """For a GitHub job summary: a headline with counts, then one table per configuration."""
    lines = [f"### asgi-matrix: run {_md(result.new_run)} compared with {_md(result.old_run)}",
             ""]
    lines += [f"> **Note:** {note}" for note in result.notes]
    lines += [f"> **Incomplete:** {reason}" for reason in result.incomplete]
    if result.notes or result.incomplete:
        lines.append("")
    if result.empty:
        return "\n".join([*lines, "No verdict changed.", ""])
    lines += [f"**{_summary(result)}**", ""]
    if result.configs_added:
        lines += ["Configurations added: " + ", ".join(map(_md, result.configs_added)), ""]
    if result.configs_removed:
        lines += ["Configurations removed: " + ", ".join(map(_md, result.configs_removed)), ""]
    for config_id, changes in _by_config(result).items():
        lines += [f"#### {_md(config_id)}", "", "| | change | property | before | after |",
                  "|---|---|---|---|---|"]
        lines += [f"| {_ICONS[c.kind]} | {KINDS[c.kind]} | {_md(c.property)} | "
                  f"{c.old or '–'} | {c.new or '–'} |" for c in changes]
        lines.append("")
    return "\n".join(lines)
