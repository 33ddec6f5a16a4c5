"""Local mode's SQS event source mapping on the project's SQS engine: Lambda's event shape, deletes,
releases and the DLQ, as the deployed mapping behaves."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import boto3
import pytest

from visitor_tracker.local.esm import SqsEventSourceMapping, to_sqs_event
from visitor_tracker.resources import PipelineResources, create_resources


@pytest.fixture
def queue(aws: None, sqs_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> PipelineResources:
    # A real visibility timeout: a received message stays in flight until deleted or released.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", sqs_endpoint)
    prefix = f"esm-{uuid.uuid4().hex[:8]}"
    return create_resources(boto3.client("dynamodb"), boto3.client("sqs"), prefix=prefix, visibility_timeout=30)


def _depths(sqs: Any, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_sqs_event_has_lambdas_record_shape(queue: PipelineResources) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(
        QueueUrl=queue.queue_url,
        MessageBody='{"hello": "world"}',
        MessageAttributes={"visit_id": {"DataType": "String", "StringValue": "v-1"}},
    )
    messages = sqs.receive_message(
        QueueUrl=queue.queue_url, AttributeNames=["All"], MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]

    (record,) = to_sqs_event(messages, queue_arn=queue.queue_arn, region="us-east-1")["Records"]

    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.queue_arn
    assert record["awsRegion"] == "us-east-1"
    assert record["body"] == '{"hello": "world"}'
    assert record["md5OfBody"] == hashlib.md5(b'{"hello": "world"}').hexdigest()  # noqa: S324
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in record["attributes"]
    assert record["messageAttributes"]["visit_id"] == {
        "stringValue": "v-1",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageId"] and record["receiptHandle"]


def _esm(queue: PipelineResources, handler: Any) -> SqsEventSourceMapping:
    return SqsEventSourceMapping(
        boto3.client("sqs"),
        queue_url=queue.queue_url,
        queue_arn=queue.queue_arn,
        region="us-east-1",
        handler=handler,
        batching_window_seconds=0,
    )


def test_esm_deletes_successes_and_releases_reported_failures(queue: PipelineResources) -> None:
    # GIVEN three messages and a writer that reports the one with body "bad" as failed
    sqs = boto3.client("sqs")
    for body in ("good-1", "bad", "good-2"):
        sqs.send_message(QueueUrl=queue.queue_url, MessageBody=body)
    seen: list[dict[str, Any]] = []

    def writer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        bad = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in bad]}

    # WHEN one poll cycle runs
    handled = _esm(queue, writer).poll_once()

    # THEN the writer saw all three, the two good ones are gone, the bad one is visible again
    assert handled == 3
    assert sorted(r["body"] for r in seen[0]["Records"]) == ["bad", "good-1", "good-2"]
    assert _depths(sqs, queue.queue_url) == (1, 0)
    (left,) = sqs.receive_message(QueueUrl=queue.queue_url)["Messages"]
    assert left["Body"] == "bad"


def test_esm_writer_exception_fails_the_whole_batch(queue: PipelineResources) -> None:
    sqs = boto3.client("sqs")
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=queue.queue_url, MessageBody=body)

    def broken(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("table unreachable")

    esm = _esm(queue, broken)
    esm.poll_once()

    assert _depths(sqs, queue.queue_url) == (2, 0)
    assert esm.records_failed == 2 and esm.records_succeeded == 0


def test_esm_poison_message_reaches_the_dlq_after_max_receives(queue: PipelineResources) -> None:
    # GIVEN a message the writer always rejects
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queue.queue_url, MessageBody="poison")
    counts: list[str] = []

    def rejecting(event: dict[str, Any], context: Any) -> dict[str, Any]:
        poison = [r for r in event["Records"] if r["body"] == "poison"]
        counts.extend(r["attributes"]["ApproximateReceiveCount"] for r in poison)
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in poison]}

    esm = _esm(queue, rejecting)
    # WHEN the mapping polls maxReceiveCount times, then once more
    for _ in range(5):
        assert esm.poll_once() == 1
    sqs.send_message(QueueUrl=queue.queue_url, MessageBody="good")
    assert esm.poll_once() == 1  # only "good": the poison message moved on this receive

    # THEN it was delivered five times and now sits in the DLQ
    assert counts == ["1", "2", "3", "4", "5"]
    assert esm.pending() == 0
    dlq = sqs.receive_message(QueueUrl=queue.dlq_url)["Messages"]
    assert [m["Body"] for m in dlq] == ["poison"]


def test_esm_drain_reports_an_empty_queue(queue: PipelineResources) -> None:
    esm = _esm(queue, lambda event, context: None)
    assert esm.drain(1.0) is True
    boto3.client("sqs").send_message(QueueUrl=queue.queue_url, MessageBody="x")
    assert esm.pending() == 1
    esm.poll_once()
    assert esm.drain(1.0) is True


# --- the local gateway (stub handlers) ------------------------------------------------------------
