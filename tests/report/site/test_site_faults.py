"""A site build that fails part-way leaves the old site as it was, and no temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from asgi_matrix.report import site as _site
from asgi_matrix.report.site import writer as _writer
from asgi_matrix.results import document as _results
from helpers.site_docs import FRESH, Document


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _built(tmp_path: Path, document: Document) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "site"
    _site.build(document, out, FRESH)
    (out / "CNAME").write_text("example.org\n")
    return out, _snapshot(out)


def test_a_write_failing_part_way_keeps_the_old_site(tmp_path: Path, document: Document,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out, before = _built(tmp_path, document)
    written = []
    real = _writer._write

    def failing(path: Path, data: bytes) -> None:
        if len(written) == 5:  # some files are written, then the disk is full
            raise OSError(28, os.strerror(28))
        written.append(path)
        real(path, data)

    monkeypatch.setattr(_writer, "_write", failing)
    del document["configurations"]["daphne"]
    with pytest.raises(_results.ResultsError, match="No space left on device"):
        _site.build(document, out, FRESH)
    assert len(written) == 5
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no temporary folder left


def test_text_that_cannot_be_encoded_keeps_the_old_site(tmp_path: Path,
                                                         document: Document) -> None:
    out, before = _built(tmp_path, document)
    config = next(iter(document["configurations"].values()))
    config["log_tail"] = "a lone surrogate \udc80 in a log tail"
    with pytest.raises(_results.ResultsError, match="cannot write the site"):
        _site.build(document, out, FRESH)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_the_second_rename_failing_puts_the_old_site_back(
        tmp_path: Path, document: Document, monkeypatch: pytest.MonkeyPatch) -> None:
    out, before = _built(tmp_path, document)
    real = os.rename
    calls = []

    def rename(src: str | Path, dst: str | Path) -> None:
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:
            raise OSError(5, os.strerror(5))
        real(src, dst)

    monkeypatch.setattr(_writer.os, "rename", rename)
    with pytest.raises(_results.ResultsError, match="Input/output error"):
        _site.build(document, out, FRESH)
    assert len(calls) == 3  # old site moved aside, new one refused, old one moved back
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_new_site_in_a_missing_folder_and_a_rebuild_keep_users_files(
        tmp_path: Path, document: Document) -> None:
    out, _ = _built(tmp_path, document)
    (out / "extra").mkdir()
    (out / "extra" / "note.txt").write_text("mine")
    _site.build(document, out, FRESH)
    assert (out / "CNAME").read_text() == "example.org\n"
    assert (out / "extra" / "note.txt").read_text() == "mine"
    assert oct(out.stat().st_mode & 0o777) == oct(0o755)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]
