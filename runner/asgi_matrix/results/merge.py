"""Combine the results documents of a sharded run into one document.

CI measures the matrix in shards (one job each) and publishes one document. Shards
are only comparable when the same suite measured them, so differing suite versions,
probe hashes, pattern code (per pattern both measured: ``suite.patterns_sha256``) or
schema versions are refused, as is a configuration measured twice (which of the two
would be the truth?).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from asgi_matrix.exceptions import ResultsError
from asgi_matrix.results import document as _results
from asgi_matrix.results import history as _history

Document = dict[str, Any]


def _ordered_union(lists: Iterable[Iterable[str]]) -> list[str]:
    """Every item once, in order of first appearance."""
    return list(dict.fromkeys(item for items in lists for item in items))


def _refuse_mismatch(documents: Sequence[tuple[str, Document]], what: str,
                     value: Callable[[Document], Any]) -> None:
    """One line naming the first two files that disagree on ``value(document)``."""
    first_name, first = documents[0]
    for name, document in documents[1:]:
        if value(first) != value(document):
            raise ResultsError(f"cannot merge {first_name} and {name}: {what} differ "
                               f"({value(first)!r} vs {value(document)!r})"
                               + ("; --allow-mixed merges them anyway" if what in MIXABLE
                                  else ""))


def _host_key(document: Document) -> dict[str, Any]:
    """What of a host can change a verdict (a kernel's patch level cannot)."""
    host = document["host"]
    return {"python": host.get("python"), "implementation": host.get("implementation"),
            "os": str(host.get("os", "")).split("-")[0], "machine": host.get("machine")}


MIXABLE: dict[str, Callable[[Document], Any]] = {
    "hosts": _host_key,
    "backends": lambda d: d["run"]["backend"],
    "repeat counts": lambda d: d["run"]["repeat"],
}


def _mixed(documents: Sequence[tuple[str, Document]], allow_mixed: bool) -> Document:
    """What the shards differ in; refused (one line) unless ``allow_mixed``."""
    mixed: Document = {}
    for what, value in MIXABLE.items():
        values = [value(d) for _, d in documents]
        if any(v != values[0] for v in values[1:]):
            if not allow_mixed:
                _refuse_mismatch(documents, what, value)
            mixed[what.split()[0]] = [{"file": name, "value": v}
                                      for (name, _), v in zip(documents, values, strict=True)]
    return mixed


def _refuse_pattern_mismatch(documents: Sequence[tuple[str, Document]]) -> None:
    """Like the probe hash, per pattern: one pattern measured by two versions of its code
    would put two apps in one column. Patterns only one shard measured are fine."""
    for i, (first_name, first) in enumerate(documents):
        for name, document in documents[i + 1:]:
            if differ := _results.mismatched_patterns(first, document):
                ours, theirs = (_results.pattern_hashes(d) for d in (first, document))
                raise ResultsError(f"cannot merge {first_name} and {name}: the code of pattern "
                                   f"{differ[0]!r} differs ({ours[differ[0]]!r} vs "
                                   f"{theirs[differ[0]]!r})"
                                   + (f", and {len(differ) - 1} more" if differ[1:] else ""))


def _suite(documents: Sequence[tuple[str, Document]]) -> Document:
    """The first shard's suite, with every shard's pattern hashes (they agree)."""
    suite = dict(documents[0][1]["suite"])
    hashes = {pid: sha for _, d in documents for pid, sha in _results.pattern_hashes(d).items()}
    if hashes:
        suite["patterns_sha256"] = hashes
    return suite


def _refuse_overlap(documents: Sequence[tuple[str, Document]]) -> None:
    owner: dict[str, str] = {}
    for name, document in documents:
        for config_id in document["configurations"]:
            if config_id in owner:
                both = [c for c in document["configurations"]
                        if owner.get(c) == owner[config_id]]
                shown = ", ".join(both[:5]) + (f" and {len(both) - 5} more" if both[5:] else "")
                raise ResultsError(f"cannot merge {owner[config_id]} and {name}: both contain "
                                   f"configuration(s) {shown}")
            owner[config_id] = name


def _when(stamp: str) -> datetime:
    # Compared as instants, not strings: shards on other hosts may write other offsets.
    return datetime.fromisoformat(stamp)


def _run(documents: Sequence[tuple[str, Document]]) -> Document:
    runs = [document["run"] for _, document in documents]
    finished = [r["finished"] for r in runs]
    backends = _ordered_union([r["backend"]] for r in runs)
    ids = [r["id"] for r in runs]
    return {
        # Derived from the shards' ids, so merging the same shards twice gives the same id.
        "id": hashlib.sha256(" ".join(ids).encode()).hexdigest()[:12],
        "started": min((r["started"] for r in runs), key=_when),
        # A shard without "finished" stopped mid-run; so did the union of the shards.
        "finished": None if None in finished else max(finished, key=_when),
        "backend": "+".join(backends),
        "jobs": max(r["jobs"] for r in runs),
        "repeat": max(r["repeat"] for r in runs),
        "selected": _ordered_union(r["selected"] for r in runs),
        "not_run": list({n["id"]: n for r in runs for n in r["not_run"]}.values()),
        "interrupted": any(r["interrupted"] for r in runs),
        "shards": [{"file": name, "id": r["id"], "started": r["started"],
                    "finished": r["finished"], "backend": r["backend"]}
                   for (name, _), r in zip(documents, runs, strict=True)],
    }


def merge(documents: list[tuple[str, Document]], allow_mixed: bool = False) -> Document:
    """One results document from shard documents given as (file name, document) pairs.

    Raises ``ResultsError`` with a one-line message naming the files when the shards
    cannot be combined.
    """
    if not documents:
        raise ResultsError("nothing to merge: no results documents given")
    _refuse_mismatch(documents, "results schema versions", lambda d: d.get("schema_version"))
    _refuse_mismatch(documents, "suite versions", lambda d: d["suite"]["version"])
    _refuse_mismatch(documents, "probe hashes", lambda d: d["suite"]["probe_sha256"])
    _refuse_pattern_mismatch(documents)
    _refuse_overlap(documents)
    mixed = _mixed(documents, allow_mixed)

    run = _run(documents)
    if mixed:
        run["mixed"] = mixed  # merged with --allow-mixed: say so in the document
    properties: Document = {}
    patterns: Document = {}  # the pattern axis: every shard's patterns, first one wins
    cells: Document = {}
    for _, document in documents:
        for prop_id, prop in document["properties"].items():
            properties.setdefault(prop_id, prop)
        for pattern_id, pattern in document.get("patterns", {}).items():
            patterns.setdefault(pattern_id, pattern)
        cells.update(document["configurations"])
    if patterns:
        run["patterns"] = list(patterns)
    # The order the shards were asked to measure in; anything unlisted goes last.
    # A shard knows the whole selection it was cut from: that order wins.
    whole = _ordered_union([*(r.get("shard") or {}).get("of", []), *r["selected"]]
                           for _, d in documents for r in [d["run"]])
    order = {config_id: i for i, config_id in enumerate(whole)}
    configurations = dict(sorted(cells.items(), key=lambda kv: order.get(kv[0], len(order))))

    first = documents[0][1]
    merged = {"schema_version": first["schema_version"], "suite": _suite(documents), "run": run,
              # Hosts differ per shard runner; the first one stands for all, as CI
              # runners of one workflow are alike.
              "host": first["host"], "properties": properties,
              **({"patterns": patterns} if patterns else {}),
              "configurations": configurations}
    _history.attach(merged)  # from every shard's releases together
    _results.validate(merged, "merged results")
    return merged
