"""The `visitor-tracker` command: status, recent visits, the dead-letter queue, exports and local mode.

The app and what every command shares are in ``visitor_tracker.cli_base``; the command groups in
``cli_status``, ``cli_dlq`` and ``cli_export``, registered on import below.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from visitor_tracker import cli_base as base

# --- local ------------------------------------------------------------------------------------


@base.app.command()
def local(
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP port of the local API (0: any free port).")] = 8080,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    aws_endpoint: Annotated[
        str | None, typer.Option(help="Use this AWS emulator (e.g. LocalStack) instead of the embedded ones.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the table and queues are kept (default: ~/.visitor-tracker/data).")
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Delete the kept data first (asks; --yes skips).")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before --reset.")] = False,
    in_memory: Annotated[bool, typer.Option("--in-memory", help="Keep nothing (no DynamoDB Local).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No status line: only warnings and errors.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="A line per request and the functions' JSON logs.")
    ] = False,
) -> None:
    """Run the whole pipeline locally: API, writer, dashboard; the data is kept between runs."""
    from visitor_tracker.local.datadir import DataDirBusy, default_data_dir, reset_data  # heavy: only this command
    from visitor_tracker.local.server import serve

    if reset:
        path = data_dir or default_data_dir()
        if not yes and not typer.confirm(f"Delete all local data in {path}?"):
            raise typer.Exit(base.EXIT_CANCELLED)
        try:
            reset_data(path)
        except DataDirBusy as exc:
            raise base.CliError(str(exc)) from exc
    code = serve(
        port=port,
        host=host,
        aws_endpoint=aws_endpoint,
        data_dir=data_dir,
        in_memory=in_memory,
        quiet=quiet,
        verbose=verbose,
    )
    raise typer.Exit(code)


# --- visits -----------------------------------------------------------------------------------


@base.visits_app.command("recent")
def visits_recent(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=base.MAX_LIMIT, help="How many visits.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON: a list of visit records.")] = False,
    site: base.SiteOption = None,
) -> None:
    """The newest logged visits of a site, newest first."""
    from functions.model.browsers import browser_of
    from functions.tables.visitlog import recent_visits

    pipeline = base.pipeline_of(ctx)
    scope = base.site_of(pipeline, site)
    visits = recent_visits(limit, table_name=pipeline.table_name, client=pipeline.client("dynamodb"), site=scope)
    if as_json:
        base.print_json([asdict(v) for v in visits])
        return
    if not visits:
        base.out().print("No visits logged in the last 7 days.")
        return
    table = Table(title=f"{len(visits)} most recent visit(s), newest first", title_justify="left")
    for name, options in (
        ("time (UTC)", {"no_wrap": True}),
        ("path", {"overflow": "fold", "max_width": 30}),
        ("referrer", {"overflow": "ellipsis", "max_width": 30}),
        ("browser", {"no_wrap": True}),
        ("ip", {"no_wrap": True}),
        ("bot", {"justify": "center"}),
    ):
        table.add_column(name, **options)  # type: ignore[arg-type]
    for visit in visits:
        table.add_row(
            visit.timestamp.replace("T", " ")[:19],
            Text(visit.path),  # recorded strings are shown as they are, never as rich markup
            Text(visit.referrer or "-"),
            browser_of(visit.user_agent),
            Text(visit.ip or "-"),
            "yes" if visit.is_bot else "",
        )
    base.out().print(table)


# The other command groups register themselves on the app when imported.
from visitor_tracker import cli_access, cli_dlq, cli_export, cli_import, cli_query, cli_status  # noqa: E402, F401

app = base.app


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv, prog_name="visitor-tracker")


if __name__ == "__main__":
    main(sys.argv[1:])
