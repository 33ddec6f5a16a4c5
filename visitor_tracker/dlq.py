"""Dead-letter queue inspection and redrive, free of any UI (the CLI renders the results).

Two rules shape this module:

- Looking never consumes. ``peek``/``find`` receive messages with a short visibility timeout only to
  read them, then set their visibility back to 0, so they are visible again right away.
- Redrive never loses a message. SQS ``StartMessageMoveTask`` when the endpoint has it; otherwise
  receive -> send to the visit queue -> delete from the DLQ, deleting only what was sent. A crash in
  between leaves a message in both queues: a duplicate, which the idempotent writer absorbs.
"""

from __future__ import annotations

import json
import time
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
REDRIVE_VISIBILITY_SECONDS = 60  # covers one send + delete round trip with a wide margin
EMPTY_RECEIVE_RETRIES = 2  # long-poll retries before deciding the queue holds nothing more
MOVE_TASK_POLL_SECONDS = 1.0
MOVE_TASK_UNSEEN_POLLS = 10
SEND_BATCH_BYTES = 256 * 1024  # SendMessageBatch's limit on the sum of the messages' sizes
PREVIEW_CHARS = 60
_MOVE_TASK_DONE = ("COMPLETED", "FAILED", "CANCELLED")


class RedriveError(Exception):
    """The redrive stopped part-way; ``moved`` messages were moved before it did."""

    def __init__(self, message: str, moved: int) -> None:
        super().__init__(message)
        self.moved = moved


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
    with _held(sqs, dlq_url) as held:
        for batch in _receive_batches(sqs, dlq_url, limit, held):
            messages.extend(batch)
    return sorted(messages, key=lambda m: (m.sent_at or datetime.min.replace(tzinfo=UTC), m.message_id))


def find(sqs: SQSClient, dlq_url: str, message_id: str, scan_limit: int = 10_000) -> DlqMessage | None:
    """The message with this id, or None; scanning stops at the first match and consumes nothing."""
    with _held(sqs, dlq_url) as held:
        for batch in _receive_batches(sqs, dlq_url, scan_limit, held):
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


def redrive(
    sqs: SQSClient,
    dlq_url: str,
    queue_url: str,
    *,
    limit: int | None = None,
    progress: Progress | None = None,
    move_task_sqs: SQSClient | None = None,
) -> tuple[int, str]:
    """Move messages from the DLQ back to the visit queue; returns (messages moved, method used).

    Without a limit, SQS's own ``StartMessageMoveTask`` is tried first (through ``move_task_sqs`` when
    given: a client that does not retry, since an emulator without it answers 500); endpoints without
    it get the receive -> send -> delete fallback, which also serves ``limit``.
    """
    report = progress or (lambda _n: None)
    if limit is None:
        moved = _move_task(move_task_sqs or sqs, dlq_url, queue_url, report)
        if moved is not None:
            return moved, "StartMessageMoveTask"
        # What is there now, not what arrives while we run: a poison message fails again within
        # seconds in local mode, and comes back under a new id; it must not be moved in a loop.
        limit = depth(sqs, dlq_url)["visible"]
    return _redrive_by_hand(sqs, dlq_url, queue_url, limit, report), "receive/send/delete"


def _move_task(sqs: SQSClient, dlq_url: str, queue_url: str, report: Progress) -> int | None:
    """Run SQS's move task to completion; None when the endpoint does not offer it."""
    try:
        dlq_arn = _arn(sqs, dlq_url)
        handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=_arn(sqs, queue_url))["TaskHandle"]
    except (botocore.exceptions.ClientError, KeyError):
        return None
    reported = 0
    unseen = 0
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10).get("Results", [])
        task = next((t for t in tasks if t.get("TaskHandle") == handle), None)
        if task is None:  # the listing may lag the start a little
            unseen += 1
            if unseen > MOVE_TASK_UNSEEN_POLLS:
                raise RedriveError("SQS move task started but never listed: check `dlq list`", reported)
            time.sleep(MOVE_TASK_POLL_SECONDS)
            continue
        moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        if moved > reported:
            report(moved - reported)
            reported = moved
        status = task.get("Status", "COMPLETED")
        if status in _MOVE_TASK_DONE:
            if status != "COMPLETED":
                reason = task.get("FailureReason", status.lower())
                raise RedriveError(f"SQS move task {status.lower()}: {reason}", moved)
            return moved
        time.sleep(MOVE_TASK_POLL_SECONDS)


def _redrive_by_hand(sqs: SQSClient, dlq_url: str, queue_url: str, limit: int | None, report: Progress) -> int:
    moved = 0
    done: set[str] = set()  # a message seen again (it failed anew while we run) is left for next time
    while limit is None or moved < limit:
        want = SQS_BATCH if limit is None else min(SQS_BATCH, limit - moved)
        with _held(sqs, dlq_url) as held:  # whatever is not deleted is made visible again on exit
            batch = next(
                _receive_batches(sqs, dlq_url, want, held, skip=done, visibility=REDRIVE_VISIBILITY_SECONDS), []
            )
            if not batch:
                break
            sent = _send(sqs, queue_url, batch)
            deleted = _delete(sqs, dlq_url, sent)
            held[:] = [m for m in held if m.message_id not in deleted]
            done.update(deleted)
            moved += len(deleted)
            if deleted:
                report(len(deleted))
            if len(sent) < len(batch):
                raise RedriveError(f"{len(batch) - len(sent)} message(s) could not be sent to the visit queue", moved)
    return moved


def _send(sqs: SQSClient, queue_url: str, batch: list[DlqMessage]) -> list[DlqMessage]:
    """Send messages to the visit queue, in batches under SQS's size limit; returns those accepted."""
    sent: list[DlqMessage] = []
    for chunk in _by_size(batch):
        entries = []
        for index, message in enumerate(chunk):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": message.body}
            if message.message_attributes:
                entry["MessageAttributes"] = _sendable(message.message_attributes)
            entries.append(entry)
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        sent.extend(chunk[int(ok["Id"])] for ok in response.get("Successful", []))
    return sent


def _sendable(attributes: dict[str, Any]) -> dict[str, Any]:
    keep = ("DataType", "StringValue", "BinaryValue")
    return {name: {k: v for k, v in value.items() if k in keep} for name, value in attributes.items()}


def _size(message: DlqMessage) -> int:
    size = len(message.body.encode())
    for name, value in message.message_attributes.items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        size += len(str(value.get("StringValue", "")).encode()) + len(value.get("BinaryValue", b"") or b"")
    return size


def _by_size(batch: list[DlqMessage]) -> Iterator[list[DlqMessage]]:
    """Split a batch so that each part's total size fits one SendMessageBatch (big bodies go alone)."""
    chunk: list[DlqMessage] = []
    total = 0
    for message in batch:
        size = _size(message)
        if chunk and total + size > SEND_BATCH_BYTES:
            yield chunk
            chunk, total = [], 0
        chunk.append(message)
        total += size
    if chunk:
        yield chunk


def _delete(sqs: SQSClient, dlq_url: str, sent: list[DlqMessage]) -> set[str]:
    """Delete sent messages from the DLQ; returns the ids deleted (a failed delete = a duplicate later)."""
    if not sent:
        return set()
    response = sqs.delete_message_batch(
        QueueUrl=dlq_url,
        Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(sent)],
    )
    return {sent[int(ok["Id"])].message_id for ok in response.get("Successful", [])}


def _receive_batches(
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
def _held(sqs: SQSClient, queue_url: str) -> Iterator[list[DlqMessage]]:
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


def _arn(sqs: SQSClient, queue_url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
