"""The writer's lake write, exactly once at query time, proven by fault injection: a failed S3 put, a
writer killed between its counting transaction and the put, a redelivered batch. The real writer handler
runs batches from the project's SQS engine (moto's DynamoDB and S3); the lake is then queried with DuckDB
over the objects the writer put, and must give the script's numbers every time."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.lake import store
from functions.lake.analytics import Explorer, Question
from functions.lake.config import LakeConfig
from functions.lake.duck import DuckDBEngine
from tests.support import lake, tables
from tests.support.pipeline import deliver, drain_queue, receive_batch, send_visits
from visitor_tracker.resources import PipelineResources

SITE = "a.example"
DAY = datetime.now(UTC).date() - timedelta(days=1)
BUCKET = "lake-test-bucket"


class Killed(BaseException):
    """The execution environment dying: nothing after this point runs, nothing is reported."""


@pytest.fixture
def lake_bucket(pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("LAKE_BUCKET", BUCKET)
    return BUCKET


@pytest.fixture
def sessions() -> list[lake.Session]:
    return lake.script([SITE], [DAY], 12)  # 24 visits, 66 records


def lake_rows() -> list[dict[str, Any]]:
    s3 = boto3.client("s3")
    rows = []
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="events/").get("Contents", []):
        body = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
        rows += [{**json.loads(line), "key": item["Key"]} for line in body.decode().splitlines()]
    return rows


def summary_from_lake(tmp_path: Path) -> dict[str, Any]:
    """The bucket copied to a directory and asked the explorer's question with DuckDB."""
    s3 = boto3.client("s3")
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        target = tmp_path / item["Key"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
    explorer = Explorer(DuckDBEngine(tmp_path), LakeConfig(directory=str(tmp_path)))
    today = datetime.now(UTC).date()
    return explorer.answer(Question(SITE, DAY, DAY, today))["summary"]


def counted(resources: PipelineResources) -> int:
    """The site's count (its visits name it: a site's own counter)."""
    return tables.total(resources, SITE)


def records_of(sessions: list[lake.Session]) -> list[Any]:
    return [v for s in sessions for v in s.visits()]


def test_every_counted_visit_lands_in_the_lake_once(
    lake_bucket: str, pipeline_resources: PipelineResources, sessions: list[lake.Session], tmp_path: Path
) -> None:
    records = records_of(sessions)
    send_visits(pipeline_resources, records)
    assert drain_queue(pipeline_resources).failures == []
    rows = lake_rows()
    assert sorted(r["visit_id"] for r in rows) == sorted(v.visit_id for v in records)
    assert {r["key"].rsplit("/", 1)[0] for r in rows} == {f"events/site={SITE}/day={DAY}"}
    assert summary_from_lake(tmp_path) == lake.summary(sessions)


def test_a_failed_lake_write_fails_the_records_and_the_redelivery_writes_them_without_counting_again(
    lake_bucket: str, pipeline_resources: PipelineResources, sessions: list[lake.Session], tmp_path: Path
) -> None:
    records = records_of(sessions)
    send_visits(pipeline_resources, records)

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, "PutObject")

    client = store.s3()
    client.meta.events.register("before-call.s3.PutObject", refuse)
    first = drain_queue(pipeline_resources, max_invocations=1)
    client.meta.events.unregister("before-call.s3.PutObject", refuse)
    assert first.records == len(records) and len(first.failures) == len(records) and lake_rows() == []
    pageviews = sum(1 for v in records if v.event is None)
    assert counted(pipeline_resources) == pageviews  # counted by the transaction before the put failed
    assert drain_queue(pipeline_resources).failures == []
    assert counted(pipeline_resources) == pageviews  # the redelivery counted nothing again
    assert summary_from_lake(tmp_path) == lake.summary(sessions)


def test_a_writer_killed_after_its_transaction_loses_nothing_on_redelivery(
    lake_bucket: str, pipeline_resources: PipelineResources, sessions: list[lake.Session], tmp_path: Path
) -> None:
    from functions.writer.handler import handler

    records = records_of(sessions)
    send_visits(pipeline_resources, records)

    def die(**_: Any) -> None:
        raise Killed

    client = store.s3()
    client.meta.events.register("before-call.s3.PutObject", die)
    messages = receive_batch(pipeline_resources)
    with pytest.raises(Killed):
        deliver(pipeline_resources, handler, messages)
    client.meta.events.unregister("before-call.s3.PutObject", die)
    pageviews = sum(1 for v in records if v.event is None)
    assert counted(pipeline_resources) == pageviews and lake_rows() == []  # counted, then the environment died
    sqs = boto3.client("sqs")
    for message in messages:  # the visibility timeout runs out: SQS delivers the batch again
        sqs.change_message_visibility(
            QueueUrl=pipeline_resources.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    assert drain_queue(pipeline_resources).failures == []
    assert counted(pipeline_resources) == pageviews
    assert sorted(r["visit_id"] for r in lake_rows()) == sorted(v.visit_id for v in records)
    assert summary_from_lake(tmp_path) == lake.summary(sessions)


def test_a_redelivered_batch_shows_no_visit_twice(
    lake_bucket: str, pipeline_resources: PipelineResources, sessions: list[lake.Session], tmp_path: Path
) -> None:
    records = records_of(sessions)
    send_visits(pipeline_resources, records)
    assert drain_queue(pipeline_resources).failures == []
    send_visits(pipeline_resources, records[5:30])  # the same visits again, in a batch of another composition
    assert drain_queue(pipeline_resources).failures == []
    assert len(lake_rows()) == len(records) + 25  # both copies are in the bucket ...
    assert summary_from_lake(tmp_path) == lake.summary(sessions)  # ... and every number counts one
