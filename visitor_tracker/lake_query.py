"""``visitor-tracker query``: the owner's SQL over the lake, written in DuckDB's dialect.

Locally it runs on DuckDB over the data directory's files; on a deployed stack SQLGlot rewrites it for
Athena (Trino), and ``events`` becomes the same one-row-per-visit subquery DuckDB's view is
(``functions.lake.engines.dedupe_sql``). Only a query (SELECT, WITH, UNION ...) is accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from functions.lake.engines import DEDUPED_VIEW, AthenaEngine, DuckDBEngine, Result, dedupe_sql
from visitor_tracker.discovery import Pipeline

OUTPUT_ATHENA_WORKGROUP = "AthenaWorkgroup"
OUTPUT_ATHENA_DATABASE = "AthenaDatabase"


class BadQuery(ValueError):
    """SQL the command will not run: the message says why, in one line."""


def parse(sql: str) -> exp.Query:
    """The owner's SQL as one read-only query, else BadQuery."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise BadQuery(f"cannot parse the SQL: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1:
        raise BadQuery("give exactly one SQL statement")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise BadQuery("only queries (SELECT ...) are run: the lake is read-only here")
    return statement


def for_athena(sql: str) -> str:
    """The query in Trino's dialect, ``events`` read as the deduplicated subquery."""
    tree = parse(sql)
    deduped = sqlglot.parse_one(dedupe_sql(), read="trino")
    for table in list(tree.find_all(exp.Table)):
        if table.name == DEDUPED_VIEW and not table.db:
            alias = table.alias or DEDUPED_VIEW
            table.replace(exp.Subquery(this=deduped.copy(), alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return tree.sql(dialect="trino")


def run_local(sql: str, lake_dir: Path) -> Result:
    parse(sql)
    return DuckDBEngine(lake_dir).run(sql)


def stack_outputs(pipeline: Pipeline, stack: str) -> dict[str, str]:
    stacks = pipeline.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def run_athena(sql: str, pipeline: Pipeline, stack: str) -> Result:
    outputs = stack_outputs(pipeline, stack)
    if OUTPUT_ATHENA_WORKGROUP not in outputs:
        raise BadQuery(f"stack {stack} has no lake (no {OUTPUT_ATHENA_WORKGROUP} output): deploy this release first")
    client: Any = pipeline.client("athena")
    engine = AthenaEngine(outputs[OUTPUT_ATHENA_WORKGROUP], outputs[OUTPUT_ATHENA_DATABASE], timeout=300, client=client)
    return engine.run(for_athena(sql))
