"""DLQ redrive, free of any UI: it never loses a message.

SQS ``StartMessageMoveTask`` when the endpoint has it; otherwise receive -> send to the visit queue ->
delete from the DLQ, deleting only what was sent. A crash in between leaves a message in both
queues: a duplicate, which the idempotent writer absorbs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import botocore.exceptions

from visitor_tracker.dlq import (
    SQS_BATCH,
    DlqMessage,
    Progress,
    SQSClient,
    depth,
    held_messages,
    receive_batches,
)

REDRIVE_VISIBILITY_SECONDS = 60  # covers one send + delete round trip with a wide margin
MOVE_TASK_POLL_SECONDS = 1.0
MOVE_TASK_UNSEEN_POLLS = 10
SEND_BATCH_BYTES = 256 * 1024  # SendMessageBatch's limit on the sum of the messages' sizes
_MOVE_TASK_DONE = ("COMPLETED", "FAILED", "CANCELLED")


class RedriveError(Exception):
    """The redrive stopped part-way; ``moved`` messages were moved before it did."""

    def __init__(self, message: str, moved: int) -> None:
        super().__init__(message)
        self.moved = moved


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
        with held_messages(sqs, dlq_url) as held:  # whatever is not deleted is made visible again on exit
            batch = next(
                receive_batches(sqs, dlq_url, want, held, skip=done, visibility=REDRIVE_VISIBILITY_SECONDS), []
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


def _arn(sqs: SQSClient, queue_url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
