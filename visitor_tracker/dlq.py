"""Dead-letter queue inspection, free of any UI (the CLI renders the results); redrive is in
``visitor_tracker.redrive``.

Looking never consumes: ``peek``/``find`` receive messages with a short visibility timeout only to
read them, then set their visibility back to 0, so they are visible again right away.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions

from functions.model import keys
from functions.tables import store

SQSClient = Any
DynamoDBClient = Any
Progress = Callable[[int], None]  # called with the number of messages just moved

SQS_BATCH = 10  # the most SQS returns / accepts in one call
PEEK_VISIBILITY_SECONDS = 30  # hides a message while it is listed; released right after
EMPTY_RECEIVE_RETRIES = 2  # long-poll retries before deciding the queue holds nothing more
PREVIEW_CHARS = 60


@dataclass(frozen=True)
class DlqMessage:
    """One dead-lettered message as the CLI shows it."""

    message_id: str
    body: str
    sent_at: datetime | None
    receive_count: int
    attributes: dict[str, str]
    message_attributes: dict[str, Any]
    receipt_handle: str
    reason: str | None = None

    @classmethod
    def from_sqs(cls, message: dict[str, Any]) -> DlqMessage:
        attributes = dict(message.get("Attributes", {}))
        sent_ms = attributes.get("SentTimestamp")
        return cls(
            message_id=message["MessageId"],
            body=message.get("Body", ""),
            sent_at=datetime.fromtimestamp(int(sent_ms) / 1000, UTC) if sent_ms else None,
            receive_count=int(attributes.get("ApproximateReceiveCount", "0")),
            attributes=attributes,
            message_attributes=dict(message.get("MessageAttributes", {})),
            receipt_handle=message["ReceiptHandle"],
        )

    def with_reason(self, reason: str | None) -> DlqMessage:
        return DlqMessage(**{**self.__dict__, "reason": reason})

    def body_json(self) -> Any | None:
        """The body parsed as JSON, or None when it is not JSON (a poison message, often)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def preview(self, width: int = PREVIEW_CHARS) -> str:
        flat = " ".join(self.body.split())
        return flat if len(flat) <= width else flat[: width - 1] + "…"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (no receipt handle: it is only valid for this one receive)."""
        return {
            "message_id": self.message_id,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "receive_count": self.receive_count,
            "reason": self.reason,
            "body": self.body,
            "attributes": self.attributes,
            "message_attributes": self.message_attributes,
        }


def depth(sqs: SQSClient, queue_url: str) -> dict[str, int]:
    """Approximate visible and in-flight message counts of a queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def peek(sqs: SQSClient, dlq_url: str, limit: int) -> list[DlqMessage]:
    """Up to ``limit`` messages, oldest first, left in the queue and visible again on return."""
    messages: list[DlqMessage] = []
    with held_messages(sqs, dlq_url) as held:
        for batch in receive_batches(sqs, dlq_url, limit, held):
            messages.extend(batch)
    return sorted(messages, key=lambda m: (m.sent_at or datetime.min.replace(tzinfo=UTC), m.message_id))


def find(sqs: SQSClient, dlq_url: str, message_id: str, scan_limit: int = 10_000) -> DlqMessage | None:
    """The message with this id, or None; scanning stops at the first match and consumes nothing."""
    with held_messages(sqs, dlq_url) as held:
        for batch in receive_batches(sqs, dlq_url, scan_limit, held):
            for message in batch:
                if message.message_id == message_id:
                    return message
    return None


def attach_reasons(
    dynamodb: DynamoDBClient, table_name: str, messages: list[DlqMessage], max_attempts: int = 5
) -> list[DlqMessage]:
    """The same messages with the failure reason the writer recorded for each, where it recorded one.

    Raises ``RuntimeError`` when DynamoDB keeps some reasons unread: a list missing reasons would lie.
    """
    ids = sorted({m.message_id for m in messages})
    items = store.get_items(
        table_name,
        [keys.failure_key(i) for i in ids],
        store.Backoff(attempts=max_attempts),
        projection=[keys.PK, keys.SK, "reason"],
        client=dynamodb,
    )
    reasons = {item[keys.SK]["S"]: item["reason"]["S"] for item in items.values() if "reason" in item}
    return [m.with_reason(reasons.get(m.message_id)) for m in messages]


def purge(sqs: SQSClient, dlq_url: str) -> int:
    """Delete every message of the DLQ; returns how many there were (approximately)."""
    count = depth(sqs, dlq_url)["visible"]
    sqs.purge_queue(QueueUrl=dlq_url)
    return count


def receive_batches(
    sqs: SQSClient,
    queue_url: str,
    limit: int,
    held: list[DlqMessage],
    *,
    skip: set[str] | frozenset[str] = frozenset(),
    visibility: int = PEEK_VISIBILITY_SECONDS,
) -> Iterator[list[DlqMessage]]:
    """Batches of messages not seen before, until ``limit`` or the queue shows no more.

    Every message received goes into ``held`` (so the caller releases it), even one skipped here.
    A short poll can miss messages on real SQS, so an empty answer is retried as a 1 s long poll
    while the queue still reports visible messages.
    """
    seen = set(skip)
    count = 0
    empty = 0
    while count < limit:
        received = _receive(sqs, queue_url, limit - count, visibility, wait=1 if empty else 0)
        held.extend(received)
        batch = [m for m in received if m.message_id not in seen]
        if not batch:
            empty += 1
            if empty > EMPTY_RECEIVE_RETRIES or depth(sqs, queue_url)["visible"] == 0:
                return
            continue
        empty = 0
        seen.update(m.message_id for m in batch)
        count += len(batch)
        yield batch


def _receive(sqs: SQSClient, queue_url: str, count: int, visibility: int, wait: int = 0) -> list[DlqMessage]:
    response = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max(1, min(SQS_BATCH, count)),
        VisibilityTimeout=visibility,
        WaitTimeSeconds=wait,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return [DlqMessage.from_sqs(m) for m in response.get("Messages", [])]


@contextmanager
def held_messages(sqs: SQSClient, queue_url: str) -> Iterator[list[DlqMessage]]:
    """A list of received messages that are made visible again on exit, whatever happens."""
    held: list[DlqMessage] = []
    try:
        yield held
    finally:
        release(sqs, queue_url, held)


def release(sqs: SQSClient, queue_url: str, messages: Iterable[DlqMessage]) -> None:
    """Make received messages visible again now (best effort: otherwise they return after the timeout)."""
    pending = list(messages)
    for start in range(0, len(pending), SQS_BATCH):
        chunk = pending[start : start + SQS_BATCH]
        try:
            sqs.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            continue
