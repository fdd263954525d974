"""What several test modules share: the command line as a user runs it, and more.

Test modules import from here (or from the recorded documents' modules beside it),
never from one another.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m asgi_matrix ARGS`` in a child process: exit code, stdout, stderr."""
    return subprocess.run([sys.executable, "-m", "asgi_matrix", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env={**os.environ, **(env or {})})


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The one ``asgi-matrix: ...`` line a failing command printed (no traceback)."""
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr, done.stderr
    assert lines, done
    assert lines[-1].startswith("asgi-matrix: "), done.stderr
    return lines[-1]
