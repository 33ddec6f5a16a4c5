"""``visitor-tracker export --source lake``: a site's rows from the lake, for days the visit log no longer has.

The visit log expires after ``log_ttl_days`` (30 by default); the lake keeps every counted visit's row for
``lake_retention_days`` (25 months by default). Its rows hold what the lake keeps (docs/lake.md): no IP
address and no User-Agent, the browser, OS and device named from it instead. One query a day (DuckDB over
local mode's lake, Athena on a stack), one row per visit id, in time order: memory holds a day at most.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from functions.lake.dialect import literal
from functions.lake.engines import DEDUPED_VIEW, Result

LAKE_COLUMNS = (
    "visit_id",
    "timestamp",
    "path",
    "referrer",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "country",
    "browser",
    "os",
    "device",
    "screen",
    "hostname",
    "event",
    "props",
    "is_bot",
    "bot_class",
)
Runner = Callable[[str, str], Result]  # (sql, day) -> the engine's result, the day's partitions only


def day_sql(sites: Sequence[str], day: str) -> str:
    """One day's rows of a site, in DuckDB's dialect (``visitor_tracker.lake_query`` rewrites it for Athena)."""
    columns = ", ".join("ts AS timestamp" if c == "timestamp" else c for c in LAKE_COLUMNS)
    where = f"site IN ({', '.join(literal(s) for s in sites)}) AND day = {literal(day)}"
    return f"SELECT {columns} FROM {DEDUPED_VIEW} WHERE {where} ORDER BY ts_ms, visit_id"  # noqa: S608 - literals


def rows(run: Runner, sites: Sequence[str], day: str) -> Iterator[dict[str, Any]]:
    columns, found = run(day_sql(sites, day), day)
    for values in found:
        yield dict(zip(columns, values, strict=True))
