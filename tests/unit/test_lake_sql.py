"""The lake's SQL, written once: each query must mean the same to DuckDB and to Athena (Trino), as SQLGlot
reads them, and the pure parts around it (rows, filters, funnels, page patterns) behave as documented."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from functions.core.goals import Goal
from functions.lake.dialect import DUCKDB, TRINO, literal
from functions.lake.engines import dedupe_sql
from functions.lake.queries import Scope, funnel_sql, panels_sql
from functions.model import explore
from functions.model.explore import DIMENSIONS, Filter
from functions.model.lakerow import COLUMNS, object_key, partition_of, row_of
from functions.model.visit import Visit, format_timestamp
from visitor_tracker.lake_query import BadQuery, for_athena, parse

GOALS = (Goal("event", "Signup"), Goal("page", "/thanks*"))
SCOPES = [  # no filter; every dimension's filter at once (the goal filter names a declared goal)
    Scope("example.com", "2026-11-01", "2026-11-30", goals=GOALS),
    Scope(
        "example.com",
        "2026-11-01",
        "2026-11-30",
        tuple(Filter(d, "Signup" if d == "goal" else "O'Brien") for d in DIMENSIONS),
        GOALS,
    ),
]


def _same_for_both(duckdb_sql: str, trino_sql: str) -> None:
    assert sqlglot.transpile(duckdb_sql, read=DUCKDB, write=TRINO) == sqlglot.transpile(
        trino_sql, read=TRINO, write=TRINO
    )


@pytest.mark.parametrize("scope", SCOPES, ids=["unfiltered", "every-filter"])
def test_the_panels_query_means_the_same_in_both_dialects(scope: Scope) -> None:
    for options in ({}, {"by_day": True, "top": 1000}):
        _same_for_both(panels_sql(scope, DUCKDB, **options), panels_sql(scope, TRINO, **options))


def test_the_funnel_query_means_the_same_in_both_dialects() -> None:
    steps = explore.parse_funnel("/pricing,/signup/**,Signup")
    _same_for_both(funnel_sql(SCOPES[1], steps, DUCKDB), funnel_sql(SCOPES[1], steps, TRINO))


def test_a_value_is_one_string_literal_whatever_it_holds() -> None:
    sql = panels_sql(Scope("s", "2026-11-01", "2026-11-02", (Filter("country", "x' OR '1'='1"),)), TRINO)
    literals = {node.this for node in sqlglot.parse_one(sql, read=TRINO).find_all(exp.Literal) if node.is_string}
    assert "x' OR '1'='1" in literals
    assert literal("it's") == "'it''s'"


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("/blog/*", "/blog/post"),
        ("/blog/*", "/blog/a/b"),
        ("/blog/**", "/blog/a/b"),
        ("/a.b", "/aXb"),
        ("/a.b", "/a.b"),
        ("/x+(y)", "/x+(y)"),
        ("/thanks*", "/thanks-you"),
    ],
)
def test_page_patterns_match_in_duckdb_as_the_goals_do(pattern: str, path: str) -> None:
    regex = explore.page_regex(pattern)
    matched = duckdb.sql(f"SELECT regexp_matches({literal(path)}, {literal(regex)})").fetchall()[0][0]
    assert matched == Goal("page", pattern).matches_page(path) == (re.match(regex, path) is not None)


def test_a_row_is_the_visit_in_the_lake_columns() -> None:
    when = datetime(2026, 11, 30, 23, 59, 59, 250000, tzinfo=UTC)
    visit = Visit("id-1", format_timestamp(when), "203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0",
                  "/post?x=1", "https://www.google.com/search", False, True, visitor="abc", country="DE",
                  event="Signup", props={"plan": "pro"}, hostname="example.com")  # fmt: skip
    row = row_of(visit)
    assert list(row) == [name for name, _, _ in COLUMNS]
    assert (
        row["ts_ms"] == int(when.timestamp() * 1000) and row["path"] == "/post" and row["referrer"] == "www.google.com"
    )
    assert row["channel"] == "Organic Search" and json.loads(row["props"]) == {"plan": "pro"} and "ip" not in row
    assert partition_of(visit, "default") == ("default", "2026-11-30")
    assert object_key("s", "2026-11-30", ["b", "a"]) == object_key("s", "2026-11-30", ["a", "b"])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"f.nope": "x"}, "unknown filter dimension"),
        ({"f.page": ""}, "printable"),
        ({"f.page": "a\x00b"}, "printable"),
        ({"f.goal": "Missing"}, "unknown goal"),
    ],
)
def test_bad_filters_are_refused(query: dict[str, str], message: str) -> None:
    with pytest.raises(explore.BadExplore, match=message):
        explore.parse_filters(query, GOALS)


def test_filters_and_funnels_parse() -> None:
    assert explore.parse_filters({"f.country": "DE", "f.page": "/a", "other": "x"}) == (
        Filter("country", "DE"),
        Filter("page", "/a"),
    )
    assert explore.parse_funnel("page:/a, Signup") == (Goal("page", "/a"), Goal("event", "Signup"))


def test_owner_sql_for_athena_reads_events_deduplicated_in_trino() -> None:
    sql = for_athena("SELECT path, count(*) AS n FROM events e WHERE site = 'a' GROUP BY path")
    tree = sqlglot.parse_one(sql, read=TRINO)
    assert {t.name for t in tree.find_all(exp.Table)} == {"events_raw"}
    assert sqlglot.parse_one(dedupe_sql(), read=TRINO) is not None


@pytest.mark.parametrize("sql", ["DELETE FROM events", "SELECT 1; SELECT 2", "SELEC"])
def test_owner_sql_must_be_one_query(sql: str) -> None:
    with pytest.raises(BadQuery):
        parse(sql)
