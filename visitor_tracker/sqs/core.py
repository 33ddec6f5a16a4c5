"""The core of local mode's SQS engine: queues behind one lock, and the operations every caller uses."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from visitor_tracker.sqs.model import (
    ACCOUNT,
    DEFAULT_ATTRIBUTES,
    MAX_RECEIVE,
    MAX_VISIBILITY_SECONDS,
    MAX_WAIT_SECONDS,
    RECEIPT_SEPARATOR,
    Journal,
    Message,
    Queue,
    SqsError,
    batch_answer,
    batch_entries,
    int_parameter,
    new_message_id,
    queue_attributes,
)


class Queues:
    """Every queue of local mode behind one lock: create, attributes, send, receive, delete, purge."""

    def __init__(self, *, region: str = "us-east-1", base_url: str = "http://127.0.0.1") -> None:
        self.region = region
        self.base_url = base_url.rstrip("/")
        self._queues: dict[str, Queue] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._tasks: list[dict[str, Any]] = []
        self.journal: Journal | None = None

    # --- in-process helpers (local mode's console, backpressure and persistence) ----------------

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def depth(self, name: str) -> int:
        """Messages on a queue, visible or not (0 for an unknown queue)."""
        queue = self._queues.get(name)
        return len(queue.messages) if queue is not None else 0

    def queue(self, name: str) -> Queue:
        """The queue object itself; callers hold ``lock`` while they touch it."""
        return self._queues[name]

    def restore(self, name: str, message: Message) -> None:
        """Put a persisted message back (its id kept), outside any journal."""
        queue = self._queues[name]
        message.visible_at, message.receipt = 0.0, None
        queue.messages[message.id] = message

    # --- the protocol ---------------------------------------------------------------------------

    def call(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """Run one SQS operation (its JSON-protocol name and request); its answer, or raise SqsError."""
        method: Callable[[Mapping[str, Any]], dict[str, Any]] | None = getattr(self, f"_op_{operation}", None)
        if method is None:
            raise SqsError("UnsupportedOperation", f"{operation} is not supported by local mode's SQS")
        if operation == "ReceiveMessage":
            return method(request)  # takes the lock itself: it may wait for messages
        with self._lock:
            return method(request)

    def _find(self, request: Mapping[str, Any]) -> Queue:
        url = request.get("QueueUrl")
        if not url:
            raise SqsError("MissingParameter", "The request must contain the parameter QueueUrl.")
        queue = self._queues.get(str(url).rstrip("/").rsplit("/", 1)[-1])
        if queue is None:
            raise SqsError("QueueDoesNotExist", "The specified queue does not exist.")
        return queue

    def _op_CreateQueue(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = str(request.get("QueueName", ""))
        if not name or len(name) > 80 or not all(c.isalnum() or c in "-_" for c in name):
            raise SqsError(
                "InvalidParameterValue",
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
            )
        wanted = queue_attributes(request)
        existing = self._queues.get(name)
        if existing is not None:
            if any(existing.attributes.get(k, DEFAULT_ATTRIBUTES.get(k)) != v for k, v in wanted.items()):
                raise SqsError(
                    "QueueNameExists",
                    "A queue already exists with the same name and a different value for attribute(s)",
                )
            return {"QueueUrl": existing.url}
        attributes = {**DEFAULT_ATTRIBUTES, **wanted, "_region": self.region}
        queue = Queue(name, f"{self.base_url}/{ACCOUNT}/{name}", attributes)
        self._queues[name] = queue
        return {"QueueUrl": queue.url}

    def _op_GetQueueAttributes(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._find(request)
        names = set(request.get("AttributeNames") or ["All"])
        visible, in_flight, delayed = queue.counts(time.monotonic())
        everything = {
            **{k: v for k, v in queue.attributes.items() if not k.startswith("_")},
            "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(visible),
            "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            "ApproximateNumberOfMessagesDelayed": str(delayed),
            "CreatedTimestamp": str(queue.created),
            "LastModifiedTimestamp": str(queue.created),
        }
        chosen = everything if "All" in names else {k: v for k, v in everything.items() if k in names}
        return {"Attributes": chosen}

    def _new_message(self, queue: Queue, entry: Mapping[str, Any]) -> Message:
        body = entry.get("MessageBody")
        if body is None or body == "":
            raise SqsError("MissingParameter", "The request must contain the parameter MessageBody.")
        limit = int(queue.attributes["MaximumMessageSize"])
        if len(str(body).encode()) > limit:
            raise SqsError(
                "InvalidParameterValue",
                f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes.",
            )
        delay = int_parameter(entry, "DelaySeconds", int(queue.attributes["DelaySeconds"]), 0, 900)
        return Message(
            id=new_message_id(),
            body=str(body),
            attributes={str(k): dict(v) for k, v in (entry.get("MessageAttributes") or {}).items()},
            sent_ms=int(time.time() * 1000),
            visible_at=time.monotonic() + delay if delay else 0.0,
        )

    @staticmethod
    def _sent(message: Message) -> dict[str, Any]:
        out = {"MessageId": message.id, "MD5OfMessageBody": message.md5()}
        if message.attributes:
            out["MD5OfMessageAttributes"] = message.attributes_md5()
        return out

    def _accept(self, queue: Queue, messages: list[Message]) -> None:
        for message in messages:
            queue.messages[message.id] = message
        if self.journal is not None and messages:
            self.journal.sent(queue.name, messages)
        self._arrived.notify_all()

    def _op_SendMessage(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._find(request)
        message = self._new_message(queue, request)
        self._accept(queue, [message])
        return self._sent(message)

    def _op_SendMessageBatch(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._find(request)
        successful, failed, accepted = [], [], []
        for entry in batch_entries(request):
            try:
                message = self._new_message(queue, entry)
            except SqsError as exc:
                failed.append({"Id": entry.get("Id"), "SenderFault": True, "Code": exc.code, "Message": exc.message})
                continue
            accepted.append(message)
            successful.append({"Id": entry.get("Id"), **self._sent(message)})
        self._accept(queue, accepted)
        return {"Successful": successful, "Failed": failed}

    def _take(self, queue: Queue, limit: int, visibility: int, now: float) -> list[Message]:
        """Receive up to ``limit`` visible messages (the redrive policy applied on the way); under the lock."""
        retention = int(queue.attributes["MessageRetentionPeriod"]) * 1000
        redrive = queue.redrive()
        taken: list[Message] = []
        expired: list[str] = []
        dead: list[Message] = []
        wall_ms = int(time.time() * 1000)
        for message in queue.messages.values():
            if len(taken) >= limit:
                break
            if message.visible_at > now:
                continue
            if wall_ms - message.sent_ms > retention:
                expired.append(message.id)
                continue
            if redrive is not None and message.receives >= redrive[1] and redrive[0] in self._queues:
                dead.append(message)
                continue
            message.receives += 1
            message.first_receive_ms = message.first_receive_ms or wall_ms
            # The handle carries the message id, so no table of handles grows with every receive.
            message.receipt = f"{message.id}{RECEIPT_SEPARATOR}{os.urandom(12).hex()}"
            message.visible_at = now + visibility
            taken.append(message)
        for message_id in expired:
            queue.messages.pop(message_id, None)
        if expired and self.journal is not None:
            self.journal.deleted(queue.name, expired)
        if dead and redrive is not None:
            self._move(queue, self._queues[redrive[0]], dead)
        return taken

    def _move(self, source: Queue, target: Queue, messages: list[Message]) -> None:
        """Move messages between queues keeping id and receive count (redrive, move tasks)."""
        for message in list(messages):
            source.messages.pop(message.id, None)
            message.visible_at, message.receipt = 0.0, None
            target.messages[message.id] = message
        if self.journal is not None and messages:
            self.journal.moved(source.name, target.name, messages)

    def _op_ReceiveMessage(self, request: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            queue = self._find(request)
            limit = int_parameter(request, "MaxNumberOfMessages", 1, 1, MAX_RECEIVE)
            visibility = int_parameter(
                request, "VisibilityTimeout", int(queue.attributes["VisibilityTimeout"]), 0, MAX_VISIBILITY_SECONDS
            )
            wait = int_parameter(
                request, "WaitTimeSeconds", int(queue.attributes["ReceiveMessageWaitTimeSeconds"]), 0, MAX_WAIT_SECONDS
            )
            system = bool(
                set(request.get("AttributeNames") or []) | set(request.get("MessageSystemAttributeNames") or [])
            )
            attribute_names = list(request.get("MessageAttributeNames") or [])
            deadline = time.monotonic() + wait
            while True:
                now = time.monotonic()
                taken = self._take(queue, limit, visibility, now)
                if taken or now >= deadline:
                    break
                # Woken by a send; or in time for the next message to become visible again.
                pending = [m.visible_at for m in queue.messages.values() if m.visible_at > now]
                self._arrived.wait(min([deadline - now, *(t - now + 0.001 for t in pending)]))
                if self._queues.get(queue.name) is not queue:
                    break
            received = [m.to_received(system=system, attribute_names=attribute_names) for m in taken]
        return {"Messages": received} if received else {}

    def _by_receipt(self, queue: Queue, receipt: Any) -> Message | None:
        """The message a receipt handle names, or None when it is gone already; raise for a malformed handle."""
        message_id, separator, token = (
            receipt.partition(RECEIPT_SEPARATOR) if isinstance(receipt, str) else ("", "", "")
        )
        if not separator or not message_id or not token:
            raise SqsError(
                "ReceiptHandleIsInvalid", f'The input receipt handle "{receipt}" is not a valid receipt handle.'
            )
        return queue.messages.get(message_id)

    def _delete(self, queue: Queue, receipts: list[Any]) -> list[SqsError | None]:
        """Delete by receipt handle: an older handle of the message deletes it too, a second delete is a no-op."""
        outcome: list[SqsError | None] = []
        deleted: list[str] = []
        for receipt in receipts:
            try:
                message = self._by_receipt(queue, receipt)
            except SqsError as exc:
                outcome.append(exc)
                continue
            if message is not None:
                del queue.messages[message.id]
                deleted.append(message.id)
            outcome.append(None)
        if deleted and self.journal is not None:
            self.journal.deleted(queue.name, deleted)
        return outcome

    @staticmethod
    def _answer_one(error: SqsError | None) -> dict[str, Any]:
        """A single-message operation's answer: its entry's error raised, else nothing to say."""
        if error is not None:
            raise error
        return {}

    def _op_DeleteMessage(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return self._answer_one(self._delete(self._find(request), [request.get("ReceiptHandle")])[0])

    def _op_DeleteMessageBatch(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._find(request)
        entries = batch_entries(request)
        outcome = self._delete(queue, [e.get("ReceiptHandle") for e in entries])
        return batch_answer(entries, outcome)

    def _op_PurgeQueue(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._find(request)
        queue.messages.clear()
        if self.journal is not None:
            self.journal.purged(queue.name)
        return {}
