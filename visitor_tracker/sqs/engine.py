"""Local mode's SQS engine: the queue semantics the pipeline relies on, in process, behind SQS's JSON protocol.

Why not moto's SQS any more: moto's backends are not thread-safe (a ``DeleteMessage`` rebuilding a
queue's list lost a ``SendMessage`` landing at the same moment), every send and receive recomputed
all queue attributes over the whole backlog, and its Flask dispatch cost about 5 ms of CPU per
SendMessage on this machine, more than the whole request of the baseline it is compared with (bench
figure 6). This engine keeps one lock, answers a SendMessage in tens of microseconds and keeps its
messages durable through ``visitor_tracker.sqs.journal``.

What it implements, as SQS documents it (standard queues only):

- send (one or a batch, ``DelaySeconds``), receive (up to 10, long polls, per-call visibility),
  delete and change visibility (one or a batch), purge, queue attributes (the approximate counts,
  ``QueueArn``, the redrive policy), create/get/list/delete queue;
- the redrive policy: a message received ``maxReceiveCount`` times and not deleted moves to the
  dead-letter queue on the next receive, keeping its id and receive count;
- ``StartMessageMoveTask`` (moves everything at once and lists the task as COMPLETED) and
  ``ListMessageMoveTasks``, so the CLI's redrive uses SQS's own call here too;
- MD5s of bodies and message attributes, and errors with SQS's codes (``QueueDoesNotExist``,
  ``ReceiptHandleIsInvalid``, ...), which botocore turns into the same ``ClientError``s.

``SqsEngine.call(operation, request)`` takes and returns the JSON protocol's dicts, so the same
code serves HTTP (``visitor_tracker.emulator``) and in-process callers (``EngineClient``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from visitor_tracker.sqs.core import Queues
from visitor_tracker.sqs.model import (
    MAX_VISIBILITY_SECONDS,
    Queue,
    SqsError,
    batch_answer,
    batch_entries,
    int_parameter,
)


class SqsEngine(Queues):
    """Local mode's SQS: the core operations, plus visibility changes and the DLQ's message moves."""

    def _visibility(self, queue: Queue, receipt: Any, seconds: Any) -> SqsError | None:
        try:
            message = self._by_receipt(queue, receipt)
            timeout = int_parameter({"VisibilityTimeout": seconds}, "VisibilityTimeout", 0, 0, MAX_VISIBILITY_SECONDS)
        except SqsError as exc:
            return exc
        if message is None or message.receipt != receipt:  # only the latest receive may change it
            return SqsError(
                "InvalidParameterValue",
                "Value for parameter ReceiptHandle is invalid. Reason: Message "
                "does not exist or is not available for visibility timeout change.",
            )
        message.visible_at = time.monotonic() + timeout
        if timeout == 0:
            self._arrived.notify_all()
        return None

    def _op_ChangeMessageVisibility(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._find(request)
        return self._answer_one(self._visibility(queue, request.get("ReceiptHandle"), request.get("VisibilityTimeout")))

    def _op_ChangeMessageVisibilityBatch(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._find(request)
        entries = batch_entries(request)
        outcome = [self._visibility(queue, e.get("ReceiptHandle"), e.get("VisibilityTimeout", 0)) for e in entries]
        return batch_answer(entries, outcome)

    def _by_arn(self, arn: Any) -> Queue:
        queue = self._queues.get(str(arn or "").rsplit(":", 1)[-1])
        if queue is None:
            raise SqsError(
                "ResourceNotFoundException",
                f"The resource that you specified for the SourceArn parameter doesn't exist: {arn}",
            )
        return queue

    def _op_StartMessageMoveTask(self, request: Mapping[str, Any]) -> dict[str, Any]:
        source = self._by_arn(request.get("SourceArn"))
        target = self._by_arn(request.get("DestinationArn")) if request.get("DestinationArn") else None
        if target is None:
            raise SqsError("InvalidParameterValue", "local mode's SQS needs a DestinationArn")
        now = time.monotonic()
        moving = [m for m in source.messages.values() if m.visible_at <= now]
        for message in moving:
            message.receives, message.first_receive_ms = 0, None  # or the redrive policy sends it straight back
        self._move(source, target, moving)
        self._arrived.notify_all()
        handle = uuid.uuid4().hex
        self._tasks.insert(
            0,
            {
                "TaskHandle": handle,
                "Status": "COMPLETED",
                "SourceArn": source.arn,
                "DestinationArn": target.arn,
                "ApproximateNumberOfMessagesMoved": len(moving),
                "ApproximateNumberOfMessagesToMove": len(moving),
                "StartedTimestamp": int(time.time() * 1000),
            },
        )
        return {"TaskHandle": handle}

    def _op_ListMessageMoveTasks(self, request: Mapping[str, Any]) -> dict[str, Any]:
        source = self._by_arn(request.get("SourceArn"))
        limit = int_parameter(request, "MaxResults", 1, 1, 10)
        return {"Results": [t for t in self._tasks if t["SourceArn"] == source.arn][:limit]}
