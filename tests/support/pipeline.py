"""Drive the real queue like Lambda's SQS event source mapping does, for writer and pipeline tests.

``drain_queue`` receives messages from the (moto) queue in batches, hands them to the writer
handler as an SQS event built from the received messages, deletes what the handler did not report
failed, and leaves failed ones to come back (tests create the queue with a zero visibility timeout),
so redelivery and the DLQ redrive behave as in AWS.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from functions.core.definitions import CORRELATION_ID_ATTRIBUTE, QUEUE
from functions.model.visit import Visit, format_timestamp
from visitor_tracker.events import LambdaContext
from visitor_tracker.local.esm import to_sqs_event
from visitor_tracker.resources import PipelineResources

IN_FLIGHT_SECONDS = 300
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
DEFAULT_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def FakeContext(function_name: str = "writer") -> LambdaContext:  # noqa: N802 - reads like the class it was
    """A Lambda context for handler calls in tests: local mode's stand-in."""
    return LambdaContext(function_name, memory_limit_in_mb=256)


def make_visit(
    *,
    when: datetime | None = None,
    minutes_ago: float = 0,
    path: str = "/",
    referrer: str | None = None,
    user_agent: str = DEFAULT_UA,
    is_bot: bool = False,
    bot_class: str | None = None,
    visitor: str | None = "default-visitor",
    visit_id: str | None = None,
    **fields: Any,
) -> Visit:
    """A valid visit record (as ingest would put it on the queue): the tests' one visit factory.

    ``when`` defaults to now minus ``minutes_ago``; ``fields`` override any other field of the record."""
    when = when or datetime.now(UTC) - timedelta(minutes=minutes_ago)
    visit = Visit(
        visit_id=visit_id or str(uuid.uuid4()),
        timestamp=format_timestamp(when),
        ip="203.0.113.7",
        user_agent=user_agent,
        path=path,
        referrer=referrer,
        is_bot=is_bot,
        bot_class=bot_class or ("crawler" if is_bot else None),
        counted=not is_bot,
        visitor=hashlib.sha256(visitor.encode()).hexdigest()[:32] if visitor else None,
    )
    return replace(visit, **fields) if fields else visit


def send_visits(resources: PipelineResources, visits: Iterable[Visit]) -> None:
    """Put visit records on the queue, 10 per SendMessageBatch, with the visit id attribute."""
    sqs = boto3.client("sqs")
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        if batch:
            response = sqs.send_message_batch(QueueUrl=resources.queue_url, Entries=batch)
            assert not response.get("Failed"), response["Failed"]
            batch.clear()

    for i, visit in enumerate(visits):
        batch.append(
            {
                "Id": str(i),
                "MessageBody": visit.to_json(),
                "MessageAttributes": {CORRELATION_ID_ATTRIBUTE: {"DataType": "String", "StringValue": visit.visit_id}},
            }
        )
        if len(batch) == 10:
            flush()
    flush()


def send_raw(resources: PipelineResources, body: str) -> str:
    """Put an arbitrary body on the queue (poison messages); return its message id."""
    return str(boto3.client("sqs").send_message(QueueUrl=resources.queue_url, MessageBody=body)["MessageId"])


def sqs_event(messages: Sequence[dict[str, Any]], queue_arn: str = "") -> dict[str, Any]:
    """The Lambda SQS event for messages returned by ReceiveMessage: local mode's event source mapping's own."""
    return to_sqs_event(messages, queue_arn=queue_arn, region="us-east-1")


def receive_batch(resources: PipelineResources, max_messages: int = QUEUE.batch_size) -> list[dict[str, Any]]:
    """Up to ``max_messages`` messages, received 10 at a time (SQS's limit per call)."""
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while len(messages) < max_messages:
        got = sqs.receive_message(
            QueueUrl=resources.queue_url,
            MaxNumberOfMessages=min(10, max_messages - len(messages)),
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
            WaitTimeSeconds=0,
            # Hidden while the batch is gathered and handled, as under the event source mapping.
            VisibilityTimeout=IN_FLIGHT_SECONDS,
        ).get("Messages", [])
        if not got:
            break
        messages.extend(got)
    return messages


@dataclass
class DrainReport:
    invocations: int = 0
    records: int = 0
    failures: list[str] = field(default_factory=list)  # message ids reported failed, every time


def deliver(resources: PipelineResources, handler: Handler, messages: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Invoke the handler with these messages, delete the ones it did not report failed, release the others.

    Failed messages are made visible again at once (a visibility timeout that has run out).
    """
    response = handler(sqs_event(messages, resources.queue_arn), FakeContext())
    failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    done = [m for m in messages if m["MessageId"] not in failed]
    sqs = boto3.client("sqs")
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=resources.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    for start in range(0, len(done), 10):
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])]
        sqs.delete_message_batch(QueueUrl=resources.queue_url, Entries=entries)
    return response


def drain_queue(
    resources: PipelineResources,
    handler: Handler | None = None,
    *,
    batch_size: int = QUEUE.batch_size,
    max_invocations: int = 1000,
) -> DrainReport:
    """Feed the writer until the queue is empty (failed messages come back until the DLQ takes them)."""
    if handler is None:
        from functions.writer.handler import handler as writer_handler

        handler = writer_handler
    report = DrainReport()
    while report.invocations < max_invocations:
        messages = receive_batch(resources, batch_size)
        if not messages:
            break
        response = deliver(resources, handler, messages)
        report.invocations += 1
        report.records += len(messages)
        report.failures.extend(f["itemIdentifier"] for f in response.get("batchItemFailures", []))
    return report


def queue_depth(url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def scan_all(table_name: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table_name}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def log_items(table_name: str) -> list[dict[str, Any]]:
    return [i for i in scan_all(table_name) if i["pk"]["S"].startswith("LOG#")]
