"""The command line: ``asgi-matrix run | list | show | site | serve | merge | diff |
compose | images``.

Every problem a user can fix is one line on stderr and a non-zero exit, never a
traceback. A server failing a property is a finding: ``run`` still exits 0.

Long because it is the whole command line: each command is a short function over the
stages' own functions, and most of the lines are its options' help texts, which read
best next to the command they document.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from asgi_matrix.catalogue.load import Catalogue
from asgi_matrix.exceptions import AsgiMatrixError, CatalogueError, Interrupted, UnknownConfig
from asgi_matrix.files import write_atomic
from asgi_matrix.measure.backends.protocol import BACKENDS
from asgi_matrix.measure.drive.scenarios import LIMITS
from asgi_matrix.resources import VERSION

EX_INTERRUPTED = 130


def _say(line: str) -> None:
    click.echo(line, err=True)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"asgi-matrix: {message}", err=True)
    sys.exit(code)


def _read(path: Path) -> tuple[dict[str, Any], str]:
    """A results document, and a line saying which file it is and how its run ended
    (said on stderr once the command succeeded: a failure stays one line)."""
    from asgi_matrix.results import document as _results

    try:
        found, note = _results.locate(path)
        document = _results.load(found)
    except AsgiMatrixError as err:
        _fail(str(err))
    return document, f"{note}: run {document['run']['id']}, {_results.state(document)}"


def _catalogue(paths: tuple[Path, ...]) -> Catalogue:
    try:
        return Catalogue.load(paths)
    except CatalogueError as err:
        raise click.UsageError(str(err)) from None


class ShardParam(click.ParamType):
    """``I/N``: the I-th of N slices, 1-based."""

    name = "I/N"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[int, int]:
        if isinstance(value, tuple):
            return value
        index, _, total = str(value).partition("/")
        try:
            i, n = int(index), int(total)
        except ValueError:
            self.fail(f"{value!r} is not I/N (for example 2/3)", param, ctx)
        if not 1 <= i <= n:
            self.fail(f"{value!r}: I must be between 1 and N", param, ctx)
        return i, n


class JobsParam(click.ParamType):
    """A number of configurations at once (1-64), or ``auto``: as many as the CPU has
    room for now (measure/schedule.py)."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int | str:
        if isinstance(value, int) or value == "auto":
            return value
        try:
            number = int(value)
        except ValueError:
            self.fail(f"{value!r} is neither a number nor 'auto'", param, ctx)
        if not 1 <= number <= 64:
            self.fail(f"{value!r} is not in the range 1<=x<=64", param, ctx)
        return number


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="asgi-matrix")
def cli() -> None:
    """How each real ASGI server runs your app, measured with evidence."""


def _patterns(ids: tuple[str, ...], none: bool) -> list[Any]:
    from asgi_matrix.catalogue import pattern_catalogue as _pattern_catalogue

    # several values in one option, like --config: -p a,b or -p "a b", or -p a -p b
    ids = tuple(part for value in ids for part in value.replace(",", " ").split())
    try:
        every = _pattern_catalogue.load()
        return [] if none else _pattern_catalogue.select(every, list(ids))
    except CatalogueError as err:
        raise click.UsageError(str(err)) from None
    except UnknownConfig as err:
        raise click.BadParameter(str(err), param_hint="--pattern") from None


@cli.command("list")
@click.option("--catalogue", "catalogues", multiple=True, type=click.Path(path_type=Path),
              help="An extra catalogue file (TOML) to load after the built-in one.")
@click.option("--patterns", "patterns", is_flag=True,
              help="List the app patterns and framework apps instead (* marks the default).")
def list_(catalogues: tuple[Path, ...], patterns: bool) -> None:
    """The configurations in the catalogue (* marks the default matrix, @ a release set)."""
    if patterns:
        from asgi_matrix.catalogue import pattern_catalogue as _pattern_catalogue

        try:
            every = _pattern_catalogue.load()
        except CatalogueError as err:
            raise click.UsageError(str(err)) from None
        for pattern in every:
            mark = "*" if pattern.default else " "
            click.echo(f"{mark} {pattern.id:24} {pattern.kind:10} {pattern.title}")
        return
    rows = [_list_row(config) for config in _catalogue(catalogues).configs]
    header = ("", "id", "server", "kind", "loop", "workers", "threads", "python", "version")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(f"{cell!s:{widths[i]}}" for i, cell in enumerate(row)).rstrip())
    click.echo("\n* the default matrix, @ a release set (runs with --history or by id). "
               "python: the interpreter a local run uses; version: the server's version in "
               "the environment a run reuses, or the newest release, installed at the run.")


def _list_row(config: Any) -> tuple[str, ...]:
    """One line of ``list``: the configuration, the Python a local run would use and the
    version of its server it would run."""
    from asgi_matrix.exceptions import AsgiMatrixError

    if config.releases is not None:
        return ("@", config.id, config.server, config.kind, "", "", "", config.python or "",
                f"releases: {config.releases.describe()}")
    try:
        interpreter = _interpreter(config.python, config.free_threaded)
    except AsgiMatrixError:
        return ("*" if config.default else "", config.id, config.server, config.kind,
                config.loop, str(config.workers), str(config.threads),
                f"none here ({config.python})", "")
    python = _python_of(interpreter)
    version = _resolved_words(config) or "newest, resolved at the run"
    return ("*" if config.default else "", config.id, config.server, config.kind, config.loop,
            str(config.workers), str(config.threads), python, version)


@functools.cache
def _interpreter(spec: str, free_threaded: bool) -> str:
    """The interpreter a local run would use (found once per Python spec)."""
    from asgi_matrix.measure.backends.local import envs

    return envs.find_interpreter(spec, sys.executable, free_threaded)


@functools.cache
def _python_of(interpreter: str) -> str:
    import subprocess

    try:
        done = subprocess.run([interpreter, "-c",
                               "import platform; print(platform.python_version())"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return "?"
    return done.stdout.strip() or "?"


def _resolved_words(config: Any) -> str:
    """The version of its first requirement that the last run here resolved to (and
    measured), with the day: "" where none was resolved yet (or for another Python)."""
    from packaging.requirements import InvalidRequirement, Requirement

    from asgi_matrix.measure.backends.local import envs as _envs

    if config.python or not config.requires:
        return ""
    try:
        name = Requirement(config.requires[0]).name.lower()
    except InvalidRequirement:
        return ""
    found = _envs.resolved_versions(tuple(config.requires))
    if found is None or name not in found[0]:
        return ""
    day = time.strftime("%Y-%m-%d", time.gmtime(found[1]))
    return f"{name} {found[0][name]} (resolved {day})"


@cli.command()
@click.option("--config", "-c", "ids", multiple=True,
              help="Configuration id to run (repeatable; several may follow one --config).")
@click.option("--server", "-s", "servers", multiple=True, help="Run every configuration of "
              "this server (repeatable).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"),
              show_default=True, help="Folder for results.json.")
@click.option("--jobs", "-j", type=JobsParam(), default=2, show_default=True,
              help="Configurations measured at the same time; 'auto': as many as the "
              "CPU has room for (free cores by the load average, half a core each, 1-8).")
@click.option("--repeat", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Attempts per configuration; verdicts that differ become 'flaky'.")
@click.option("--backend", type=click.Choice(list(BACKENDS)), default=next(iter(BACKENDS)),
              show_default=True)
@click.option("--catalogue", "catalogues", multiple=True, type=click.Path(path_type=Path),
              help="An extra catalogue file (TOML) to load after the built-in one.")
@click.option("--strict", is_flag=True, help="Exit 1 when any cell is an error.")
@click.option("--site", "site_dir", type=click.Path(path_type=Path), default=None,
              help="Also build the dashboard into this folder once the run succeeded.")
@click.option("--ready-timeout", type=click.FloatRange(0.1, 600), default=LIMITS.ready_s,
              show_default=True, help="Seconds a server may take to answer its first request.")
@click.option("--stop-timeout", type=click.FloatRange(0.1, 600), default=LIMITS.stop_s,
              show_default=True, help="Seconds after SIGTERM before a server is killed.")
@click.option("--shard", type=ShardParam(), default=None,
              help="Run only slice I of N of the selection (I/N, 1-based), for CI fan-out.")
@click.option("--history", is_flag=True, help="Also measure the release sets (history "
              "entries): each server release they resolve to on the index, ID@VERSION.")
@click.option("--force", is_flag=True, help="Measure releases again even when the history "
              "cache has them for this probe suite.")
@click.option("--pattern", "-p", "pattern_ids", multiple=True, help="App pattern or "
              "framework app to measure on each configuration (repeatable, or several "
              "separated by commas: -p fastapi-app-state,django-asgi; default: every "
              "default one, see `asgi-matrix list --patterns`; releases of a release set "
              "measure the raw ones of the default, or exactly those named).")
@click.option("--no-patterns", is_flag=True, help="Measure the servers only.")
@click.option("--base-image", default="", metavar="IMAGE", help="docker backend: the image "
              "probe images are built on, '{python}' replaced by the Python (3.11); pulled "
              "when not here. Default: python:{python}-slim, or a Debian base made here "
              "(env: ASGI_MATRIX_BASE_IMAGE).")
@click.argument("more_ids", nargs=-1)
def run(ids: tuple[str, ...], servers: tuple[str, ...], out_dir: Path, jobs: int | str,
        repeat: int,
        backend: str, catalogues: tuple[Path, ...], strict: bool, ready_timeout: float,
        stop_timeout: float, shard: tuple[int, int] | None, history: bool, force: bool,
        site_dir: Path | None, pattern_ids: tuple[str, ...], no_patterns: bool,
        base_image: str, more_ids: tuple[str, ...]) -> None:
    """Start each configuration with the probe app, drive traffic, stop it, judge it.

    Release sets (see `asgi-matrix list`) run with --history, by their id (every
    release) or as ID@VERSION (one release); a release measured before by the same
    probe suite comes from the cache unless --force.

    \b
    Exit codes:
      0    the run finished (a server failing a property is a finding, not an error)
      1    --strict and a cell is an error, or the run could not be done (one line says why)
      2    a usage error: an unknown option, configuration or pattern
      130  interrupted (SIGINT/SIGTERM): what was measured is kept in results.partial.json
    """
    from asgi_matrix.catalogue import pattern_catalogue as _pattern_catalogue
    from asgi_matrix.catalogue.selection import select as select_releases
    from asgi_matrix.measure.backends.protocol import get_backend
    from asgi_matrix.measure.cell_cache import CellCache
    from asgi_matrix.measure.run import run_matrix
    from asgi_matrix.results.document import check_writable

    catalogue = _catalogue(catalogues)
    if base_image:
        from asgi_matrix.measure.backends.docker.bases import BASE_IMAGE_VARIABLE

        os.environ[BASE_IMAGE_VARIABLE] = base_image  # read where a base is chosen
    if pattern_ids and no_patterns:
        raise click.UsageError("--pattern and --no-patterns exclude each other")
    patterns = _patterns(pattern_ids, no_patterns)
    try:
        configs = select_releases(catalogue, [*ids, *more_ids], servers, history=history,
                                  progress=_say)
    except UnknownConfig as err:
        raise click.BadParameter(str(err), param_hint="--config/--server") from None
    except AsgiMatrixError as err:
        _fail(str(err))
    extra_run: dict[str, Any] = {}
    if shard is not None:
        index, total = shard
        extra_run["shard"] = {"index": index, "total": total,
                              "of": [c.id for c in configs]}
        configs = configs[index - 1::total]  # round-robin: deterministic and balanced
    if not configs:
        raise click.UsageError("no configuration selected")
    try:
        check_writable(out_dir)
    except AsgiMatrixError as err:
        raise click.BadParameter(str(err), param_hint="--out") from None
    how = ""
    if jobs == "auto":
        from asgi_matrix.measure import schedule as _schedule

        load = _schedule.load_now()
        jobs = _schedule.auto_jobs(load=load)
        how = (f" (auto: {os.cpu_count()} CPU(s), load {load:.1f}, "
               f"{_schedule.CPU_PER_JOB} core each)")
    assert isinstance(jobs, int)
    _say(f"asgi-matrix {VERSION}: {len(configs)} configuration(s), backend {backend}, "
         f"{jobs} at a time{how}" + (f", {len(patterns)} app pattern(s)" if patterns else ""))
    releases = [c for c in configs if c.release is not None]
    cache = CellCache(backend, repeat, force) if releases else None
    # releases measure the raw patterns (shared starts), frameworks only when named
    release_patterns = _pattern_catalogue.for_releases(patterns, named=bool(pattern_ids))
    if releases:
        _say(f"{len(releases)} release configuration(s)"
             + (f", {len(release_patterns)} app pattern(s) each" if release_patterns else "")
             + "; history cache " + ("ignored (--force)" if force else "on"))
    try:
        path, document = run_matrix(configs, get_backend(backend), out_dir, jobs=jobs,
                                    repeat=repeat, progress=_say, extra_run=extra_run,
                                    limits=replace(LIMITS, ready_s=ready_timeout,
                                                   stop_s=stop_timeout),
                                    cache=cache, patterns=patterns,
                                    release_patterns=release_patterns)
    except Interrupted as err:
        _fail(str(err), EX_INTERRUPTED)
    except AsgiMatrixError as err:
        _fail(str(err))
    errors = [c["id"] for c in document["configurations"].values() if c["status"] == "error"]
    if errors:
        _say(f"error cells (the harness could not measure): {', '.join(errors)}")
    click.echo(str(path))
    if site_dir is not None:
        from asgi_matrix.report import site as _site

        try:
            _site.build(document, site_dir, _site.Options())
        except AsgiMatrixError as err:
            _fail(str(err))
        click.echo(str(site_dir / "index.html"))
    if strict and errors:
        sys.exit(1)


@cli.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.argument("config_id", required=False)
@click.option("--colour/--no-colour", "--color/--no-color", "colour", default=None,
              help="Colour the statuses (default: when stdout is a terminal, NO_COLOR "
                   "is unset and TERM is not dumb).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True,
              help="text for a terminal; json or markdown: the answers (your app per "
                   "server, each server's headline answers) for other tools.")
def show(results: Path, config_id: str | None, colour: bool | None, fmt: str) -> None:
    """Your app first (per framework and pattern, which servers work), each server's
    answers, then a readable table of a results file (or one configuration's verdicts).
    Text from servers is printed with control characters escaped."""
    from asgi_matrix.report.show import (
        render_config,
        render_json,
        render_markdown,
        render_matrix,
        terminal,
    )

    document, note = _read(results)
    if fmt != "text":
        if config_id is not None:
            raise click.UsageError("--format json/markdown prints the whole run's answers; "
                                   "leave out CONFIG_ID")
        if fmt == "json":
            click.echo(render_json(document))
        else:
            click.echo(render_markdown(document), nl=False)
        _say(note)
        return
    colour, width = terminal(sys.stdout, colour)
    if config_id is None:
        click.echo(render_matrix(document, colour, width), color=colour)
        _say(note)
        return
    configs: dict[str, Any] = document["configurations"]
    if config_id not in configs:
        from asgi_matrix.report.words import one_line

        raise click.BadParameter(f"{config_id!r} is not in {results}; it has: "
                                 + one_line(", ".join(configs)), param_hint="CONFIG_ID")
    click.echo(render_config(document, config_id, colour), color=colour)
    _say(note)


@cli.command()
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path),
              help="The merged results file to write.")
@click.option("--allow-mixed", is_flag=True, help="Merge shards measured on different "
              "hosts, backends or repeat counts (recorded in the merged run as 'mixed').")
def merge(shards: tuple[Path, ...], out_file: Path, allow_mixed: bool) -> None:
    """Combine the results files of a sharded run into one results file."""
    from asgi_matrix.results import document as _results
    from asgi_matrix.results.merge import merge as merge_documents

    try:
        merged = merge_documents([(str(p), _results.load(p)) for p in shards], allow_mixed)
        _results.write_atomic(out_file, merged)
    except AsgiMatrixError as err:
        _fail(str(err))
    except OSError as err:
        _fail(f"cannot write {out_file}: {err.strerror or err}")
    _say(f"merged {len(shards)} file(s), {len(merged['configurations'])} configuration(s)")
    click.echo(str(out_file))


EX_DIFF_UNREADABLE = 2  # not 1: in CI, 1 must mean "regressed" and nothing else


@cli.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True)
@click.option("--fail-on-regression", is_flag=True,
              help="Exit 1 when any cell got worse (errors are not regressions), or when "
              "the new run is empty, interrupted, unfinished or lost configurations.")
def diff(old: Path, new: Path, fmt: str, fail_on_regression: bool) -> None:
    """What changed from results OLD to results NEW, cell by cell.

    Exits 0, or 1 with --fail-on-regression when a cell regressed or the new run
    cannot vouch for its cells (empty, interrupted, unfinished, configurations
    missing); 2 when a file cannot be read as results.
    """
    import json

    from asgi_matrix.results import document as _results
    from asgi_matrix.results.diff import diff as diff_documents
    from asgi_matrix.results.diff import render_markdown, render_text

    try:
        result = diff_documents(_results.load(old), _results.load(new))
    except AsgiMatrixError as err:
        _fail(str(err), EX_DIFF_UNREADABLE)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=1))
    else:
        click.echo(render_markdown(result) if fmt == "markdown" else render_text(result))
    if fail_on_regression and (result.regressions or result.incomplete):
        for reason in result.incomplete:
            _say(f"asgi-matrix: --fail-on-regression: {reason}")
        sys.exit(1)


@cli.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for the site (new, empty, or a site built here before).")
@click.option("--stale-after-days", type=click.IntRange(min=0), default=7, show_default=True,
              help="Show an 'old data' banner when the run is older than this.")
@click.option("--base-url", default="", help="Where the site will be published "
              "(https://...), for absolute badge URLs in the snippets.")
def site(results: Path, out_dir: Path, stale_after_days: int, base_url: str) -> None:
    """Build the static dashboard from a results file (open DIR/index.html, or host it)."""
    from asgi_matrix.report import site as _site

    if base_url and not base_url.startswith(("https://", "http://")):
        raise click.BadParameter("must start with https:// or http://", param_hint="--base-url")
    document, note = _read(results)
    try:
        count = _site.build(document, out_dir, _site.Options(stale_after_days, None, base_url))
    except AsgiMatrixError as err:
        _fail(str(err))
    _say(note)
    _say(f"{count} files written")
    click.echo(str(out_dir / "index.html"))


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free one).")
def serve(directory: Path, port: int) -> None:
    """Preview a built site on 127.0.0.1 until Ctrl-C."""
    from asgi_matrix.report import site as _site

    try:
        server = _site.make_server(directory, port)
    except AsgiMatrixError as err:
        _fail(str(err))
    click.echo(_site.url_of(server))
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


@cli.command()
@click.option("--out", "out_file", type=click.Path(path_type=Path),
              default=Path("docker-compose.yml"), show_default=True)
@click.option("--catalogue", "catalogues", multiple=True, type=click.Path(path_type=Path))
def compose(out_file: Path, catalogues: tuple[Path, ...]) -> None:
    """Write docker-compose.yml from the catalogue: a service per default configuration."""
    from asgi_matrix.measure.backends.docker import compose as _compose

    text = _compose.render(_catalogue(catalogues).select())
    try:
        write_atomic(out_file, text)
    except OSError as err:
        _fail(f"cannot write {out_file}: {err.strerror or err}")
    click.echo(str(out_file))


@cli.command()
@click.option("--config", "-c", "ids", multiple=True, help="Configuration id (repeatable).")
@click.option("--catalogue", "catalogues", multiple=True, type=click.Path(path_type=Path))
@click.option("--runner-wheels", type=click.Path(path_type=Path), default=None,
              help="Also download the wheels asgi-matrix itself needs into this folder, for "
              "an offline build of the compose file's matrix service.")
def images(ids: tuple[str, ...], catalogues: tuple[Path, ...],
           runner_wheels: Path | None) -> None:
    """Build (or reuse) the probe image of each configuration, on this machine."""
    from asgi_matrix.measure.backends.protocol import get_backend

    configs = _catalogue(catalogues).select(list(ids))
    try:
        if runner_wheels is not None:  # first: it needs no engine, and fails fast offline
            from asgi_matrix.measure.backends.docker.compose import runner_requirements
            from asgi_matrix.measure.backends.docker.images import DEFAULT_PYTHON
            from asgi_matrix.measure.backends.docker.wheelhouse import download_wheelhouse

            try:
                download_wheelhouse(runner_requirements(), DEFAULT_PYTHON, runner_wheels)
            except (AsgiMatrixError, OSError) as err:
                first = (str(err).strip().splitlines() or [type(err).__name__])[0]
                _fail(f"--runner-wheels {runner_wheels}: {first}")
            click.echo(f"runner wheels: {runner_wheels}")
        backend = get_backend("docker")
        for config in configs:
            try:
                prepared = backend.prepare(config)
            except AsgiMatrixError as err:
                _say(f"{config.id}: {err}")
                continue
            state = "built" if prepared.created else "reused"
            click.echo(f"{config.id}: {prepared.provenance['image']} ({state})")
    except AsgiMatrixError as err:
        _fail(str(err))


EX_CHECK_BREAKS = 1  #: check: some configuration breaks the app (for a user's CI)
EX_CHECK_INPUT = 2  #: check: the input cannot be used (one line says why)
EX_CHECK_NOTHING = 3  #: check: no configuration could be judged (not run here, or errors)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("app")
@click.option("--config", "-c", "ids", multiple=True, help="Configuration id (repeatable; "
              "default: each server's default configuration and the multi-loop ones).")
@click.option("--backend", type=click.Choice([b for b in BACKENDS if b != "auto"]),
              default=next(iter(BACKENDS)), show_default=True)
@click.option("--app-dir", type=click.Path(path_type=Path), default=Path("."),
              show_default=True, help="The folder APP is imported from.")
@click.option("--requirements", "-r", type=click.Path(path_type=Path), default=None,
              help="The app's requirements file, installed beside each server.")
@click.option("--venv", type=click.Path(path_type=Path), default=None,
              help="Reuse this virtualenv's packages (pinned) beside each server.")
@click.option("--current-venv", is_flag=True, help="Reuse the current virtualenv's packages.")
@click.option("--header", "-H", "header_texts", multiple=True,
              help="'Name: value' sent with every request (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True)
@click.option("--html", "html_file", type=click.Path(path_type=Path), default=None,
              help="Also write the answers as one HTML page in the dashboard's style.")
@click.option("--jobs", "-j", type=click.IntRange(1, 16), default=2, show_default=True)
@click.option("--ready-timeout", type=click.FloatRange(0.1, 600), default=LIMITS.ready_s,
              show_default=True)
@click.option("--stop-timeout", type=click.FloatRange(0.1, 600), default=LIMITS.stop_s,
              show_default=True)
@click.option("--colour/--no-colour", "--color/--no-color", "colour", default=None)
@click.pass_context
def check(ctx: click.Context, app: str, ids: tuple[str, ...], backend: str, app_dir: Path,
          requirements: Path | None, venv: Path | None, current_venv: bool,
          header_texts: tuple[str, ...], fmt: str,
          html_file: Path | None, jobs: int, ready_timeout: float, stop_timeout: float,
          colour: bool | None) -> None:
    """Run your own ASGI app (MODULE:ATTR), unchanged, under each server configuration.

    Name the traffic with --get PATH, --post PATH [@FILE|TEXT] (also --put, --patch,
    --delete; repeatable, in order; default GET /). Each request is sent on new
    connections, on one kept-alive connection and at once, then the first is held in
    flight while the server gets SIGTERM. The answer per configuration: works, works
    with caveats, or breaks, with the evidence. Exits 1 when any configuration breaks
    the app, 2 when the input cannot be used, 3 when no configuration could be judged.
    """
    from asgi_matrix.catalogue.for_check import select_for_check
    from asgi_matrix.exceptions import CheckInputError
    from asgi_matrix.measure import check_input as _input
    from asgi_matrix.measure import check_run as _check
    from asgi_matrix.measure.backends.protocol import get_backend
    from asgi_matrix.report import check_report as _report
    from asgi_matrix.report.show import terminal
    from asgi_matrix.report.words import one_line
    from asgi_matrix.verdicts.check_answer import WORDS, judge

    try:
        pairs = _request_options(list(ctx.args))
        plan, notes = _input.plan(app, app_dir, pairs, requirements, venv, current_venv,
                                  header_texts)
        configs = select_for_check(_catalogue(()), ids)
        if html_file is not None and html_file.is_dir():
            raise CheckInputError(f"--html {html_file}: a folder; name a file")
    except (CheckInputError, UnknownConfig) as err:
        _fail(str(err), EX_CHECK_INPUT)
    for note in notes:
        _say(f"asgi-matrix: {note}")
    _say(f"asgi-matrix check {plan.app}: {len(configs)} configuration(s), backend {backend}, "
         f"traffic {', '.join(r.describe() for r in plan.requests)}")

    def progress(record: dict[str, Any]) -> None:
        answer = judge(record)
        _say(f"  {record['config']}: {WORDS[answer.status]} ({record.get('seconds', 0)} s)")

    runner = get_backend(backend)
    try:
        records = _check.check_all(runner, configs, plan, replace(
            LIMITS, ready_s=ready_timeout, stop_s=stop_timeout), jobs, progress)
    except KeyboardInterrupt:
        runner.stop_all()
        _fail("interrupted", EX_INTERRUPTED)
    except AsgiMatrixError as err:
        _fail(str(err), EX_CHECK_INPUT)
    finally:
        runner.close()
    answers = [judge(r).to_json() for r in records]
    doc = _report.document(plan.app, backend, [r.describe() for r in plan.requests],
                           {"fresh": plan.fresh, "kept": plan.kept,
                            "concurrent": plan.concurrent},
                           plan.requirements_from, records, answers, notes)
    if fmt == "json":
        click.echo(_report.render_json(doc), nl=False)
    elif fmt == "markdown":
        click.echo(_report.render_markdown(doc), nl=False)
    else:
        painted, _ = terminal(sys.stdout, colour)
        click.echo(_report.render_terminal(doc, painted), color=painted)
    if html_file is not None:
        try:
            write_atomic(html_file, _report.render_html(doc))
        except OSError as err:
            _fail(f"--html {html_file}: {err.strerror or err}", EX_CHECK_INPUT)
        _say(f"asgi-matrix: wrote {html_file}")
    if imports := _report.import_failure(doc):
        _say(f"asgi-matrix: {one_line(plan.app)} does not import: {one_line(imports)}")
    if any(a["status"] == "breaks" for a in answers):
        sys.exit(EX_CHECK_BREAKS)
    if all(a["status"] in ("not run", "error") for a in answers):
        _fail("no configuration could be judged: each was not run here or could not be "
              "observed (see the answers)", EX_CHECK_NOTHING)


_REQUEST_OPTIONS = {f"--{m.lower()}": m for m in ("GET", "POST", "PUT", "PATCH", "DELETE",
                                                  "HEAD", "OPTIONS")}


def _request_options(args: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """``--get PATH``, ``--post PATH [BODY]`` ... from the arguments click left over."""
    from asgi_matrix.exceptions import CheckInputError

    pairs: list[tuple[str, tuple[str, ...]]] = []
    while args:
        option = args.pop(0)
        if option not in _REQUEST_OPTIONS:
            raise CheckInputError(f"no such option or argument: {option!r} (see "
                                  "asgi-matrix check --help)")
        values: list[str] = []
        while args and not args[0].startswith("--") and len(values) < 2:
            values.append(args.pop(0))
        pairs.append((_REQUEST_OPTIONS[option], tuple(values)))
    return pairs


def main() -> None:
    """Entry point: usage errors become one line (``asgi-matrix: ...``), exit 2."""
    try:
        cli.main(prog_name="asgi-matrix", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort:
        _fail("aborted", EX_INTERRUPTED)
    except click.ClickException as err:
        _fail(err.format_message().replace("\n", " "), err.exit_code)
    except AsgiMatrixError as err:
        _fail(str(err))
    except OSError as err:  # a file or folder the command was given cannot be used
        where = f"{err.filename}: " if err.filename else ""
        _fail(f"{where}{err.strerror or err}")
