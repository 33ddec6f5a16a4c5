"""The whole path against moto: ingest handler -> SQS -> writer handler -> DynamoDB -> status handler."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions.status.handler import handler as status_handler
from functions.tables import aggstore, visitlog
from functions.writer.handler import handler as writer_handler
from tests.integration.conftest import Ingest
from tests.support.access import signed
from tests.support.events import http_v2_event, rest_event
from tests.support.pipeline import (
    BOT_UA,
    FakeContext,
    drain_queue,
    log_items,
    receive_batch,
    send_raw,
    sqs_event,
)
from visitor_tracker.resources import PipelineResources

pytestmark = pytest.mark.usefixtures("writer_sleeps")


def status() -> dict[str, Any]:
    response = status_handler(signed(http_v2_event("/status")), None)
    assert response["statusCode"] == 200
    return dict(json.loads(response["body"]))


def test_visits_flow_from_ingest_through_the_writer_to_status(
    ingest: Ingest, pipeline_resources: PipelineResources
) -> None:
    # GIVEN 40 visits (every 8th a bot) through the ingest handler, in both payload formats
    ids = []
    answers = []
    for i in range(40):
        headers = {"User-Agent": BOT_UA} if i % 8 == 7 else {}
        make = rest_event if i % 2 else http_v2_event
        request_id = f"req-{i:03d}"
        result = ingest(make("/", query={"page": f"/p{i % 4}"}, headers=headers, request_id=request_id))
        assert result.status == 200
        answers.append(result.body["visitor_count"])
        ids.append(request_id)
    # THEN each human visit was answered with the count including it (bots do not move it)
    assert answers == [sum(1 for j in range(i + 1) if j % 8 != 7) for i in range(40)]

    # WHEN /status is asked before the writer ran
    before = status()
    # THEN nothing is counted yet: the writer counts, exactly once; the visits wait in the queue
    assert before["visitor_count"] == 0
    assert before["queue_depth"] == 40 and before["visits_last_hour"] == 0

    # WHEN the writer drains the queue
    report = drain_queue(pipeline_resources)
    after = status()

    # THEN every visit is logged once, and /status shows them
    assert report.failures == [] and report.records == 40
    assert sorted(i["visit_id"]["S"] for i in log_items(pipeline_resources.table_name)) == ids
    assert after["visitor_count"] == 35 and after["queue_depth"] == 0
    assert after["visits_last_hour"] == 35 and after["bots_today"] == 5
    assert sum(p["visits"] for p in after["top_pages"]) == 35
    # AND the CLI's recent visits are the newest ones, newest first
    recent = visitlog.recent_visits(5, table_name=pipeline_resources.table_name)
    assert len(recent) == 5
    assert [v.timestamp for v in recent] == sorted((v.timestamp for v in recent), reverse=True)
    assert {v.visit_id for v in recent} <= set(ids)


def test_poison_reaches_the_dlq_and_status_reports_it(ingest: Ingest, pipeline_resources: PipelineResources) -> None:
    assert ingest(rest_event("/")).status == 200
    send_raw(pipeline_resources, '{"schema_version": 1}')

    report = drain_queue(pipeline_resources)

    assert len(report.failures) == 5  # maxReceiveCount deliveries, then the redrive to the DLQ
    answer = status()
    assert answer["dlq_depth"] == 1 and answer["queue_depth"] == 0
    assert answer["visits_last_hour"] == 1


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # the crashed invocation's
def test_a_crash_after_counting_is_repaired_by_redelivery_without_double_counts(
    ingest: Ingest, pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN 6 visits, and a writer that dies (e.g. a timeout) after its counting transaction,
    # before the uniques sketch is written and before SQS hears back
    for i in range(6):
        assert ingest(rest_event("/", request_id=f"crash-{i}", source_ip=f"198.51.100.{i}")).status == 200
    messages = receive_batch(pipeline_resources)

    def crash(*_: Any, **__: Any) -> bool:
        raise TimeoutError("the function timed out")

    with monkeypatch.context() as patch, pytest.raises(TimeoutError):
        patch.setattr(aggstore, "write_sketch", crash)
        writer_handler(sqs_event(messages), FakeContext())
    # THEN the visits are logged and counted, the unique visitors not yet
    after_crash = status()
    assert after_crash["visitor_count"] == 6 and after_crash["visits_last_hour"] == 6
    assert after_crash["unique_visitors_today"] == 0
    assert len(visitlog.recent_visits(10, table_name=pipeline_resources.table_name)) == 6

    # WHEN SQS redelivers the batch (its visibility timeout ran out)
    sqs = boto3.client("sqs")
    for m in messages:
        sqs.change_message_visibility(
            QueueUrl=pipeline_resources.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )
    report = drain_queue(pipeline_resources)

    # THEN nothing is counted or logged twice, and the visitors reach the sketch
    assert report.failures == []
    final = status()
    assert final["visitor_count"] == 6 and final["visits_last_hour"] == 6
    assert final["unique_visitors_today"] == 6
    assert len(log_items(pipeline_resources.table_name)) == 6
