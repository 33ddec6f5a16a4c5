"""Local mode's SQS: the queue semantics the pipeline relies on, in process, behind SQS's JSON protocol.

Why not moto's SQS any more: moto's backends are not thread-safe (a ``DeleteMessage`` rebuilding a
queue's list lost a ``SendMessage`` landing at the same moment), every send and receive recomputed
all queue attributes over the whole backlog, and its Flask dispatch cost about 5 ms of CPU per
SendMessage on this machine, more than the whole request of the baseline it is compared with (bench
figure 6). This engine keeps one lock, answers a SendMessage in tens of microseconds and keeps its
messages durable through ``visitor_tracker.queue_store``.

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

import base64
import binascii
import hashlib
import json
import os
import struct
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

ACCOUNT = "123456789012"
SENDER_ID = "AIDALOCALMODE"
MAX_RECEIVE = 10
RECEIPT_SEPARATOR = "~"  # receipt handle: <message id>~<random>
MAX_WAIT_SECONDS = 20
MAX_VISIBILITY_SECONDS = 12 * 3600
DEFAULT_ATTRIBUTES: Mapping[str, str] = {
    "VisibilityTimeout": "30",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "DelaySeconds": "0",
    "MaximumMessageSize": "262144",
}
SETTABLE = frozenset(
    {
        *DEFAULT_ATTRIBUTES,
        "RedrivePolicy",
        "Policy",
        "KmsMasterKeyId",
        "SqsManagedSseEnabled",
        "RedriveAllowPolicy",
        "KmsDataKeyReusePeriodSeconds",
    }
)
_TRANSPORT = {"String": 1, "Number": 1, "Binary": 2}
# The codes real SQS sends in ``x-amzn-query-error`` (botocore reads them for query-compatible errors).
_QUERY_CODES = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "ReceiptHandleIsInvalid": "ReceiptHandleIsInvalid",
    "QueueNameExists": "QueueAlreadyExists",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "InvalidAttributeName": "InvalidAttributeName",
    "InvalidAttributeValue": "InvalidAttributeValue",
    "InvalidParameterValue": "InvalidParameterValue",
    "MissingParameter": "MissingParameter",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
    "ResourceNotFoundException": "ResourceNotFoundException",
}


class SqsError(Exception):
    """An SQS error answer: its code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> dict[str, str]:
        return {"__type": f"com.amazonaws.sqs#{self.code}", "message": self.message}

    def query_code(self) -> str:
        return f"{_QUERY_CODES.get(self.code, self.code)};{self._fault()}"

    def client_error(self) -> dict[str, str]:
        """The ``Error`` botocore parses from this answer: the query code in ``Code``, as over HTTP."""
        return {
            "Message": self.message,
            "Code": _QUERY_CODES.get(self.code, self.code),
            "QueryErrorCode": self.code,
            "Type": self._fault(),
        }

    def _fault(self) -> str:
        return "Sender" if self.status < 500 else "Receiver"


class Journal(Protocol):
    """What the engine tells its persistence (``visitor_tracker.queue_store``), inside its lock."""

    def sent(self, queue: str, messages: Iterable[Message]) -> None: ...
    def deleted(self, queue: str, ids: Iterable[str]) -> None: ...
    def moved(self, source: str, target: str, messages: Iterable[Message]) -> None: ...
    def purged(self, queue: str) -> None: ...


def _binary(text: str) -> bytes:
    """A binary attribute value as the JSON protocol carries it (base64 text): its bytes."""
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return text.encode()  # not base64 after all (no SDK sends that): digest the text itself


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5 of message attributes: name, type and value, length-prefixed, names sorted."""
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        value = attributes[name]
        data_type = str(value.get("DataType", "String"))
        for part in (name.encode(), data_type.encode()):
            digest.update(struct.pack(">I", len(part)) + part)
        kind = _TRANSPORT.get(data_type.split(".", 1)[0], 1)
        raw = value.get("BinaryValue") if kind == 2 else value.get("StringValue", "")
        if kind == 2 and isinstance(raw, str):
            payload = _binary(raw)  # the JSON protocol's base64: the digest is of the bytes
        else:
            payload = raw.encode() if isinstance(raw, str) else bytes(raw or b"")
        digest.update(bytes([kind]) + struct.pack(">I", len(payload)) + payload)
    return digest.hexdigest()


@dataclass
class Message:
    id: str
    body: str
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent_ms: int = 0
    receives: int = 0
    first_receive_ms: int | None = None
    visible_at: float = 0.0  # time.monotonic(); in flight or delayed while in the future
    receipt: str | None = None
    _md5: str | None = field(default=None, repr=False, compare=False)
    _attributes_md5: str | None = field(default=None, repr=False, compare=False)

    def md5(self) -> str:
        """The body's MD5, computed once: the send and every receive report it."""
        if self._md5 is None:
            self._md5 = hashlib.md5(self.body.encode(), usedforsecurity=False).hexdigest()
        return self._md5

    def attributes_md5(self) -> str:
        """The MD5 of all its message attributes, computed once."""
        if self._attributes_md5 is None:
            self._attributes_md5 = md5_of_attributes(self.attributes)
        return self._attributes_md5

    def to_received(self, *, system: bool, attribute_names: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "MessageId": self.id,
            "ReceiptHandle": self.receipt,
            "MD5OfBody": self.md5(),
            "Body": self.body,
        }
        if system:
            out["Attributes"] = {
                "SenderId": SENDER_ID,
                "SentTimestamp": str(self.sent_ms),
                "ApproximateReceiveCount": str(self.receives),
                "ApproximateFirstReceiveTimestamp": str(self.first_receive_ms or self.sent_ms),
            }
        names = set(attribute_names)
        chosen = {k: v for k, v in self.attributes.items() if "All" in names or ".*" in names or k in names}
        if chosen:
            out["MessageAttributes"] = chosen
            out["MD5OfMessageAttributes"] = (
                self.attributes_md5() if len(chosen) == len(self.attributes) else md5_of_attributes(chosen)
            )
        return out


@dataclass
class Queue:
    name: str
    url: str
    attributes: dict[str, str]
    created: int = field(default_factory=lambda: int(time.time()))
    messages: OrderedDict[str, Message] = field(default_factory=OrderedDict)  # in send order

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:{self.attributes.get('_region', 'us-east-1')}:{ACCOUNT}:{self.name}"

    def redrive(self) -> tuple[str, int] | None:
        policy = self.attributes.get("RedrivePolicy")
        if not policy:
            return None
        parsed = json.loads(policy)
        return str(parsed["deadLetterTargetArn"]).rsplit(":", 1)[-1], int(parsed["maxReceiveCount"])

    def counts(self, now: float) -> tuple[int, int, int]:
        """(visible, in flight, delayed)."""
        visible = in_flight = delayed = 0
        for m in self.messages.values():
            if m.visible_at <= now:
                visible += 1
            elif m.receives:
                in_flight += 1
            else:
                delayed += 1
        return visible, in_flight, delayed


def _message_id() -> str:
    """A random UUID-shaped message id, as SQS's (``str(uuid.uuid4())`` costs 2.5 times as much)."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _int(request: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = request.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SqsError("InvalidParameterValue", f"{name} must be an integer") from None
    if not low <= number <= high:
        raise SqsError(
            "InvalidParameterValue",
            f"Value {number} for parameter {name} is invalid. Reason: must be between {low} and {high}.",
        )
    return number


# The numeric queue attributes and their ranges: anything else would break every later receive.
_ATTRIBUTE_RANGES: Mapping[str, tuple[int, int]] = {
    "VisibilityTimeout": (0, MAX_VISIBILITY_SECONDS),
    "MessageRetentionPeriod": (60, 14 * 86400),
    "ReceiveMessageWaitTimeSeconds": (0, MAX_WAIT_SECONDS),
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 1024 * 1024),
}


def _queue_attributes(request: Mapping[str, Any]) -> dict[str, str]:
    """A CreateQueue's or SetQueueAttributes' ``Attributes``, checked as SQS checks them."""
    wanted = {str(k): str(v) for k, v in (request.get("Attributes") or {}).items()}
    unknown = set(wanted) - SETTABLE
    if unknown:
        raise SqsError("InvalidAttributeName", f"Unknown Attribute {sorted(unknown)[0]}.")
    for name, (low, high) in _ATTRIBUTE_RANGES.items():
        if name in wanted:
            try:
                valid = low <= int(wanted[name]) <= high
            except ValueError:
                valid = False
            if not valid:
                raise SqsError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")
    if wanted.get("RedrivePolicy"):  # empty: no policy
        try:
            policy = json.loads(wanted["RedrivePolicy"])
            valid = (
                isinstance(policy, dict)
                and isinstance(policy.get("deadLetterTargetArn"), str)
                and 1 <= int(policy.get("maxReceiveCount", 0)) <= 1000
            )
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise SqsError(
                "InvalidParameterValue",
                f"Value {wanted['RedrivePolicy']} for parameter RedrivePolicy is invalid. Reason: Redrive policy "
                "is not a valid JSON map with a deadLetterTargetArn and a maxReceiveCount from 1 to 1000.",
            )
    return wanted


class SqsEngine:
    """Every queue of local mode, behind one lock (see the module docstring)."""

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

    @staticmethod
    def _entries(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        entries = list(request.get("Entries") or [])
        if not entries:
            raise SqsError(
                "EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request."
            )
        if len(entries) > MAX_RECEIVE:
            raise SqsError("TooManyEntriesInBatchRequest", f"Maximum number of entries per request are {MAX_RECEIVE}.")
        ids = [str(e.get("Id", "")) for e in entries]
        if len(set(ids)) != len(ids):
            raise SqsError("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.")
        return entries

    def _op_CreateQueue(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = str(request.get("QueueName", ""))
        if not name or len(name) > 80 or not all(c.isalnum() or c in "-_" for c in name):
            raise SqsError(
                "InvalidParameterValue",
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
            )
        wanted = _queue_attributes(request)
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

    def _op_GetQueueUrl(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._queues.get(str(request.get("QueueName", "")))
        if queue is None:
            raise SqsError("QueueDoesNotExist", "The specified queue does not exist.")
        return {"QueueUrl": queue.url}

    def _op_ListQueues(self, request: Mapping[str, Any]) -> dict[str, Any]:
        prefix = str(request.get("QueueNamePrefix", ""))
        urls = [q.url for name, q in sorted(self._queues.items()) if name.startswith(prefix)]
        return {"QueueUrls": urls} if urls else {}

    def _op_DeleteQueue(self, request: Mapping[str, Any]) -> dict[str, Any]:
        del self._queues[self._find(request).name]
        self._arrived.notify_all()  # its long polls end now, not when their wait runs out
        return {}

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

    def _op_SetQueueAttributes(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._find(request)
        wanted = _queue_attributes(request)
        queue.attributes.update(wanted)
        return {}

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
        delay = _int(entry, "DelaySeconds", int(queue.attributes["DelaySeconds"]), 0, 900)
        return Message(
            id=_message_id(),
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
        for entry in self._entries(request):
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
            limit = _int(request, "MaxNumberOfMessages", 1, 1, MAX_RECEIVE)
            visibility = _int(
                request, "VisibilityTimeout", int(queue.attributes["VisibilityTimeout"]), 0, MAX_VISIBILITY_SECONDS
            )
            wait = _int(
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

    def _op_DeleteMessage(self, request: Mapping[str, Any]) -> dict[str, Any]:
        error = self._delete(self._find(request), [request.get("ReceiptHandle")])[0]
        if error is not None:
            raise error
        return {}

    def _op_DeleteMessageBatch(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._find(request)
        entries = self._entries(request)
        outcome = self._delete(queue, [e.get("ReceiptHandle") for e in entries])
        return self._batch_answer(entries, outcome)

    @staticmethod
    def _batch_answer(entries: list[Mapping[str, Any]], outcome: list[SqsError | None]) -> dict[str, Any]:
        return {
            "Successful": [{"Id": e.get("Id")} for e, error in zip(entries, outcome, strict=True) if error is None],
            "Failed": [
                {"Id": e.get("Id"), "SenderFault": True, "Code": error.code, "Message": error.message}
                for e, error in zip(entries, outcome, strict=True)
                if error is not None
            ],
        }

    def _visibility(self, queue: Queue, receipt: Any, seconds: Any) -> SqsError | None:
        try:
            message = self._by_receipt(queue, receipt)
            timeout = _int({"VisibilityTimeout": seconds}, "VisibilityTimeout", 0, 0, MAX_VISIBILITY_SECONDS)
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
        error = self._visibility(self._find(request), request.get("ReceiptHandle"), request.get("VisibilityTimeout"))
        if error is not None:
            raise error
        return {}

    def _op_ChangeMessageVisibilityBatch(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._find(request)
        entries = self._entries(request)
        outcome = [self._visibility(queue, e.get("ReceiptHandle"), e.get("VisibilityTimeout", 0)) for e in entries]
        return self._batch_answer(entries, outcome)

    def _op_PurgeQueue(self, request: Mapping[str, Any]) -> dict[str, Any]:
        queue = self._find(request)
        queue.messages.clear()
        if self.journal is not None:
            self.journal.purged(queue.name)
        return {}

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
        limit = _int(request, "MaxResults", 1, 1, 10)
        return {"Results": [t for t in self._tasks if t["SourceArn"] == source.arn][:limit]}


JSON_1_0 = "application/x-amz-json-1.0"
TARGET_PREFIX = "AmazonSQS."


def answer_json(engine: SqsEngine, target: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """One SQS JSON-protocol request (its ``X-Amz-Target`` and body): (status, headers, body) to send back."""
    try:
        request = json.loads(body or b"{}")
        if not isinstance(request, dict):
            raise ValueError("not an object")
    except ValueError:
        error = SqsError("InvalidParameterValue", "The request body is not a JSON object.")
    else:
        try:
            payload = json.dumps(engine.call(target.removeprefix(TARGET_PREFIX), request)).encode()
        except SqsError as exc:
            error = exc
        else:
            return 200, {"Content-Type": JSON_1_0}, payload
    headers = {"Content-Type": JSON_1_0, "x-amzn-query-error": error.query_code()}
    return error.status, headers, json.dumps(error.body()).encode()


class _Body:
    """The ``raw`` of a botocore AWSResponse built in process: botocore reads it through ``stream()``."""

    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._payload


def in_process_transport(engine: SqsEngine, endpoint: str) -> Callable[..., Any]:
    """A botocore ``before-send`` handler that answers SQS requests for ``endpoint`` from the engine.

    botocore still validates, serializes, signs and parses as it would over HTTP; only the socket
    and the HTTP server are skipped (about 1 ms of CPU per SendMessage here). Register it on a
    session before its clients are created: ``session.register("before-send.sqs", handler)``.
    """
    from botocore.awsrequest import AWSResponse

    prefix = endpoint.rstrip("/")

    def before_send(request: Any, **_: Any) -> Any:
        url = str(request.url)
        if url != prefix and not url.startswith((f"{prefix}/", f"{prefix}?")):
            return None  # another endpoint (``:8080`` is not ``:80``)
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else str(target)
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        status, headers, payload = answer_json(engine, target, body)
        return AWSResponse(request.url, status, headers, _Body(payload))

    return before_send


def attach_in_process(session: Any, engine: SqsEngine, endpoint: str) -> None:
    """Make a botocore session's SQS clients (created after this) reach ``engine`` in process, unsigned:
    the engine checks no signature, and SigV4 was a fifth of each in-process SendMessage's CPU."""
    import botocore

    session.register("before-send.sqs", in_process_transport(engine, endpoint))
    session.register("choose-signer.sqs", lambda **_: botocore.UNSIGNED)


class EngineClient:
    """An SQS client for in-process callers (the event source mapping): boto3's method names and shapes.

    Lambda's event source mapping is AWS's own machinery, not an SDK client; here it talks to the
    engine without HTTP, so draining the queue costs the request path nothing. Errors are raised as
    botocore's ``ClientError`` with the ``Error`` botocore parses over HTTP (``Code`` is the query
    protocol's, e.g. ``AWS.SimpleQueueService.NonExistentQueue``; ``QueryErrorCode`` SQS's).
    """

    def __init__(self, engine: SqsEngine) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        operation = "".join(part.capitalize() for part in name.split("_"))

        def call(**request: Any) -> dict[str, Any]:
            from botocore.exceptions import ClientError

            try:
                return self._engine.call(operation, request)
            except SqsError as exc:
                error = exc.client_error()
                raise ClientError(
                    {"Error": error, "ResponseMetadata": {"HTTPStatusCode": exc.status}}, operation
                ) from None

        return call
