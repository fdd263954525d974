"""The one way asgi-matrix writes a file: atomically.

The data goes to a temporary file in the same folder, is flushed to disk (fsync), and
replaces the target in one rename; readers see the old file or the new one, never half
of one. On any error (a full disk, an interruption) the temporary file is removed and
the old file is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: prefix and suffix of the temporary files (a SIGKILL can leave one; see stale_temps)
TEMP_SUFFIX = ".tmp"


def write_atomic(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one rename, after the data is on disk."""
    payload = data.encode() if isinstance(data, str) else data  # may fail: before any file
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, mode)  # mkstemp makes it private
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; some file systems cannot, which is no error."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def stale_temps(path: Path) -> list[Path]:
    """Temporary files that writes of ``path`` left behind (only a SIGKILL does)."""
    return sorted(path.parent.glob(f".{path.name}.*{TEMP_SUFFIX}"))
