"""`visitor-tracker import-logs FILE... --site S`: AI crawlers and other automated traffic from access logs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from visitor_tracker import cli_base as base


@base.app.command("import-logs")
def import_logs_command(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(help="Access logs: nginx/Apache combined or CloudFront standard, gzip or not.", metavar="FILE"),
    ],
    site: base.SiteOption = None,
) -> None:
    """Tally the automated requests of access logs (AI crawlers by page, agents, classes); twice changes nothing."""
    from visitor_tracker.import_logs import Importer, Report

    for path in files:
        if not path.is_file():
            raise base.CliError(f"{path}: no such file")
    pipeline = base.pipeline_of(ctx)
    importer = Importer(pipeline.client("dynamodb"), pipeline.table_name, base.site_of(pipeline, site))
    report = Report()
    err = base.err()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[lines]:,} lines"),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    with progress:
        for path in files:
            size = path.stat().st_size
            task = progress.add_task(f"importing {path.name}", total=size, lines=0)

            def advance(done: int, task: TaskID = task) -> None:
                progress.update(task, completed=done, lines=report.lines)

            importer.import_file(path, report, on_bytes=advance)
            progress.update(task, completed=size, lines=report.lines)
    out = base.out()
    out.print(
        f"Imported {len(files)} file(s) into {pipeline.source}: {report.lines:,} lines, "
        f"{report.automated:,} automated requests tallied, {report.browsers:,} browser requests skipped "
        f"(the tracker counts people), {report.bad:,} bad lines.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if report.groups_already:
        out.print(
            f"{report.groups_already:,} chunk(s) had been imported before: left unchanged.",
            markup=False,
            soft_wrap=True,
        )
    if report.by_class:
        table = Table(title="automated requests by class", title_justify="left")
        table.add_column("class")
        table.add_column("requests", justify="right")
        for name, count in report.by_class.most_common():
            table.add_row(name, f"{count:,}")
        out.print(table)
    for example in report.bad_examples:
        err.print(f"bad line {example}", markup=False, highlight=False, soft_wrap=True)
    if report.bad > len(report.bad_examples):
        err.print(f"... and {report.bad - len(report.bad_examples):,} more bad line(s)", markup=False)
    if report.lines and report.bad == report.lines:
        raise base.CliError(
            "no line of these files is a request of a known log format (nginx/Apache combined, CloudFront)"
        )
