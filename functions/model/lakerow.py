"""A visit record as one row of the lake (issue 22): what the raw-event files hold. Pure.

One row per pageview or custom event, flat, in the writer's own naming (browser, OS and device
families, referrer host, channel), so the query engines never parse a User-Agent. ``site`` and
``day`` are not in the row: they are the object key's ``site=``/``day=`` partitions (Athena's
partition projection and DuckDB's hive partitioning read them from there).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from functions.model import browsers, channels, devices
from functions.model.names import page_name, referrer_name
from functions.model.visit import Visit

ROW_VERSION = 1
# (column, DuckDB type, Glue/Athena type): the one list the writer, DuckDB, the Glue table and docs/lake.md follow.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("v", "INTEGER", "int"),
    ("visit_id", "VARCHAR", "string"),
    ("ts", "VARCHAR", "string"),
    ("ts_ms", "BIGINT", "bigint"),
    ("visitor", "VARCHAR", "string"),
    ("path", "VARCHAR", "string"),
    ("referrer", "VARCHAR", "string"),
    ("channel", "VARCHAR", "string"),
    ("utm_source", "VARCHAR", "string"),
    ("utm_medium", "VARCHAR", "string"),
    ("utm_campaign", "VARCHAR", "string"),
    ("country", "VARCHAR", "string"),
    ("browser", "VARCHAR", "string"),
    ("os", "VARCHAR", "string"),
    ("device", "VARCHAR", "string"),
    ("screen", "VARCHAR", "string"),
    ("hostname", "VARCHAR", "string"),
    ("event", "VARCHAR", "string"),
    ("props", "VARCHAR", "string"),
    ("is_bot", "BOOLEAN", "boolean"),
    ("bot_class", "VARCHAR", "string"),
)
PARTITIONS: tuple[tuple[str, str, str], ...] = (("site", "VARCHAR", "string"), ("day", "VARCHAR", "string"))
EVENTS_PREFIX = "events"
ROLLUPS_PREFIX = "rollups"
# A day's unfiltered panels are computed once and stored (a rollup) from this many days after it; rows
# that arrive later for it (a dead letter redriven days after) drop its rollup, which is then computed
# again (functions.lake.sink).
FINISHED_AFTER_DAYS = 2


def row_of(visit: Visit) -> dict[str, Any]:
    """The row of one visit record (no site or day: they are its object's partitions)."""
    when = visit.when
    referrer = referrer_name(visit.referrer)
    host = channels.host_of(visit.referrer)
    entrance = channels.is_entrance(host, visit.hostname)
    return {
        "v": ROW_VERSION,
        "visit_id": visit.visit_id,
        "ts": visit.timestamp,
        "ts_ms": int(when.timestamp() * 1000),
        "visitor": visit.visitor,
        "path": page_name(visit.path),
        "referrer": referrer,
        # An entrance's channel; a click inside the site has none (the visit keeps its first event's).
        "channel": channels.channel(host, visit.utm_source, visit.utm_medium) if entrance else None,
        "utm_source": visit.utm_source,
        "utm_medium": visit.utm_medium,
        "utm_campaign": visit.utm_campaign,
        "country": visit.country,
        "browser": browsers.browser_of(visit.user_agent),
        "os": devices.os_of(visit.user_agent),
        "device": devices.device_of(visit.user_agent),
        "screen": visit.screen,
        "hostname": visit.hostname,
        "event": visit.event,
        "props": json.dumps(visit.props, sort_keys=True, separators=(",", ":")) if visit.props else None,
        "is_bot": visit.is_bot,
        "bot_class": visit.bot_class,
    }


def partition_of(visit: Visit, default_site: str) -> tuple[str, str]:
    """(site, day) of a visit: the deployment's default site when the record names none."""
    return (visit.site or default_site, visit.when.date().isoformat())


def object_key(site: str, day: str, visit_ids: Iterable[str]) -> str:
    """The key of a batch's rows of one site and day, named after the visits it holds: a redelivered batch
    of the same visits writes the same object again (duplicates across batches are removed at query time)."""
    digest = hashlib.sha256("\n".join(sorted(visit_ids)).encode()).hexdigest()[:32]
    return f"{EVENTS_PREFIX}/site={site}/day={day}/{digest}.json.gz"


def rollup_key(site: str, day: str, goal_specs: Iterable[str]) -> str:
    """Where a site's day's panels are kept, per list of declared goals (their completions are in it)."""
    goals = hashlib.sha256(",".join(goal_specs).encode()).hexdigest()[:12]
    return f"{ROLLUPS_PREFIX}/site={site}/day={day}/{goals}.json"


def finished(day: str, today: date) -> bool:
    """Whether a day may have a stored rollup (its panels computed once)."""
    return date.fromisoformat(day) <= today - timedelta(days=FINISHED_AFTER_DAYS)


def encode_rows(rows: Iterable[dict[str, Any]]) -> bytes:
    """JSON lines (the JSON SerDe's and DuckDB's ``read_json`` format), not yet compressed."""
    return "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in rows).encode()
