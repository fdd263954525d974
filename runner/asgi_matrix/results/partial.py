"""The results files of a run in progress: results.partial.json, rewritten after each
configuration, replaces results.json (the last complete run) only when the run finishes.

A partial document left by a run that did not finish is kept aside before a new run
starts. A write that fails (a full disk) is remembered, so the run can stop: both
documents then stay as they were last written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from asgi_matrix.exceptions import Interrupted, ResultsError
from asgi_matrix.results import document as _results


class PartialResults:
    """The two results files of one run in ``out_dir``."""

    def __init__(self, out_dir: Path) -> None:
        _results.check_writable(out_dir)
        self.out_dir = out_dir
        self.path = out_dir / _results.RESULTS_NAME  #: the last complete run
        self.partial = out_dir / _results.PARTIAL_NAME  #: this run, so far
        self.failed: OSError | None = None  #: the first write that failed
        self._cells: _results.CellTexts = {}  #: cells encoded by earlier writes

    def keep_unfinished(self) -> str:
        """Keep the partial document of a run before this one that did not finish; what
        was done, for the progress lines ("" when there was none)."""
        if not self.partial.exists():
            return ""
        kept = self.out_dir / _results.PREVIOUS_PARTIAL_NAME
        try:
            os.replace(self.partial, kept)
        except OSError as err:
            raise ResultsError(f"cannot keep {self.partial} of an unfinished run: "
                               f"{err.strerror or err}") from err
        return f"the partial document of a run that did not finish is kept as {kept}"

    def write(self, document: dict[str, Any]) -> OSError | None:
        """Rewrite the partial document; the error the first time a write fails."""
        try:
            _results.write_atomic(self.partial, document, self._cells)
        except OSError as err:
            if self.failed is None:
                self.failed = err
                return err
        return None

    def finish(self, document: dict[str, Any], complete: bool) -> Path:
        """The last write: validated, and in place of results.json if ``complete``;
        raises Interrupted (what was kept, where) if not."""
        path, partial = self.path, self.partial
        if self.failed is not None:
            raise ResultsError(f"cannot write results to {partial}: "
                               f"{self.failed.strerror or self.failed}; the run was stopped"
                               + (f", {path} is as before" if path.exists() else ""))
        _results.validate(document, str(partial))
        try:
            _results.write_atomic(partial, document)
            if complete:
                os.replace(partial, path)  # it becomes the last complete run
        except OSError as err:
            raise ResultsError(f"cannot write results to {self.out_dir}: "
                               f"{err.strerror or err}"
                               + (f"; {path} is as before" if path.exists() else "")) from err
        if not complete:
            run = document["run"]
            raise Interrupted(f"interrupted: {len(document['configurations'])} "
                              f"configuration(s) kept in {partial}"
                              + (f" ({path} still holds the last complete run)"
                                 if path.exists() else "")
                              + "; not run: "
                              + (", ".join(n["id"] for n in run["not_run"]) or "none"))
        return path
