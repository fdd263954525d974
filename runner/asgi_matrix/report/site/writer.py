"""Writing a rendered site to disk, and previewing it.

    write(files, out_dir)          into a temporary folder beside out_dir, swapped in
    make_server(directory, port)   a static file server on 127.0.0.1; url_of(server)
    transferred_size(page)         bytes over the wire with gzip

A folder is only ever replaced when it is empty, missing, or a site built here before
(it holds MARKER); files a user added to it (a CNAME, say) are carried over.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from asgi_matrix.exceptions import ResultsError
from asgi_matrix.resources import DASHBOARD_DIR

MARKER = ".asgi-matrix-site"
#: what write() owns inside an existing site folder (and replaces on a rebuild)
OWNED = ("index.html", "about.html", "compare.html", "fails-only.html", "patterns.html",
         "outliers.html",
         "patterns", "cells", "configs",
         "compare", "badges", "data", "static", "history", ".nojekyll", MARKER)


def write(files: dict[str, str], out_dir: Path) -> int:
    """Write the rendered site into ``out_dir``; returns the number of files written.

    The site is written into a temporary folder beside ``out_dir`` and swapped in by
    renames at the end, so a failure while writing (a full disk, an unencodable string)
    leaves the old site as it was and the temporary folder removed.
    """
    out_dir = out_dir.resolve()  # its parent holds the temporary folder, even for "."
    _check_target(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    except OSError as err:
        raise ResultsError(f"cannot write the site to {out_dir}: {err.strerror or err}") from err
    try:
        for folder in sorted({(staging / relative).parent for relative in files}):
            folder.mkdir(parents=True, exist_ok=True)
        for relative, text in files.items():
            _write(staging / relative, text.encode())
        shutil.copytree(DASHBOARD_DIR / "static", staging / "static")
        _keep_users_files(out_dir, staging)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a site is for publishing
        _swap(staging, out_dir)
    except OSError as err:
        raise ResultsError(f"cannot write the site to {out_dir}: {err.strerror or err}") from err
    except UnicodeEncodeError as err:
        raise ResultsError(f"cannot write the site to {out_dir}: text that cannot be "
                           f"encoded ({err.reason})") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(files) + sum(1 for _ in (DASHBOARD_DIR / "static").iterdir())


def _write(path: Path, data: bytes) -> None:
    """One small file with three system calls: a big site is thousands of them (the
    whole folder is swapped in at the end, so files need no renames of their own)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _check_target(out_dir: Path) -> None:
    """An empty or missing folder, or a site we built before, never others."""
    try:
        if out_dir.exists():
            if not out_dir.is_dir():
                raise ResultsError(f"{out_dir}: exists and is not a folder")
            if any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
                raise ResultsError(f"{out_dir}: not empty and not an asgi-matrix site; "
                                   "choose an empty or new folder")
    except OSError as err:
        raise ResultsError(f"cannot write the site to {out_dir}: {err.strerror or err}") from err


def _keep_users_files(out_dir: Path, staging: Path) -> None:
    """Copy what the user added to the old site (a CNAME, say) into the new one."""
    if not out_dir.is_dir():
        return
    for entry in out_dir.iterdir():
        if entry.name in OWNED:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, staging / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, staging / entry.name, follow_symlinks=False)


def _swap(staging: Path, out_dir: Path) -> None:
    """Put the new site in place of the old: two renames, the old one restored if the
    second fails, so ``out_dir`` is the old site or the new one, never a mix."""
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.rmdir(old)  # only its unique name is wanted
    os.rename(out_dir, old)
    try:
        os.rename(staging, out_dir)
    except OSError:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def transferred_size(page: str) -> int:
    """Bytes of a page over the wire with gzip, as GitHub Pages serves it."""
    return len(gzip.compress(page.encode(), compresslevel=6))


# -- preview ---------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(directory: Path, port: int = 0) -> http.server.ThreadingHTTPServer:
    """A static file server for ``directory`` on 127.0.0.1 (port 0: any free port)."""
    if not (directory / "index.html").is_file():
        raise ResultsError(f"{directory}: no site here (build one with: asgi-matrix site "
                           "RESULTS --out DIR)")
    handler = functools.partial(_QuietHandler, directory=str(directory))
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as err:
        raise ResultsError(f"cannot listen on 127.0.0.1:{port}: {err.strerror or err}") from err


def url_of(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/"
