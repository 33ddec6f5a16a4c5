"""Writers at once on AWS's DynamoDB Local: no valid visit bounced on its first delivery, nothing counted twice.

moto's in-process backend is not thread-safe, so these run only on DynamoDB Local (skipped, with the
reason, where Java is missing; ``make test`` installs the emulator and CI installs Java).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
import pytest

from functions.model import attrs, keys, layout, summary
from functions.model.fold import Namers
from functions.tables import counter
from functions.writer import batch as writer_batch
from functions.writer.names import KnownNames
from functions.writer.uniques import SketchShards
from tests.conftest import BOTH_BACKENDS
from tests.support.pipeline import BOT_UA, FIREFOX_UA, make_visit
from visitor_tracker.resources import PipelineResources

WRITERS = 16
BATCH = 100

pytestmark = pytest.mark.parametrize("dynamodb_backend", BOTH_BACKENDS[1:], indirect=True)


def _environment_batches(now: datetime) -> list[list[writer_batch.Message]]:
    """One batch of 100 new visitors of the same day per writer, on shared pages (hot items)."""
    batches = []
    for w in range(WRITERS):
        visits = [
            make_visit(
                when=now,
                path=f"/p{i % 12}",
                referrer=f"https://r{i % 4}.example/" if i % 3 == 0 else None,
                user_agent=BOT_UA if i % 20 == 0 else FIREFOX_UA,
                is_bot=i % 20 == 0,
                visitor=f"w{w}-v{i}",
            )
            for i in range(BATCH)
        ]
        batches.append([writer_batch.Message(f"m-{v.visit_id}", v.to_json()) for v in visits])
    return batches


def test_sixteen_writers_at_once_fail_nothing_and_count_everything_once(
    pipeline_resources: PipelineResources, writer_sleeps: list[float]
) -> None:
    now = datetime.now(UTC)
    batches = _environment_batches(now)
    start = threading.Barrier(WRITERS)

    def run(messages: list[writer_batch.Message]) -> writer_batch.BatchOutcome:
        # Each thread is its own execution environment: its own name cache and sketch shard.
        writer = writer_batch.BatchWriter(
            pipeline_resources.table_name,
            30,
            Namers(lambda ua: "Firefox", lambda ua: "Googlebot"),
            known=KnownNames(),
            sketches=SketchShards(),
        )
        start.wait()
        return writer.write(messages)

    # WHEN 16 writers take their batches at the same moment
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        outcomes = list(pool.map(run, batches))

    # THEN no record failed its first delivery
    assert [o.failed for o in outcomes] == [{}] * WRITERS
    assert sum(o.counted for o in outcomes) == WRITERS * BATCH
    # AND every visit is counted exactly once: counter, day, hour and page tallies agree
    client = boto3.client("dynamodb")
    table = pipeline_resources.table_name
    humans = WRITERS * (BATCH - BATCH // 20)
    stored = counter.visits_of(client.get_item(TableName=table, Key=keys.counter_key(0), ConsistentRead=True)["Item"])
    assert stored == humans
    day = client.get_item(TableName=table, Key=keys.day_agg_key(keys.day_of(now)), ConsistentRead=True)["Item"]
    assert int(day["visits"]["N"]) == humans and int(day["bots"]["N"]) == WRITERS * (BATCH // 20)
    partition = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.names_pk(keys.day_of(now))}},
        ConsistentRead=True,
    )["Items"]
    assert sum(v for _, v in attrs.top_names(partition, layout.PAGE, n=100)) == humans
    # AND the unique visitors of every writer reach the sketches (some may wait for a later batch)
    deferred = sum(o.uniques_deferred for o in outcomes)
    estimate = summary.summarize({}, partition, now)["unique_visitors_today"]
    expected = humans - deferred
    assert abs(estimate - expected) <= expected * 0.07
