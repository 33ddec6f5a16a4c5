"""The one place where DuckDB's SQL and Athena's (Trino) differ, for the queries of ``functions.lake.queries``.

The queries are written once, in the SQL both engines share (window functions, CASE, correlated
EXISTS, integer arithmetic on ``ts_ms``; ratios are computed in Python, away from Trino's integer
division). What differs is spelled here: a regular-expression match. The tests check each query
against SQLGlot's own DuckDB -> Trino transpilation (``tests/unit/test_lake_sql.py``); SQLGlot is not in
the Lambda asset, so the functions do not call it.
"""

from __future__ import annotations

DUCKDB = "duckdb"
TRINO = "trino"
DIALECTS = (DUCKDB, TRINO)


def literal(value: str) -> str:
    """A SQL string literal: quotes doubled (both engines read backslashes as themselves)."""
    return "'" + value.replace("'", "''") + "'"


def regex_match(column: str, pattern: str, dialect: str) -> str:
    """Whether ``column`` matches the regular expression ``pattern`` (anchored by the caller)."""
    if dialect == DUCKDB:
        return f"regexp_matches({column}, {literal(pattern)})"
    if dialect == TRINO:
        return f"regexp_like({column}, {literal(pattern)})"
    raise ValueError(f"unknown dialect {dialect!r}")
