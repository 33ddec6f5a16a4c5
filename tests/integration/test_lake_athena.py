"""The AWS path of ``/status/explore`` on moto's Athena: the query goes to the stack's workgroup and database
in Trino's dialect, is polled and paginated, and typed results come back as the explorer's JSON.

moto does not run SQL: it answers results seeded through its documented ``/moto-api/static/athena/
query-results`` endpoint (shaped as Athena's: the header is the first row). What these tests prove is the
plumbing, not the SQL; docs/lake.md names what only a real Athena can confirm."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import requests

from functions.core.environment import ENVIRONMENT
from functions.lake.engines import AthenaEngine, athena
from functions.lake.queries import PANEL_COLUMNS
from functions.status import handler as status_handler
from tests.support.events import rest_event

WORKGROUP, DATABASE = "tracker-lake", "tracker_lake"
TYPES = {"visits": "bigint", "visitors": "bigint", "pageviews": "bigint", "bounces": "bigint", "entries": "bigint",
         "duration_ms": "bigint", "events": "bigint", "top_ms": "bigint", "top_n": "bigint"}  # fmt: skip


def seed(columns: list[tuple[str, str]], rows: list[list[str | None]]) -> None:
    header = {"Data": [{"VarCharValue": name} for name, _ in columns]}
    body = {
        "results": [
            {
                "rows": [header, *({"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows)],
                "column_info": [{"Name": name, "Type": kind} for name, kind in columns],
            }
        ]
    }
    response = requests.post("http://motoapi.amazonaws.com/moto-api/static/athena/query-results", json=body, timeout=5)
    assert response.status_code == 201


@pytest.fixture
def lake_on_aws(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("s3").create_bucket(Bucket="lake-bucket")
    boto3.client("athena").create_work_group(Name=WORKGROUP)
    for name, value in {
        "TABLE_NAME": "unused", "QUEUE_URL": "unused", "PUBLIC_DASHBOARD": "true", "LAKE_BUCKET": "lake-bucket",
        "ATHENA_WORKGROUP": WORKGROUP, "ATHENA_DATABASE": DATABASE, "GOALS": "page:/thanks*",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    ENVIRONMENT.reset()


def test_the_engine_runs_in_the_workgroup_and_types_the_results(lake_on_aws: None) -> None:
    seed([("path", "varchar"), ("n", "bigint"), ("bot", "boolean")], [["/a", "3", "false"], [None, "1", "true"]])
    columns, rows = AthenaEngine(WORKGROUP, DATABASE, poll=0).run("SELECT path, count(*) AS n, is_bot AS bot FROM x")
    assert columns == ["path", "n", "bot"] and rows == [("/a", 3, False), (None, 1, True)]
    (query_id,) = athena().list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
    execution = athena().get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["QueryExecutionContext"]["Database"] == DATABASE and execution["Query"].startswith("SELECT path")


def test_explore_asks_athena_in_trino_sql_and_answers_its_rows(lake_on_aws: None) -> None:
    day = datetime.now(UTC).date().isoformat()
    columns = [(c, TYPES.get(c, "varchar")) for c in PANEL_COLUMNS]
    seed(columns, [["*", "*", "*", "4", "3", "10", "1", "4", "600000", "2", "0", "0"],
                   ["*", "country", "DE", "4", "3", "10", "1", "4", "600000", "2", "0", "0"]])  # fmt: skip
    query = {"from": day, "to": day, "f.goal": "Visit /thanks*", "f.country": "DE"}
    response = status_handler.handler(rest_event("/status/explore", query=query), None)
    body: dict[str, Any] = json.loads(response["body"])
    assert response["statusCode"] == 200, body
    assert body["summary"] == {"visits": 4, "visitors": 3, "pageviews": 10, "views_per_visit": 2.5,
                               "bounce_rate": 0.25, "visit_duration": 150.0, "events": 2}  # fmt: skip
    assert body["top"]["country"][0]["value"] == "DE"
    (query_id,) = athena().list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
    sql = athena().get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Query"]
    assert "regexp_like(" in sql and "regexp_matches(" not in sql and "FROM events_raw" in sql
