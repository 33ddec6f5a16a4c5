"""AGGREGATE_SHARDS on AWS's DynamoDB Local: many writers spread over the shards, /status sums them exactly.

Data written before the shards existed (shard 0 is the old keys) keeps being read and added.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
import pytest

from functions.core.settings import load_settings
from functions.model import keys, layout
from functions.model.fold import Namers
from functions.status import service as status
from functions.writer import batch as writer_batch
from functions.writer.names import KnownNames
from functions.writer.shard import AggregateShard
from functions.writer.uniques import SketchShards
from tests.conftest import BOTH_BACKENDS
from tests.support.pipeline import BOT_UA, FIREFOX_UA, make_visit
from visitor_tracker.resources import PipelineResources

WRITERS = 24
ROUNDS = 3
BATCH = 50
SHARDS = 8

pytestmark = pytest.mark.parametrize("dynamodb_backend", BOTH_BACKENDS[1:], indirect=True)
NAMERS = Namers(lambda ua: "Firefox", lambda ua: "Googlebot")


def _batch(now: datetime, tag: str) -> list[writer_batch.Message]:
    """A batch of new visitors on a few shared pages (the hot items), one bot in ten."""
    visits = [
        make_visit(
            when=now,
            path=f"/p{i % 6}",
            user_agent=BOT_UA if i % 10 == 0 else FIREFOX_UA,
            is_bot=i % 10 == 0,
            visitor=f"{tag}-v{i}",
            visit_id=f"{tag}-{i}",
        )
        for i in range(BATCH)
    ]
    return [writer_batch.Message(f"m-{v.visit_id}", v.to_json()) for v in visits]


def _writer(table: str, shards: int) -> writer_batch.BatchWriter:
    """One execution environment: its own names, sketch shard and aggregate shard."""
    return writer_batch.BatchWriter(
        table,
        30,
        NAMERS,
        counter_shards=shards,
        aggregate_shards=shards,
        shard=AggregateShard(),
        known=KnownNames(),
        sketches=SketchShards(),
    )


def test_many_writers_over_shards_are_summed_exactly_with_the_unsharded_data(
    pipeline_resources: PipelineResources,
) -> None:
    table = pipeline_resources.table_name
    now = datetime.now(UTC)
    # GIVEN visits written before the shards existed (one shard: today's keys)
    old = _writer(table, 1).write(_batch(now, "old"))
    assert old.failed == {}
    # WHEN 24 writers at once, 3 batches each, count into 8 shards
    start = threading.Barrier(WRITERS)

    def run(w: int) -> list[writer_batch.BatchOutcome]:
        writer = _writer(table, SHARDS)
        start.wait()
        return [writer.write(_batch(now, f"w{w}-r{r}")) for r in range(ROUNDS)]

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        outcomes = [o for batch in pool.map(run, range(WRITERS)) for o in batch]
    assert [o.failed for o in outcomes] == [{}] * (WRITERS * ROUNDS)

    # THEN the writes landed in several shards' partitions
    client = boto3.client("dynamodb")
    day = keys.day_of(now)
    base = keys.key_tuple(keys.day_agg_key(day))
    found = [
        n
        for n in range(SHARDS)
        if "Item" in client.get_item(TableName=table, Key=keys.key_dict(layout.sharded(base, n)), ConsistentRead=True)
    ]
    assert len(found) >= 3
    # AND /status, reading every shard, counts every visit exactly once
    settings = load_settings(
        {
            "TABLE_NAME": table,
            "QUEUE_URL": pipeline_resources.queue_url,
            "COUNTER_SHARDS": str(SHARDS),
            "AGGREGATE_SHARDS": str(SHARDS),
        }
    )
    body = status.build_status(settings, now)
    batches = 1 + WRITERS * ROUNDS
    humans, bots = batches * (BATCH - BATCH // 10), batches * (BATCH // 10)
    assert body["visitor_count"] == humans
    assert body["visits_today"] == humans and body["bots_today"] == bots
    assert body["visits_last_hour"] == humans
    assert sum(p["visits"] for p in body["top_pages"]) == humans
    assert {p["path"] for p in body["top_pages"]} == {f"/p{i}" for i in range(6)}
    assert sum(b["visits"] for b in body["top_bots"]) == bots
    assert (
        status.page_count(settings, "/p1", now)["today"]
        == sum(1 for i in range(BATCH) if i % 6 == 1 and i % 10) * batches
    )
