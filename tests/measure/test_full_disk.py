"""A full disk for the output folder (a small tmpfs): the run stops with one line, its
servers stopped, and the last complete results stay whole; a site build that runs out
of space leaves the old site as it was. Needs root to mount (skipped otherwise)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cli, no_processes_tagged

pytestmark = [pytest.mark.servers, pytest.mark.timeout(660)]  # two 300 s runs at most

SAMPLE = Path(__file__).parents[1] / "data" / "results-sample.json"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    # room for the recorded run and a site made from it, whatever its size; then filled
    size_k = 3 * SAMPLE.stat().st_size // 1024 + 2048
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_k}k", "tmpfs", str(mount)],
                   check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path, leave: int) -> None:
    """Take all free space of the file system but ``leave`` bytes."""
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    with open(folder / "filler", "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))


def test_a_full_disk_stops_the_run_and_keeps_the_last_complete_results(small_disk: Path) -> None:
    out = small_disk / "out"
    out.mkdir()
    before = SAMPLE.read_bytes()
    (out / "results.json").write_bytes(before)
    fill(small_disk, leave=16 * 1024)  # room to start, not for a document
    tag = f"disk-{uuid.uuid4().hex[:8]}"
    done = cli("run", "control-nolifespan", "control-multiloop", "--jobs", "1",
                       "--out", str(out), env={"ASGI_MATRIX_RUN": tag})
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"asgi-matrix: cannot write results to {out}/results.partial.json: "
                           "No space left on device; the run was stopped"), last
    assert "Traceback" not in done.stderr
    assert (out / "results.json").read_bytes() == before  # the last complete run, whole
    assert sorted(p.name for p in out.iterdir()) == ["results.json"]  # no temporary file
    assert no_processes_tagged(tag) == []  # a killed process is gone a moment later


def test_a_site_build_on_a_full_disk_keeps_the_old_site(small_disk: Path, tmp_path: Path) -> None:
    document = json.loads(SAMPLE.read_text())
    document["configurations"] = dict(list(document["configurations"].items())[:2])
    doc = tmp_path / "results.json"
    doc.write_text(json.dumps(document))
    site = small_disk / "site"
    first = cli("site", str(doc), "--out", str(site))
    assert first.returncode == 0, first.stderr
    before = {str(p.relative_to(site)): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    fill(small_disk, leave=64 * 1024)  # not enough for a second copy of the site
    again = cli("site", str(doc), "--out", str(site))
    assert again.returncode == 1
    assert again.stderr == (f"asgi-matrix: cannot write the site to {site}: "
                            "No space left on device\n")
    after = {str(p.relative_to(site)): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "site"]
    shutil.rmtree(site)
