"""The engines that run the lake's SQL: DuckDB over local files, Amazon Athena over the bucket.

Both answer ``(columns, rows)`` for one SQL text over the relation ``events_raw`` (every column of
``functions.model.lakerow`` plus the ``site`` and ``day`` partitions). DuckDB is imported only
when used: it is local mode's and the CLI's, never in the Lambda asset.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from botocore.config import Config

from functions.core import aws
from functions.core.environment import ENVIRONMENT
from functions.lake.config import RAW_TABLE
from functions.lake.dialect import DUCKDB, TRINO
from functions.model.lakerow import COLUMNS, EVENTS_PREFIX, PARTITIONS

Result = tuple[list[str], list[tuple[Any, ...]]]
DEDUPED_VIEW = "events"  # what the owner's SQL reads: one row per visit_id (docs/lake.md)


class QueryFailed(RuntimeError):
    """The engine refused or failed the query; the message is the engine's, for the owner."""


class Engine(Protocol):
    dialect: str

    def run(self, sql: str, *, site: str | None = None, start: str | None = None, end: str | None = None) -> Result: ...


def dedupe_sql(source: str = RAW_TABLE) -> str:
    """One row per visit_id, the same in both dialects."""
    names = ", ".join(name for name, _, _ in (*COLUMNS, *PARTITIONS))
    return (
        f"SELECT {names} FROM (SELECT *, row_number() OVER (PARTITION BY visit_id ORDER BY ts_ms) AS copy "
        f"FROM {source}) deduped WHERE copy = 1"
    )


def _days(start: str, end: str) -> list[str]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


class DuckDBEngine:
    """DuckDB over the gzip JSON-lines files under ``directory``: only the site's days in range are read
    when the caller names them (the partition pruning Athena's projection does on S3)."""

    dialect = DUCKDB

    def __init__(self, directory: str | Path, threads: int | None = None) -> None:
        self.root = Path(directory) / EVENTS_PREFIX
        self.threads = threads

    def files(self, site: str | None, start: str | None, end: str | None) -> list[str]:
        if site is not None and start is not None and end is not None:
            folders = [self.root / f"site={site}" / f"day={day}" for day in _days(start, end)]
            return sorted(str(f) for folder in folders if folder.is_dir() for f in folder.glob("*.json.gz"))
        return sorted(str(f) for f in self.root.glob("site=*/day=*/*.json.gz"))

    def run(self, sql: str, *, site: str | None = None, start: str | None = None, end: str | None = None) -> Result:
        import duckdb

        connection = duckdb.connect()
        try:
            if self.threads:
                connection.execute(f"SET threads = {int(self.threads)}")
            self._define(connection, self.files(site, start, end))
            cursor = connection.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            return columns, [tuple(row) for row in cursor.fetchall()]
        except duckdb.Error as exc:
            raise QueryFailed(str(exc).splitlines()[0]) from exc
        finally:
            connection.close()

    @staticmethod
    def _define(connection: Any, files: list[str]) -> None:
        if files:
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            types = ", ".join(f"'{name}': '{kind}'" for name, kind, _ in COLUMNS)
            partitions = ", ".join(f"'{name}': '{kind}'" for name, kind, _ in PARTITIONS)
            connection.execute(
                f"CREATE TEMP VIEW {RAW_TABLE} AS SELECT * FROM read_json([{listed}], format = 'newline_delimited', "
                f"columns = {{{types}}}, hive_partitioning = true, hive_types = {{{partitions}}})"
            )
        else:
            columns = ", ".join(f"{name} {kind}" for name, kind, _ in (*COLUMNS, *PARTITIONS))
            connection.execute(f"CREATE TEMP TABLE {RAW_TABLE} ({columns})")
        connection.execute(f"CREATE TEMP VIEW {DEDUPED_VIEW} AS {dedupe_sql()}")


ATHENA_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"total_max_attempts": 3, "mode": "standard"})
ATHENA_TIMEOUT_SECONDS = 25.0
_TYPES = {"bigint": int, "integer": int, "smallint": int, "tinyint": int, "double": float, "real": float}


@ENVIRONMENT.cached
@cache
def athena() -> Any:
    return aws.session().create_client("athena", config=ATHENA_CONFIG)


def _cell(value: str | None, kind: str) -> Any:
    if value is None:
        return None
    if kind == "boolean":
        return value == "true"
    convert = _TYPES.get(kind)
    return convert(value) if convert else value


class AthenaEngine:
    """Amazon Athena in the stack's workgroup (its bytes-scanned limit and result location are enforced
    by the workgroup), over the Glue table ``events_raw`` with partition projection."""

    dialect = TRINO

    def __init__(
        self,
        workgroup: str,
        database: str,
        *,
        timeout: float = ATHENA_TIMEOUT_SECONDS,
        poll: float = 0.25,
        client: Any = None,  # the CLI's (its --profile and --region); the function's own otherwise
    ) -> None:
        self.workgroup, self.database, self.timeout, self.poll = workgroup, database, timeout, poll
        self.client = client

    def run(self, sql: str, *, site: str | None = None, start: str | None = None, end: str | None = None) -> Result:
        client = self.client or athena()
        started = client.start_query_execution(
            QueryString=sql, WorkGroup=self.workgroup, QueryExecutionContext={"Database": self.database}
        )
        query_id = started["QueryExecutionId"]
        deadline = time.monotonic() + self.timeout
        while True:
            status = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
            state = status["State"]
            if state == "SUCCEEDED":
                break
            if state in ("FAILED", "CANCELLED"):
                raise QueryFailed(status.get("StateChangeReason") or f"query {state.lower()}")
            if time.monotonic() > deadline:
                client.stop_query_execution(QueryExecutionId=query_id)
                raise QueryFailed(f"query did not finish within {self.timeout:.0f} s")
            time.sleep(self.poll)
        return self._results(client, query_id)

    @staticmethod
    def _results(client: Any, query_id: str) -> Result:
        columns: list[str] = []
        kinds: list[str] = []
        rows: list[tuple[Any, ...]] = []
        for page in client.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
            result_set = page["ResultSet"]
            if not columns:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [c["Name"] for c in info]
                kinds = [c.get("Type", "varchar") for c in info]
                raw_rows = result_set.get("Rows", [])[1:]  # the first row of the first page is the header
            else:
                raw_rows = result_set.get("Rows", [])
            for raw in raw_rows:
                cells = [d.get("VarCharValue") for d in raw.get("Data", [])]
                rows.append(tuple(_cell(v, k) for v, k in zip(cells, kinds, strict=False)))
        return columns, rows
