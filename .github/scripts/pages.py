"""The published site's run history: fetch what is published, assemble the next site.

GitHub Pages deployed from an artifact replaces the whole site, so each publish
rebuilds it: the new run, plus the kept older runs fetched back from the live site.
Only the newest run has a dashboard; an older run keeps its data (gzipped) and a page
with what changed since the run before it, so 30 runs of the full matrix stay far
under Pages' 1 GB (tests/test_pages_size.py). Any run's dashboard is one command away:
``asgi-matrix site results.json --out site``.

    pages.py fetch URL DEST KEEP
        Download runs/index.json and each kept run's results.json.gz (or, from an older
        layout, results.json) and index.html from the site at URL into DEST/runs/<id>/
        (results.json unpacked). No site yet (404) is a first publish; any other failure
        stops the publish, which would otherwise drop the history.
        Writes previous=<path of the newest published results> to $GITHUB_OUTPUT.

    pages.py errors RESULTS MAX
        Names the error cells of RESULTS (configuration, property or pattern, why) in
        $GITHUB_STEP_SUMMARY; exits 1 when there are more than MAX (a count, or a share
        of all its cells: "5%"): a shard that could not measure is not published.

    pages.py assemble MERGED PUBLISHED OUT KEEP [BASE_URL]
        OUT/                 the dashboard of the newest run (asgi-matrix site)
        OUT/runs/<id>/       each kept run: results.json.gz and index.html (the run, what
                             changed since the run before it, how to see its dashboard)
        OUT/latest/          the newest run's results.json, and a page leading to OUT/
        OUT/runs/index.json  the kept run ids, newest first
        Runs beyond the newest KEEP are pruned by not being carried over.
        A merged run with more error cells than the newest published one is not
        published over it (exit 1, the cells named in $GITHUB_STEP_SUMMARY).
"""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # a path component, nothing more


def _get(url: str) -> bytes | None:
    """The body at ``url``, or None when it does not exist."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        sys.exit(f"pages: {url}: HTTP {err.code}; not publishing, the run history would be lost")
    except (urllib.error.URLError, TimeoutError) as err:
        sys.exit(f"pages: {url}: {err}; not publishing, the run history would be lost")


def _ids(raw: object) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(i, str) and _RUN_ID.match(i)
                                            for i in raw):
        sys.exit("pages: runs/index.json is not a list of run ids")
    return list(raw)


def fetch(url: str, dest: Path, keep: int) -> None:
    base = url.rstrip("/")
    index = _get(f"{base}/runs/index.json")
    if index is None:
        print(f"pages: nothing published at {base} yet")
        return
    fetched: list[str] = []
    for run_id in _ids(json.loads(index))[:keep]:
        packed = _get(f"{base}/runs/{run_id}/results.json.gz")
        body = gzip.decompress(packed) if packed is not None else _get(
            f"{base}/runs/{run_id}/results.json")
        if body is None:
            print(f"pages: run {run_id} is listed but has no results; dropped")
            continue
        folder = dest / "runs" / run_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_bytes(body)
        if (page := _get(f"{base}/runs/{run_id}/index.html")) is not None:
            (folder / "index.html").write_bytes(page)
        fetched.append(run_id)
    (dest / "runs").mkdir(parents=True, exist_ok=True)
    (dest / "runs" / "index.json").write_text(json.dumps(fetched) + "\n")
    print(f"pages: fetched {len(fetched)} published run(s)")
    if fetched and (output := os.environ.get("GITHUB_OUTPUT")):
        with open(output, "a") as handle:
            handle.write(f"previous={dest / 'runs' / fetched[0] / 'results.json'}\n")


def error_cells(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(configuration, property or ``pattern:ID``, explanation) of every error cell."""
    found = []
    for config_id, config in (document.get("configurations") or {}).items():
        for name, verdict in (config.get("verdicts") or {}).items():
            if verdict.get("status") == "error":
                found.append((config_id, name, str(verdict.get("explanation", ""))))
        for name, cell in (config.get("patterns") or {}).items():
            if cell.get("status") == "error":
                found.append((config_id, f"pattern:{name}", str(cell.get("explanation", ""))))
    return found


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#!~])")
SUMMARY_ROWS = 100  #: error cells listed in a step summary (the rest are counted)


def _md(text: str, limit: int = 200) -> str:
    """One table cell of text a server may have written: one line, Markdown escaped."""
    line = " ".join(text.split())
    line = line if len(line) <= limit else line[:limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", line)


def _summary(text: str) -> None:
    if path := os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(path, "a") as handle:
            handle.write(text)
    print(text, end="")


def _error_table(cells: list[tuple[str, str, str]]) -> str:
    rows = ["| configuration | cell | why |", "| --- | --- | --- |"]
    rows += [f"| {_md(c)} | {_md(p)} | {_md(why)} |" for c, p, why in cells[:SUMMARY_ROWS]]
    more = len(cells) - SUMMARY_ROWS
    return "\n".join(rows) + "\n" + (f"\n... and {more} more\n" if more > 0 else "")


def all_cells(document: dict[str, Any]) -> int:
    """How many verdict and pattern cells the document has."""
    return sum(len(c.get("verdicts") or {}) + len(c.get("patterns") or {})
               for c in (document.get("configurations") or {}).values())


def _bound(text: str, total: int) -> int:
    """MAX as a count ("10") or a share of every cell ("5%")."""
    if re.fullmatch(r"\d+(\.\d+)?%", text):
        return int(total * float(text[:-1]) / 100)
    if text.isdigit():
        return int(text)
    sys.exit(f"pages: the bound must be a count (10) or a share of the cells (5%), not {text!r}")


def errors(results: Path, limit: str) -> None:
    document = json.loads(results.read_text())
    cells = error_cells(document)
    bound = _bound(limit, all_cells(document))
    if not cells:
        _summary(f"No error cells in {results.name}.\n")
        return
    over = len(cells) > bound
    _summary(f"### {len(cells)} error cell(s) in {results}"
             + (f": more than {bound}, not published\n\n" if over
                else f" (at most {bound} allowed)\n\n") + _error_table(cells))
    if over:
        sys.exit(f"pages: {results}: {len(cells)} error cells, more than {bound}: the harness "
                 "could not measure them; not publishing")


def _not_over_a_better_run(merged: Path, published: Path) -> None:
    """Stop when the merged run has more error cells than the newest published run."""
    new = error_cells(json.loads(merged.read_text()))
    index = published / "runs" / "index.json"
    ids = _ids(json.loads(index.read_text())) if index.exists() else []
    if not new or not ids:
        return
    last = published / "runs" / ids[0] / "results.json"
    old = error_cells(json.loads(last.read_text()))
    if len(new) > len(old):
        _summary(f"### Not published: {len(new)} error cell(s), the published run {ids[0]} "
                 f"has {len(old)}\n\n" + _error_table(new))
        sys.exit(f"pages: {merged} has {len(new)} error cells, the published run {ids[0]} "
                 f"{len(old)}: not publishing over it")


def _site(results: Path, out: Path, base_url: str | None) -> bool:
    where = ["--base-url", base_url] if base_url else []
    done = subprocess.run(["asgi-matrix", "site", str(results), "--out", str(out), *where],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        print(f"pages: no dashboard for {results}: {done.stderr.strip()}")
    return done.returncode == 0


def _changes(old: Path | None, new: Path) -> str:
    """What changed from ``old`` to ``new`` (``asgi-matrix diff``), as text."""
    if old is None:
        return "The first run kept: nothing to compare with."
    done = subprocess.run(["asgi-matrix", "diff", str(old), str(new)], capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        return f"Could not be compared with the run before it (exit {done.returncode})."
    return done.stdout


_NEWEST_LEAD = '<p>This is the newest run: <a href="../../index.html">its dashboard</a>.</p>'
_OLDER_LEAD = ('<p>An older run: its data and what changed; <a href="../../index.html">the '
               "newest run's dashboard</a>. To see this one's: <code>gunzip results.json.gz "
               "&amp;&amp; asgi-matrix site results.json --out site</code>.</p>")


def _run_page(results: Path, previous: tuple[str, Path] | None, newest: bool) -> str:
    """An older run's page: the run, what changed since the one before, its data."""
    run = json.loads(results.read_text()).get("run") or {}
    run_id = html.escape(str(run.get("id", "")))
    configs = len(run.get("selected") or [])
    since = f" since run {html.escape(previous[0])}" if previous else ""
    lead = _NEWEST_LEAD if newest else _OLDER_LEAD
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width\">"
            f"<title>asgi-matrix run {run_id}</title></head><body>\n"
            f"<h1>asgi-matrix run {run_id}</h1>\n"
            f"<p>Started {html.escape(str(run.get('started', '')))}, backend "
            f"{html.escape(str(run.get('backend', '')))}, {configs} configuration(s). "
            '<a href="results.json.gz">results.json.gz</a></p>\n'
            f"{lead}\n<h2>Changes{since}</h2>\n"
            f"<pre>{html.escape(_changes(previous[1] if previous else None, results))}</pre>\n"
            '<p><a href="../index.json">Every kept run</a></p>\n</body></html>\n')


def _add_run(results: Path, out: Path, run_id: str, page: str) -> None:
    target = out / "runs" / run_id
    target.mkdir(parents=True, exist_ok=True)
    with open(results, "rb") as raw, gzip.open(target / "results.json.gz", "wb") as packed:
        shutil.copyfileobj(raw, packed)
    (target / "index.html").write_text(page)


def assemble(merged: Path, published: Path, out: Path, keep: int,
             base_url: str | None = None) -> None:
    base_url = base_url.rstrip("/") if base_url else None
    run_id = json.loads(merged.read_text())["run"]["id"]
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        sys.exit(f"pages: {merged}: run id {run_id!r} cannot name a folder")
    _not_over_a_better_run(merged, published)
    if not _site(merged, out, base_url):
        sys.exit("pages: the new run's dashboard could not be built")
    index = published / "runs" / "index.json"
    older = [i for i in (_ids(json.loads(index.read_text())) if index.exists() else [])
             if i != run_id][:max(0, keep - 1)]  # older runs are pruned by not being carried
    before = (older[0], published / "runs" / older[0] / "results.json") if older else None
    _add_run(merged, out, run_id, _run_page(merged, before, newest=True))
    for n, old_id in enumerate(older):
        folder = published / "runs" / old_id
        prior = older[n + 1] if n + 1 < len(older) else None
        page = folder / "index.html"
        # The page made when the run was new is kept: it says what changed since the run
        # before it, which may be pruned by now. Only the newest's wording changes.
        text = (page.read_text().replace(_NEWEST_LEAD, _OLDER_LEAD)
                if page.is_file() else
                _run_page(folder / "results.json",
                          (prior, published / "runs" / prior / "results.json") if prior else None,
                          newest=False))
        _add_run(folder / "results.json", out, old_id, text)
    latest = out / "latest"
    latest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(merged, latest / "results.json")
    (latest / "index.html").write_text(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="0; url=../index.html">'
        "<title>asgi-matrix: the newest run</title></head><body>"
        '<p><a href="../index.html">The newest run</a>; its data: '
        '<a href="results.json">results.json</a>.</p></body></html>\n')
    kept = [run_id, *older]
    (out / "runs" / "index.json").write_text(json.dumps(kept) + "\n")
    print(f"pages: {len(kept)} run(s) kept, newest {run_id}")


def main(argv: list[str]) -> None:
    match argv:
        case ["fetch", url, dest, keep]:
            fetch(url, Path(dest), int(keep))
        case ["errors", results, bound]:
            errors(Path(results), bound)
        case ["assemble", merged, published, out, keep, *base_url] if len(base_url) < 2:
            assemble(Path(merged), Path(published), Path(out), int(keep), *base_url)
        case _:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
