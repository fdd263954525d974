"""The command line: ``asgi-matrix run | list | show | site | serve | merge | diff``.

Every problem a user can fix is one line on stderr and a non-zero exit, never a
traceback. A server failing a property is a finding: ``run`` still exits 0.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from ._catalogue import Catalogue
from .exceptions import AsgiMatrixError, CatalogueError, UnknownConfig

EX_INTERRUPTED = 130


def _say(line: str) -> None:
    click.echo(line, err=True)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"asgi-matrix: {message}", err=True)
    sys.exit(code)


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asgi-matrix")
def cli() -> None:
    """How each real ASGI server runs your app, measured with evidence."""


@cli.command("list")
@click.option("--catalogue", "catalogues", multiple=True, type=click.Path(path_type=Path),
              help="An extra catalogue file (TOML) to load after the built-in one.")
def list_(catalogues: tuple[Path, ...]) -> None:
    """The configurations in the catalogue (* marks the default matrix)."""
    for config in _catalogue(catalogues).configs:
        mark = "*" if config.default else " "
        click.echo(f"{mark} {config.id:28} {config.server:22} {config.kind:8} loop={config.loop} "
                   f"workers={config.workers} threads={config.threads}")


@cli.command()
@click.option("--config", "-c", "ids", multiple=True,
              help="Configuration id to run (repeatable; several may follow one --config).")
@click.option("--server", "-s", "servers", multiple=True, help="Run every configuration of "
              "this server (repeatable).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"),
              show_default=True, help="Folder for results.json.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Configurations measured at the same time.")
@click.option("--repeat", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Attempts per configuration; verdicts that differ become 'flaky'.")
@click.option("--backend", type=click.Choice(["local", "docker"]), default="local",
              show_default=True)
@click.option("--catalogue", "catalogues", multiple=True, type=click.Path(path_type=Path),
              help="An extra catalogue file (TOML) to load after the built-in one.")
@click.option("--strict", is_flag=True, help="Exit 1 when any cell is an error.")
@click.option("--shard", type=ShardParam(), default=None,
              help="Run only slice I of N of the selection (I/N, 1-based), for CI fan-out.")
@click.argument("more_ids", nargs=-1)
def run(ids: tuple[str, ...], servers: tuple[str, ...], out_dir: Path, jobs: int, repeat: int,
        backend: str, catalogues: tuple[Path, ...], strict: bool, shard: tuple[int, int] | None,
        more_ids: tuple[str, ...]) -> None:
    """Start each configuration with the probe app, drive traffic, stop it, judge it."""
    from ._backends import get_backend
    from ._results import check_writable
    from ._run import Interrupted, run_matrix

    catalogue = _catalogue(catalogues)
    try:
        configs = catalogue.select([*ids, *more_ids], servers)
    except UnknownConfig as err:
        raise click.BadParameter(str(err), param_hint="--config/--server") from None
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
    _say(f"asgi-matrix {__version__}: {len(configs)} configuration(s), backend {backend}, "
         f"{jobs} at a time")
    try:
        path, document = run_matrix(configs, get_backend(backend), out_dir, jobs=jobs,
                                    repeat=repeat, progress=_say, extra_run=extra_run)
    except Interrupted as err:
        _fail(str(err), EX_INTERRUPTED)
    except AsgiMatrixError as err:
        _fail(str(err))
    errors = [c["id"] for c in document["configurations"].values() if c["status"] == "error"]
    if errors:
        _say(f"error cells (the harness could not measure): {', '.join(errors)}")
    click.echo(str(path))
    if strict and errors:
        sys.exit(1)


@cli.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.argument("config_id", required=False)
def show(results: Path, config_id: str | None) -> None:
    """A readable table of a results file (or one configuration's verdicts)."""
    from . import _results
    from ._show import render_config, render_matrix

    try:
        document = _results.load(results)
    except AsgiMatrixError as err:
        _fail(str(err))
    if config_id is None:
        click.echo(render_matrix(document))
        return
    configs: dict[str, Any] = document["configurations"]
    if config_id not in configs:
        raise click.BadParameter(f"{config_id!r} is not in {results}; it has: "
                                 + ", ".join(configs), param_hint="CONFIG_ID")
    click.echo(render_config(document, config_id))


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
