"""Results documents for the dashboard tests: the recorded run, and variants of a copy."""

from __future__ import annotations

import copy
import html
import re
from datetime import UTC, datetime, timedelta

from asgi_matrix.report import site as _site

from helpers.results_docs import SAMPLE, Document, sample

#: the recorded run finished at this time (read from it: a re-record moves it)
FINISHED = datetime.fromisoformat(sample()["run"]["finished"]).astimezone(UTC)
#: a "now" one day after the run: the data is fresh
FRESH = _site.Options(now=FINISHED + timedelta(days=1))

__all__ = ["FINISHED", "FRESH", "SAMPLE", "Document", "sample", "section", "text"]


def text(fragment: str) -> str:
    """Visible text: tags that start a block (small, cells) become spaces."""
    spaced = re.sub(r"<(small|td|th|li)\b[^>]*>", " ", fragment)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", spaced))).strip()


def section(page: str, ident: str) -> str:
    """A page's part from its <h2 id=ident> to the next <h2>."""
    start = page.index(f'<h2 id="{ident}"')
    end = page.find("<h2", start + 1)
    return page[start:end if end > 0 else len(page)]


def with_error_and_unsupported(document: Document) -> Document:
    """granian gets an error cell and an unsupported cell; hypercorn-trio could not run."""
    verdicts = document["configurations"]["granian"]["verdicts"]
    verdicts["lifespan.per-loop"] = {
        "status": "error", "explanation": "the 'main' scenario was not run", "evidence": {}}
    verdicts["state.shallow-copy"] = {
        "status": "unsupported", "explanation": "the server never offered scope['state']",
        "evidence": {}}
    trio = document["configurations"]["hypercorn-trio"]
    trio.update(status="error", reason="environment failed: no wheel for trio on this Python")
    return document


def with_control(document: Document) -> Document:
    """A reference server that does everything right: a copy of granian, kind "control"."""
    control = copy.deepcopy(document["configurations"]["granian"])
    control.update(id="control-multiloop", server="control", kind="control", versions={})
    for verdict in control["verdicts"].values():
        verdict["status"] = "pass"
    document["configurations"]["control-multiloop"] = control
    harness = copy.deepcopy(document["configurations"]["uvicorn"])
    harness.update(id="starlette-testclient", server="starlette-testclient", kind="harness",
                   command=[])
    document["configurations"]["starlette-testclient"] = harness
    return document


def with_breakage(document: Document) -> Document:
    """granian-mt2 runs two loops in its process and fails lifespan.per-loop (only there)."""
    config = document["configurations"]["granian-mt2"]
    config["verdicts"]["lifespan.per-loop"]["status"] = "fail"
    config["verdicts"]["lifespan.per-loop"]["explanation"] = "loop B served without a lifespan"
    config["facts"]["loops"] = 2
    return document


#: what issue #23's server-caused status reads like: the app works, the server fell short
CAVEAT = ("every request succeeded, but the server never delivered lifespan.shutdown at "
          "SIGTERM (shutdown.delivered.sigterm-main fails): the pool was never closed")


def with_caveat(document: Document) -> Document:
    """The recorded run with one server-caused caveat: FastAPI's app.state on hypercorn's
    default configuration works, but the server never sent lifespan.shutdown. The run's
    own pattern-owned breaks (contextvar-resource: a contextvar never set in requests)
    stay as recorded."""
    cell = document["configurations"]["hypercorn"]["patterns"]["fastapi-app-state"]
    cell.update(status="caveat", explanation=CAVEAT)
    return document
