"""`visitor-tracker export`: a range of days of the visit log (or one row a day) as CSV or JSON lines."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from visitor_tracker import cli_base as base
from visitor_tracker.discovery import DiscoveryError, Pipeline

if TYPE_CHECKING:
    from functions.lake.engines import Result

# --- export -----------------------------------------------------------------------------------


@base.app.command("export")
def export_command(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (UTC). Default: 29 days before --until.", metavar="DAY")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Last day, included (default: today, UTC).", metavar="DAY")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.", metavar="FORMAT")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE instead of stdout.", metavar="FILE")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --out file.")] = False,
    daily: Annotated[
        bool, typer.Option("--daily", help="One row per day: visits, bots, unique visitors, top page.")
    ] = False,
    shards: Annotated[
        int,
        typer.Option(
            "--aggregate-shards",
            envvar="AGGREGATE_SHARDS",
            min=1,
            max=128,
            help="The stack's aggregate_shards (--daily sums every shard).",
        ),
    ] = 1,
    site: base.SiteOption = None,
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="table: the visit log (kept log_ttl_days); lake: every visit the lake keeps (docs/lake.md).",
            metavar="SOURCE",
        ),
    ] = "table",
    lake_dir: Annotated[
        Path | None, typer.Option(help="With --source lake: local mode's lake (default: its data directory's).")
    ] = None,
) -> None:
    """Stream a site's visit log of a range of days (or one row per day) as CSV or JSON lines."""
    import os

    from visitor_tracker import export as ex

    try:
        days = ex.day_range(since, until, datetime.now(UTC).date())
        ex.check_format(fmt)
    except ex.ExportError as exc:
        raise base.CliError(str(exc)) from None
    if source not in ("table", "lake"):
        raise base.CliError(f"unknown --source {source!r}: use table or lake")
    if source == "lake" and daily:
        raise base.CliError("--daily reads the day aggregates: with --source lake, export the rows")
    if out is not None:
        if out.is_dir():
            raise base.CliError(f"--out {out} is a directory: name a file")
        if out.exists() and not force:
            raise base.CliError(f"{out} already exists: pass --force to overwrite it, or choose another --out")
        if not out.parent.is_dir():
            raise base.CliError(f"--out {out}: directory {out.parent} does not exist")
    pipeline = base.pipeline_of(ctx)
    scope = base.site_of(pipeline, site)
    day_rows, columns = _lake_source(ctx, pipeline, site, lake_dir) if source == "lake" else (None, None)
    client = pipeline.client("dynamodb")
    err = base.err()
    what = "day(s)" if daily else "visit(s)"
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days, {task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    task = progress.add_task(f"exporting {days[0]}", total=len(days), rows=0)
    rows = 0

    def on_row() -> None:
        nonlocal rows
        rows += 1
        if rows % 500 == 0:
            progress.update(task, rows=rows)

    def on_day(day: str, _count: int) -> None:
        progress.update(task, advance=1, rows=rows, description=f"exported {day}")

    def run(stream: Any) -> int:
        writer = ex.make_writer(fmt, stream, daily=daily, columns=columns)
        with progress:
            return ex.export(
                client,
                pipeline.table_name,
                days,
                writer,
                daily=daily,
                on_day=on_day,
                on_row=on_row,
                shards=shards,
                site=scope,
                day_rows=day_rows,
            )

    span = f"{days[0]}..{days[-1]}"

    def say(line: str) -> None:
        err.print(line, soft_wrap=True, markup=False, highlight=False)

    if out is None:
        try:
            total = run(sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # `export | head`: the reader has what it wanted
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            raise typer.Exit(0) from None
        if err.is_terminal:
            say(f"Exported {total:,} {what} of {span} ({pipeline.source}).")
        return
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            total = run(stream)
        if out.exists() and not force:  # appeared while we were exporting
            raise base.CliError(f"{out} appeared during the export: pass --force to overwrite it")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    say(f"Exported {total:,} {what} of {span} to {out} ({pipeline.source}).")


def _lake_source(
    ctx: typer.Context, pipeline: Pipeline, site: str | None, lake_dir: Path | None
) -> tuple[Callable[[str], Iterable[dict[str, Any]]], tuple[str, ...]]:
    """A day's rows of the site from the lake (DuckDB over local mode's lake, Athena with --stack), and
    their columns."""
    from functions.lake.engines import QueryFailed
    from functions.model.sites import lake_partitions
    from visitor_tracker import export_lake, lake_query

    try:
        body = pipeline.fetch_status(site=site)
    except DiscoveryError as exc:
        raise base.CliError(str(exc)) from None
    parts = lake_partitions(str(body.get("site")), [str(s) for s in body.get("sites") or []])
    options = ctx.find_object(base._Options)
    stack = options.stack if options is not None else None
    if stack:

        def run(sql: str, day: str) -> Result:
            return lake_query.run_athena(sql, pipeline, stack)

    else:
        from functions.lake.duck import DuckDBEngine
        from visitor_tracker.cli_query import default_lake_dir

        engine = DuckDBEngine(lake_dir or default_lake_dir())

        def run(sql: str, day: str) -> Result:
            return engine.run(sql, site=parts[0], start=day, end=day, also=parts[1:])

    def day_rows(day: str) -> Iterable[dict[str, Any]]:
        try:
            return list(export_lake.rows(run, parts, day))
        except (lake_query.BadQuery, QueryFailed) as exc:
            raise base.CliError(f"the lake could not be read: {exc}") from None

    return day_rows, export_lake.LAKE_COLUMNS
