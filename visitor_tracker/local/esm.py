"""A local stand-in for Lambda's SQS event source mapping (ESM), so the writer runs as deployed.

One thread long-polls the queue, gathers up to ``QUEUE.batch_size`` records or waits at most
``QUEUE.max_batching_window_seconds``, calls the writer with the event Lambda would build, deletes
the records that succeeded and hands the failed ones back to the queue. The queue's redrive policy
(``maxReceiveCount``) then moves a record that keeps failing to the DLQ, as in AWS.

Semantics kept from Lambda (with ``ReportBatchItemFailures`` on, as the stack configures it):

- the writer raising, or answering with a malformed ``batchItemFailures`` (an unknown or empty
  ``itemIdentifier``), fails the WHOLE batch;
- ``None``, ``{}`` or an empty list means every record succeeded.

One local difference: failed records are made visible again at once (ChangeMessageVisibility 0)
instead of after the visibility timeout, so retries and dead-lettering take seconds, not minutes.

It also plays SQS's own part in CloudWatch: given a CloudWatch client, it publishes the queue's
``ApproximateAgeOfOldestMessage`` (the age of the oldest record it just received, 0 when the queue
is empty) at most every ``AGE_PUBLISH_SECONDS``, so ``/status`` reads the age locally as deployed.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from functions.core.definitions import QUEUE
from functions.core.observability import logger
from visitor_tracker.events import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]
Message = Mapping[str, Any]

MAX_RECEIVE_PER_CALL = 10  # the SQS API maximum
POLL_WAIT_SECONDS = 1
AGE_PUBLISH_SECONDS = 5.0
AGE_METRIC = "ApproximateAgeOfOldestMessage"


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """One message attribute in Lambda's event shape (camelCase, list fields always present)."""
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": list(value.get("BinaryListValues", [])),
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        binary = value["BinaryValue"]
        if isinstance(binary, bytes | bytearray):
            binary = base64.b64encode(binary).decode("ascii")
        attribute["binaryValue"] = binary
    return attribute


def to_sqs_record(message: Message, *, queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda SQS event record for one ReceiveMessage message (pure)."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def to_sqs_event(messages: Iterable[Message], *, queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda passes to a function subscribed to the queue."""
    return {"Records": [to_sqs_record(m, queue_arn=queue_arn, region=region) for m in messages]}


def failed_message_ids(result: Any, message_ids: Sequence[str]) -> set[str]:
    """The records to retry, read from the writer's answer as Lambda reads it.

    A malformed answer (not a dict, ``batchItemFailures`` not a list, an identifier that is empty
    or not in the batch) fails the whole batch.
    """
    everything = set(message_ids)
    if result is None:
        return set()
    if not isinstance(result, Mapping):
        return everything
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return everything
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything
        failed.add(identifier)
    return failed


def _chunks(items: Sequence[Any], size: int = 10) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqsEventSourceMapping:
    """Polls ``queue_url`` on a thread and invokes ``handler`` with batches, like Lambda's ESM."""

    def __init__(
        self,
        sqs: Any,
        *,
        queue_url: str,
        queue_arn: str,
        region: str,
        handler: Handler,
        function_name: str = "visitor-tracker-writer",
        batch_size: int = QUEUE.batch_size,
        batching_window_seconds: float = QUEUE.max_batching_window_seconds,
        timeout_seconds: int = QUEUE.writer_timeout_seconds,
        cloudwatch: Any | None = None,
    ) -> None:
        self._sqs = sqs
        self._cloudwatch = cloudwatch
        self._age_published_at: float | None = None
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._region = region
        self._handler = handler
        self._function_name = function_name
        self._batch_size = batch_size
        self._window = batching_window_seconds
        self._timeout = timeout_seconds
        self._stop = threading.Event()
        self._busy = threading.Event()  # set while records are held by the poller
        self._thread: threading.Thread | None = None
        self.invocations = 0
        self.records_succeeded = 0
        self.records_failed = 0

    # --- one poll cycle (also callable directly, without the thread) ---------------------------

    def _receive(self, max_messages: int, wait_seconds: int) -> list[Message]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def gather(self) -> list[Message]:
        """Up to ``batch_size`` messages: stop when full or when the batching window has passed."""
        batch: list[Message] = []
        seen: set[str] = set()
        deadline: float | None = None
        while len(batch) < self._batch_size and not self._stop.is_set():
            if deadline is None:
                wait = POLL_WAIT_SECONDS
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(POLL_WAIT_SECONDS, int(remaining))
            received = self._receive(min(MAX_RECEIVE_PER_CALL, self._batch_size - len(batch)), wait)
            if received:
                self._busy.set()
            for message in received:
                if message["MessageId"] not in seen:  # a redelivery inside one batch: keep the first
                    seen.add(message["MessageId"])
                    batch.append(message)
            if not batch:
                return batch  # nothing waiting: let the caller loop (and notice a stop)
            if deadline is None:
                deadline = time.monotonic() + self._window
            if not received and wait == 0:
                time.sleep(0.05)  # short polls inside the window: do not spin
        return batch

    def invoke(self, batch: Sequence[Message]) -> set[str]:
        """Call the handler with one batch, delete the successes, release the failures."""
        message_ids = [m["MessageId"] for m in batch]
        event = to_sqs_event(batch, queue_arn=self._queue_arn, region=self._region)
        context = LambdaContext(self._function_name, timeout_seconds=self._timeout, region=self._region)
        self.invocations += 1
        try:
            result = self._handler(event, context)
        except Exception:  # noqa: BLE001 - Lambda treats any error as a failed batch
            logger.exception("writer failed: the whole batch returns to the queue", extra={"records": len(batch)})
            failed = set(message_ids)
        else:
            failed = failed_message_ids(result, message_ids)
        succeeded = [m for m in batch if m["MessageId"] not in failed]
        retried = [m for m in batch if m["MessageId"] in failed]
        for chunk in _chunks(succeeded):
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        for chunk in _chunks(retried):
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )
        self.records_succeeded += len(succeeded)
        self.records_failed += len(retried)
        return failed

    def publish_age(self, batch: Sequence[Message], *, force: bool = False) -> float | None:
        """Publish the oldest-message age as SQS does; the value sent, or None when not due."""
        if self._cloudwatch is None:
            return None
        now = time.monotonic()
        if not force and self._age_published_at is not None and now - self._age_published_at < AGE_PUBLISH_SECONDS:
            return None
        sent = [int(m.get("Attributes", {}).get("SentTimestamp", 0)) for m in batch]
        age = max((time.time() - s / 1000 for s in sent if s), default=0.0)
        try:
            self._cloudwatch.put_metric_data(
                Namespace="AWS/SQS",
                MetricData=[
                    {
                        "MetricName": AGE_METRIC,
                        "Dimensions": [{"Name": "QueueName", "Value": self._queue_url.rstrip("/").rsplit("/", 1)[-1]}],
                        "Value": round(max(age, 0.0), 3),
                        "Unit": "Seconds",
                    }
                ],
            )
        except Exception:  # noqa: BLE001 - a metric is informative: never stop the writer for it
            logger.warning("could not publish the oldest-message age", exc_info=True)
            return None
        self._age_published_at = now
        return age

    def poll_once(self) -> int:
        """Gather one batch and process it; the number of records handled (0 when the queue was empty)."""
        try:
            batch = self.gather()
            self.publish_age(batch)
            if batch:
                self.invoke(batch)
            return len(batch)
        finally:
            self._busy.clear()

    # --- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - the emulator hiccuped: keep polling, like the ESM
                logger.exception("event source mapping poll failed")
                self._stop.wait(0.5)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqs-esm", daemon=True)
        self._thread.start()

    def pending(self) -> int:
        """Messages still on the queue: visible plus in flight (held by a consumer)."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
            attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
        )

    def drain(self, timeout: float) -> bool:
        """Wait until the queue is empty and no batch is in hand; False when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._busy.is_set() and self.pending() == 0 and not self._busy.is_set():
                return True
            time.sleep(0.1)
        return False

    def stop(self, drain_timeout: float = 0.0) -> bool:
        """Optionally drain, then stop the thread; True when the queue was left empty."""
        drained = self.drain(drain_timeout) if drain_timeout > 0 else False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=POLL_WAIT_SECONDS + self._timeout)
        return drained
