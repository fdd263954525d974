"""The server's log, for ``asgi-matrix check``: lines that say the app broke, or that
deserve a caveat, and the finding type every part of the answer shares.

A log line can show what no client saw: a loop-bound object used from another event
loop, a task destroyed while still pending (its work lost), a traceback the server
swallowed, an unclosed resource (the layer turns ResourceWarning on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["breaks", "caveat", "note"]


@dataclass(frozen=True)
class Finding:
    level: Level
    text: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "text": self.text, "evidence": self.evidence}


#: log lines that mean the app is broken under this server, whatever the clients saw
LOG_BREAKS = (
    ("attached to a different loop", "a future or task was used on another event loop"),
    ("bound to a different event loop", "a loop-bound object was used on another event loop"),
    ("Task was destroyed but it is pending", "a task was destroyed while still pending: "
     "its work was lost"),
)
#: log lines worth a caveat
LOG_CAVEATS = (
    ("Traceback (most recent call last)", "the server logged a traceback"),
    ("ResourceWarning", "an unclosed resource (ResourceWarning)"),
    ("nclosed ", "an unclosed resource"),
    ("Exception ignored in", "an exception was ignored (\"Exception ignored in\")"),
)


def last_error_line(log: str) -> str:
    """The last line of a log that names an exception, if any."""
    lines = [line.strip() for line in log.splitlines()
             if re.search(r"\w+(Error|Exception)\b", line)]
    return lines[-1][:300] if lines else ""


def log_findings(log: str) -> list[Finding]:
    out: list[Finding] = []
    lines = log.splitlines()
    for needle, what in (*LOG_BREAKS, *LOG_CAVEATS):
        hits = [line.strip() for line in lines if needle in line]
        if not hits:
            continue
        level: Level = "breaks" if (needle, what) in LOG_BREAKS else "caveat"
        detail = hits[-1] if needle != "Traceback (most recent call last)" \
            else last_error_line(log)
        out.append(Finding(level, f"{what} ({len(hits)}x in the server's log"
                           + (f"; the last: {detail[:200]}" if detail else "") + ")",
                           {"lines": hits[-3:]}))
    return out
