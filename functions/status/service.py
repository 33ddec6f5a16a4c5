"""The status summary: a fixed set of reads, whatever the traffic.

One ``BatchGetItem`` of a known list of keys (counter shards, 8 day items, 2 hour items), one Query
of today's name partition (its tallies, bounded by the caps, and its uniques sketches) and one
``GetQueueAttributes`` per queue: 4 calls, and items bounded by COUNTER_SHARDS and the caps, at 10
visits or 10 million. Log items are never read. With ``AGGREGATE_SHARDS`` = N the day and hour keys
are read in every shard (summed by ``layout.merge_shards``) and there is one Query per shard's name
partition: bounded by N, still not by the traffic.

The body (flat, read by the dashboard and ``visitor-tracker status``): ``visitor_count`` (sum of
the counter shards), ``visits_last_hour`` / ``visits_last_24h`` / ``visits_last_7d`` /
``visits_today`` (human visits; rolling windows from the minute and hour counters),
``unique_visitors_today`` (estimated from the union of today's HyperLogLog sketch shards: exact up
to 255 visitors, about 2.3 % standard error beyond; see ``functions.model.sketches``), ``bots_today``,
``bot_share`` (0..1, today), ``bots_by_class`` (today, ``{"crawler": n, ...}``), ``top_pages`` /
``top_referrers`` / ``browsers`` / ``top_bots`` (today, top 10,
``[{"path"|"referrer"|"browser"|"agent": x, "visits": n}]``),
``hourly`` (last 24 hours, oldest first, ``[{"hour": "YYYY-MM-DDTHH", "visits": n}]``),
``queue_depth`` / ``queue_in_flight`` / ``queue_delayed``, ``dlq_depth`` (null without DLQ_URL),
``oldest_message_age_seconds``, ``generated_at``, ``explore`` (whether ``GET /status/explore`` answers:
this deployment keeps a lake, docs/lake.md) and ``goals`` (one line per declared goal:
completions from the day item, unique converters from its sketches in the same name partition, so
goals add no call; ``functions.model.goals``).

The counter shards are read in the same eventually consistent BatchGetItem (not with
``counter.read_total``'s consistent reads): one call fewer, and at most a moment behind.

Oldest-message age: SQS exposes ``ApproximateAgeOfOldestMessage`` only as a CloudWatch metric (not a
queue attribute; peeking at messages would disturb the writer). The metric has one-minute resolution,
so one ``GetMetricData`` is made at most once a minute per warm function (``AGE_CACHE_SECONDS``) — not
per request. Local mode publishes the same metric to its emulator, playing SQS's part. No datapoint
(an idle queue, a new stack) or a failed read gives ``null``: the age never fails ``/status``.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

from functions.core import aws
from functions.core.environment import ENVIRONMENT
from functions.core.observability import logger
from functions.core.settings import Settings
from functions.lake.config import get_config as lake_config
from functions.model import attrs, keys, layout, names, ranges, sites, summary
from functions.model.keys import key_tuple
from functions.model.visit import format_timestamp, utc_now
from functions.status import months
from functions.tables import aggstore
from functions.tables.counter import VISITS_ATTRIBUTE

QUEUE_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def read_keys(settings: Settings, now: datetime) -> list[keys.Key]:
    """Every item one summary reads: fixed by the clock and COUNTER_SHARDS, not by the data."""
    shards = [keys.counter_key(n) for n in range(settings.counter_shards)]
    return shards + layout.status_keys(now).item_keys(settings.aggregate_shards)


def queue_numbers(url: str) -> dict[str, int]:
    """One GetQueueAttributes: the approximate message counts of a queue."""
    attributes = aws.sqs().get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_ATTRIBUTES))["Attributes"]
    return {name: int(attributes.get(name, 0)) for name in QUEUE_ATTRIBUTES}


AGE_CACHE_SECONDS = 60
AGE_METRIC = "ApproximateAgeOfOldestMessage"


class AgeCache:
    """Per environment: each queue's last oldest-message age read, with when it was read."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ages: dict[str, tuple[float, int | None]] = {}

    def clear(self) -> None:
        with self.lock:
            self.ages.clear()


AGES = ENVIRONMENT.keep(AgeCache())


def oldest_message_age(queue_url: str, now: datetime) -> int | None:
    """Age in seconds of the oldest message on the queue (CloudWatch, newest datapoint of 10 minutes)."""
    queue_name = queue_url.rstrip("/").rsplit("/", 1)[-1]
    with AGES.lock:
        cached = AGES.ages.get(queue_name)
        if cached and time.monotonic() - cached[0] < AGE_CACHE_SECONDS:
            return cached[1]
    age: int | None = None
    try:
        response = aws.cloudwatch().get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "age",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SQS",
                            "MetricName": AGE_METRIC,
                            "Dimensions": [{"Name": "QueueName", "Value": queue_name}],
                        },
                        "Period": 60,
                        "Stat": "Maximum",
                    },
                    "ReturnData": True,
                }
            ],
            StartTime=now - timedelta(minutes=10),
            EndTime=now + timedelta(minutes=1),  # the current, still open, minute included
            ScanBy="TimestampDescending",
        )
        values = response["MetricDataResults"][0].get("Values", [])
        age = int(values[0]) if values else None
    except Exception:  # noqa: BLE001 - the age is informative; /status answers without it
        logger.warning("Oldest-message age unavailable", exc_info=True)
    with AGES.lock:
        AGES.ages[queue_name] = (time.monotonic(), age)
    return age


def range_summary(settings: Settings, requested: ranges.Range, site: str | None = None) -> dict[str, Any]:
    """A range's totals, series and top lists: one BatchGetItem of its day items and one Query per
    day partition, or for months their rollups (``functions.status.months``) — bounded by the range's
    length, never by its traffic."""
    periods = requested.periods()
    if requested.granularity == "month":
        totals, names = months.months_view(settings, periods, requested.end, site)
    else:
        shards = settings.aggregate_shards
        items = aggstore.read_aggregates(settings.table_name, [keys.day_agg_key(p) for p in periods], shards, site)
        totals = {p: items.get(key_tuple(keys.day_agg_key(p))) for p in periods}
        names = [
            item for p in periods for item in aggstore.read_names(settings.table_name, p, shards=shards, site=site)
        ]
    return {
        "name": requested.name,
        "from": requested.start.isoformat(),
        "to": requested.end.isoformat(),
        "granularity": requested.granularity,
        **summary.summarize_range(periods, totals, names, settings.goals),
    }


def clock() -> float:
    """Seconds for the page tallies' age (a module function, so tests can move time on)."""
    return time.monotonic()


class PageTallies:
    """Per environment: today's and all time's page tallies with when they were read, so that a badge
    on a busy site costs its Queries (two per aggregate shard) once per ``STATUS_CACHE_SECONDS``,
    not once per request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.periods: dict[tuple[str | None, str], tuple[float, dict[str, int]]] = {}

    def get(self, settings: Settings, period: str, site: str | None = None) -> dict[str, int]:
        with self.lock:
            cached = self.periods.get((site, period))
        if cached and clock() - cached[0] < settings.status_cache_seconds:
            return cached[1]
        items = aggstore.read_names(settings.table_name, period, shards=settings.aggregate_shards, site=site)
        tallies = attrs.tallies(items, layout.PAGE)
        with self.lock:
            if period != layout.ALL_TIME:  # all time, and one day a site: yesterday's tallies go at midnight
                self.periods = {k: c for k, c in self.periods.items() if k[1] == layout.ALL_TIME or k[0] != site}
            self.periods[(site, period)] = (clock(), tallies)
        return tallies

    def clear(self) -> None:
        with self.lock:
            self.periods.clear()


PAGE_TALLIES = ENVIRONMENT.keep(PageTallies())


def page_count(settings: Settings, page: str, now: datetime | None = None, site: str | None = None) -> dict[str, Any]:
    """A page's visits today and of all time, from the tallies (seconds behind the visits): two
    Queries of bounded partitions per aggregate shard, whatever the traffic, at most once per
    ``STATUS_CACHE_SECONDS`` per environment."""
    now = now or utc_now()
    name = names.page_name(page)
    today = PAGE_TALLIES.get(settings, keys.day_of(now), site)
    total = PAGE_TALLIES.get(settings, layout.ALL_TIME, site)
    return {"page": name, "today": today.get(name, 0), "total": total.get(name, 0)}


def build_status(
    settings: Settings,
    now: datetime | None = None,
    requested: ranges.Range | None = None,
    site: str | None = None,
) -> dict[str, Any]:
    """A site's /status body (with ``range`` when one is asked for). AWS errors propagate (the handler
    answers 503)."""
    now = now or utc_now()
    items = aggstore.read_site_items(settings.table_name, read_keys(settings, now), site)
    names = aggstore.read_names(settings.table_name, keys.day_of(now), shards=settings.aggregate_shards, site=site)
    visitor_count = sum(
        int(items.get(key_tuple(keys.counter_key(n)), {}).get(VISITS_ATTRIBUTE, {}).get("N", "0"))
        for n in range(settings.counter_shards)
    )
    queue = queue_numbers(settings.queue_url)
    dlq = queue_numbers(settings.dlq_url) if settings.dlq_url else None
    return {
        "site": sites.name_of(settings, site),
        "sites": sites.names(settings),
        "explore": lake_config().enabled,  # GET /status/explore answers: this deployment keeps a lake
        "visitor_count": visitor_count,
        **summary.summarize(items, names, now, settings.goals),
        "queue_depth": queue["ApproximateNumberOfMessages"],
        "queue_in_flight": queue["ApproximateNumberOfMessagesNotVisible"],
        "queue_delayed": queue["ApproximateNumberOfMessagesDelayed"],
        "dlq_depth": dlq["ApproximateNumberOfMessages"] if dlq else None,
        "oldest_message_age_seconds": oldest_message_age(settings.queue_url, now),
        "generated_at": format_timestamp(now),
        **({"range": range_summary(settings, requested, site)} if requested is not None else {}),
    }
