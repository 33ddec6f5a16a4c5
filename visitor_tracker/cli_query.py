"""``visitor-tracker query "SELECT ..."``: SQL over the lake (docs/lake.md has the ``events`` schema).

Parses and renders; the work is ``visitor_tracker.lake_query``. Bad SQL or an engine's refusal is one
line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import csv
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from functions.lake.engines import QueryFailed
from visitor_tracker import cli_base as base
from visitor_tracker import lake_query


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def default_lake_dir() -> Path:
    from visitor_tracker.local.datadir import default_data_dir

    return default_data_dir() / "lake"


@base.app.command()
def query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help="One query in DuckDB's SQL over the table `events` (docs/lake.md).")],
    output: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.table,
    lake_dir: Annotated[
        Path | None, typer.Option(help="Local mode's lake (default: ~/.visitor-tracker/data/lake); not with --stack.")
    ] = None,
) -> None:
    """Run SQL on every visit in the lake: DuckDB locally, Athena with --stack."""
    options = ctx.find_object(base._Options)
    stack = options.stack if options is not None else None
    try:
        if stack:
            columns, rows = lake_query.run_athena(sql, base.pipeline_of(ctx), stack)
        else:
            columns, rows = lake_query.run_local(sql, lake_dir or default_lake_dir())
    except (lake_query.BadQuery, QueryFailed) as exc:
        raise base.CliError(str(exc)) from exc
    if output is Format.json:
        base.print_json([dict(zip(columns, row, strict=True)) for row in rows])
    elif output is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        base.out().print(table)
        base.err().print(f"{len(rows)} row(s)")
