"""The SQS engine's data: messages, queues, their attributes as SQS checks them, errors with SQS's codes,
and the MD5s SQS reports."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
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
    """What the engine tells its persistence (``visitor_tracker.sqs.journal``), inside its lock."""

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


def new_message_id() -> str:
    """A random UUID-shaped message id, as SQS's (``str(uuid.uuid4())`` costs 2.5 times as much)."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def int_parameter(request: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
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


def queue_attributes(request: Mapping[str, Any]) -> dict[str, str]:
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


def batch_entries(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = list(request.get("Entries") or [])
    if not entries:
        raise SqsError("EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.")
    if len(entries) > MAX_RECEIVE:
        raise SqsError("TooManyEntriesInBatchRequest", f"Maximum number of entries per request are {MAX_RECEIVE}.")
    ids = [str(e.get("Id", "")) for e in entries]
    if len(set(ids)) != len(ids):
        raise SqsError("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.")
    return entries


def batch_answer(entries: list[Mapping[str, Any]], outcome: list[SqsError | None]) -> dict[str, Any]:
    return {
        "Successful": [{"Id": e.get("Id")} for e, error in zip(entries, outcome, strict=True) if error is None],
        "Failed": [
            {"Id": e.get("Id"), "SenderFault": True, "Code": error.code, "Message": error.message}
            for e, error in zip(entries, outcome, strict=True)
            if error is not None
        ],
    }
