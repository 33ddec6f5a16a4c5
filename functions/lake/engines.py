"""The engines that run the lake's SQL: Amazon Athena over the bucket here, DuckDB over local files in
``functions.lake.duck``.

Both answer ``(columns, rows)`` for one SQL text over the relation ``events_raw`` (every column of
``functions.model.lakerow`` plus the ``site`` and ``day`` partitions).
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any, Protocol

from botocore.config import Config

from functions.core import aws
from functions.core.environment import ENVIRONMENT
from functions.lake.config import RAW_TABLE
from functions.lake.dialect import TRINO
from functions.model.lakerow import COLUMNS, PARTITIONS

Result = tuple[list[str], list[tuple[Any, ...]]]
DEDUPED_VIEW = "events"  # what the owner's SQL reads: one row per visit_id (docs/lake.md)


class QueryFailed(RuntimeError):
    """The engine refused or failed the query; the message is the engine's, for the owner."""


class Engine(Protocol):
    dialect: str

    def run(
        self,
        sql: str,
        *,
        site: str | None = None,
        start: str | None = None,
        end: str | None = None,
        also: tuple[str, ...] = (),
    ) -> Result: ...


def dedupe_sql(source: str = RAW_TABLE) -> str:
    """One row per visit_id, the same in both dialects."""
    names = ", ".join(name for name, _, _ in (*COLUMNS, *PARTITIONS))
    return (
        f"SELECT {names} FROM (SELECT *, row_number() OVER (PARTITION BY visit_id ORDER BY ts_ms) AS copy "
        f"FROM {source}) deduped WHERE copy = 1"
    )


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

    def run(
        self,
        sql: str,
        *,
        site: str | None = None,
        start: str | None = None,
        end: str | None = None,
        also: tuple[str, ...] = (),
    ) -> Result:
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
