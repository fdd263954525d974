"""Reading what the probe wrote: JSON lines, tolerant of a server that mangles them."""

from __future__ import annotations

import json
from typing import Any

MAX_BAD_SAMPLES = 5


OBSERVATIONS = "observations.jsonl"  #: the probe's file, in the server's working folder
CLIENT = "client.json"  #: what an in-process harness saw


def parse_events(raw: bytes | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The probe's records, and a summary of lines that were not records."""
    events: list[dict[str, Any]] = []
    bad: dict[str, Any] = {"count": 0, "samples": []}
    if not raw:
        return events, bad
    for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("event"), str):
            events.append(record)
        else:
            bad["count"] += 1
            if len(bad["samples"]) < MAX_BAD_SAMPLES:
                bad["samples"].append(f"line {number}: {line[:120]}")
    return events, bad
