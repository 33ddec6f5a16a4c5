"""Local mode's SQS engine (``visitor_tracker.sqs``) through its public doors: boto3 over HTTP
against the embedded emulator, the in-process botocore transport, ``EngineClient`` and
``SqsEngine.call`` itself (the concurrency that moto's SQS got wrong)."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.config import Config
from botocore.exceptions import ClientError

from visitor_tracker.emulator import EmbeddedEmulator
from visitor_tracker.sqs.engine import SqsEngine
from visitor_tracker.sqs.model import ACCOUNT, SqsError, md5_of_attributes
from visitor_tracker.sqs.protocol import EngineClient, in_process_transport

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# What botocore reports for SQS's QueueDoesNotExist: the JSON protocol's answer carries the query
# protocol's code in ``x-amzn-query-error`` and botocore puts that one in ``Error.Code``.
NON_EXISTENT_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmbeddedEmulator]:
    server = EmbeddedEmulator(port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sqs(emulator: EmbeddedEmulator) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=emulator.url,
        region_name=REGION,
        config=Config(max_pool_connections=16, retries={"max_attempts": 1}),
        **CREDENTIALS,
    )


@pytest.fixture
def name() -> str:
    """A queue name of this test's own (the emulator is shared by the module)."""
    return f"t-{uuid.uuid4().hex[:12]}"


def _arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def _counts(sqs: Any, url: str) -> tuple[int, int, int]:
    """(visible, in flight, delayed) as the queue's attributes tell them."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        int(attributes["ApproximateNumberOfMessagesDelayed"]),
    )


def _queue_with_dlq(sqs: Any, name: str, *, max_receives: int = 2, **attributes: str) -> tuple[str, str]:
    """A queue whose redrive policy sends to its own DLQ, as ``visitor_tracker.resources`` builds them."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": _arn(sqs, dlq_url), "maxReceiveCount": str(max_receives)})
    url = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": policy, **attributes})["QueueUrl"]
    return url, dlq_url


# --- MD5s ---------------------------------------------------------------------------------------


def _by_hand(attributes: dict[str, tuple[str, bytes]]) -> str:
    """AWS's documented MD5 of message attributes, spelled out: for each name in sorted order, the
    4-byte big-endian length and UTF-8 bytes of the name, then of the data type, then one transport
    byte (1 = String/Number, 2 = Binary) and the length and bytes of the value."""
    digest = hashlib.md5()
    for attr in sorted(attributes):
        data_type, value = attributes[attr]
        transport = 2 if data_type.startswith("Binary") else 1
        digest.update(len(attr.encode()).to_bytes(4, "big") + attr.encode())
        digest.update(len(data_type).to_bytes(4, "big") + data_type.encode())
        digest.update(bytes([transport]) + struct.pack(">I", len(value)) + value)
    return digest.hexdigest()


ATTRIBUTES: dict[str, dict[str, Any]] = {
    "zeta": {"DataType": "String", "StringValue": "héllo"},
    "alpha": {"DataType": "Number", "StringValue": "42"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
    "kind": {"DataType": "String.custom", "StringValue": "x"},
}
EXPECTED_MD5 = _by_hand(
    {
        "zeta": ("String", "héllo".encode()),
        "alpha": ("Number", b"42"),
        "blob": ("Binary", b"\x00\x01\xfe\xff"),
        "kind": ("String.custom", b"x"),
    }
)


def test_md5_of_attributes_follows_awss_algorithm_for_every_type() -> None:
    assert md5_of_attributes(ATTRIBUTES) == EXPECTED_MD5
    # The JSON protocol carries binary values as base64 text: the digest is of the bytes it encodes.
    on_the_wire = {
        **ATTRIBUTES,
        "blob": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\x00\x01\xfe\xff").decode()},
    }
    assert md5_of_attributes(on_the_wire) == EXPECTED_MD5


def test_md5_of_attributes_agrees_with_motos_implementation() -> None:
    from moto.sqs.models import Message as MotoMessage

    moto_message = MotoMessage("id", "body")
    moto_message.message_attributes = ATTRIBUTES
    assert md5_of_attributes(ATTRIBUTES) == moto_message.attribute_md5


# --- queues -------------------------------------------------------------------------------------


def test_create_queue_is_idempotent_with_the_same_attributes_and_refuses_different_ones(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})["QueueUrl"]

    assert url.endswith(f"/{ACCOUNT}/{name}")
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})["QueueUrl"] == url
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url  # no attributes asked: nothing differs
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "6"})
    assert caught.value.response["Error"]["Code"] == "QueueAlreadyExists"
    assert caught.value.response["Error"]["QueryErrorCode"] == "QueueNameExists"
    assert isinstance(caught.value, sqs.exceptions.QueueNameExists)
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "5"
    }


def test_create_queue_refuses_a_bad_name_and_an_unknown_attribute(sqs: Any, name: str) -> None:
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName="no spaces allowed")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=name, Attributes={"NotAnAttribute": "1"})
    assert caught.value.response["Error"]["Code"] == "InvalidAttributeName"


@pytest.mark.parametrize(
    ("attributes", "code"),
    [
        ({"VisibilityTimeout": "soon"}, "InvalidAttributeValue"),
        ({"VisibilityTimeout": "43201"}, "InvalidAttributeValue"),
        ({"ReceiveMessageWaitTimeSeconds": "21"}, "InvalidAttributeValue"),
        ({"DelaySeconds": "-1"}, "InvalidAttributeValue"),
        ({"MessageRetentionPeriod": "59"}, "InvalidAttributeValue"),
        ({"RedrivePolicy": "not json"}, "InvalidParameterValue"),
        ({"RedrivePolicy": json.dumps({"deadLetterTargetArn": "arn:aws:sqs:x:1:d"})}, "InvalidParameterValue"),
        ({"RedrivePolicy": json.dumps({"deadLetterTargetArn": "a", "maxReceiveCount": "0"})}, "InvalidParameterValue"),
    ],
)
def test_an_invalid_attribute_value_is_refused_rather_than_breaking_the_queue(
    sqs: Any, name: str, attributes: dict[str, str], code: str
) -> None:
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=name, Attributes=attributes)
    assert caught.value.response["Error"]["Code"] == code
    # nothing was created: the same name with valid attributes is a new, working queue
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert _counts(sqs, url) == (0, 0, 0)
    sqs.send_message(QueueUrl=url, MessageBody="still works")
    assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1


def test_unknown_queue_is_botocores_queue_does_not_exist(sqs: Any, emulator: EmbeddedEmulator, name: str) -> None:
    missing = f"{emulator.url}/{ACCOUNT}/{name}"
    calls = [
        lambda: sqs.send_message(QueueUrl=missing, MessageBody="x"),
        lambda: sqs.receive_message(QueueUrl=missing),
        lambda: sqs.get_queue_attributes(QueueUrl=missing, AttributeNames=["All"]),
        lambda: sqs.purge_queue(QueueUrl=missing),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        error = caught.value.response["Error"]
        assert error["Code"] == NON_EXISTENT_QUEUE
        assert error["QueryErrorCode"] == "QueueDoesNotExist"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert isinstance(caught.value, sqs.exceptions.QueueDoesNotExist)


def test_an_operation_the_engine_lacks_is_unsupported_operation(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]

    with pytest.raises(sqs.exceptions.UnsupportedOperation) as caught:
        sqs.tag_queue(QueueUrl=url, Tags={"a": "b"})  # nothing in the project tags a queue
    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.UnsupportedOperation"


# --- messages -----------------------------------------------------------------------------------


def test_send_receive_delete_round_trip_with_message_attributes(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    body = '{"page": "/blog", "note": "ünïcode"}'

    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=ATTRIBUTES)
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == EXPECTED_MD5
    assert _counts(sqs, url) == (1, 0, 0)

    received = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"], VisibilityTimeout=60
    )["Messages"]
    assert len(received) == 1
    message = received[0]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert message["MD5OfMessageAttributes"] == EXPECTED_MD5
    assert message["MessageAttributes"] == ATTRIBUTES  # the binary value back as bytes
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert int(message["Attributes"]["SentTimestamp"]) <= int(message["Attributes"]["ApproximateFirstReceiveTimestamp"])
    assert _counts(sqs, url) == (0, 1, 0)

    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert _counts(sqs, url) == (0, 0, 0)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_receive_returns_only_the_message_attributes_asked_for(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="b", MessageAttributes=ATTRIBUTES)

    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["alpha"], VisibilityTimeout=0)["Messages"][0]
    assert message["MessageAttributes"] == {"alpha": ATTRIBUTES["alpha"]}
    assert message["MD5OfMessageAttributes"] == md5_of_attributes({"alpha": ATTRIBUTES["alpha"]})
    assert "Attributes" not in message  # no system attributes asked for

    bare = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert "MessageAttributes" not in bare and "MD5OfMessageAttributes" not in bare


def test_batch_send_and_delete_report_failed_entries_instead_of_raising(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]

    sent = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok-1", "MessageBody": "one"},
            {"Id": "too-late", "MessageBody": "two", "DelaySeconds": 901},
            {"Id": "ok-2", "MessageBody": "three"},
        ],
    )
    assert [s["Id"] for s in sent["Successful"]] == ["ok-1", "ok-2"]
    assert sent["Successful"][0]["MD5OfMessageBody"] == hashlib.md5(b"one").hexdigest()
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in sent["Failed"]] == [
        ("too-late", "InvalidParameterValue", True)
    ]

    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in received) == ["one", "three"]
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": received[0]["ReceiptHandle"]},
            {"Id": "bogus", "ReceiptHandle": "not-a-receipt-handle"},
            {"Id": "b", "ReceiptHandle": received[1]["ReceiptHandle"]},
        ],
    )
    assert [s["Id"] for s in deleted["Successful"]] == ["a", "b"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in deleted["Failed"]] == [
        ("bogus", "ReceiptHandleIsInvalid", True)
    ]
    assert _counts(sqs, url) == (0, 0, 0)


def test_malformed_batches_are_errors(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]

    with pytest.raises(ClientError) as caught:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}])
    assert caught.value.response["Error"]["QueryErrorCode"] == "BatchEntryIdsNotDistinct"
    with pytest.raises(ClientError) as caught:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(11)])
    assert caught.value.response["Error"]["QueryErrorCode"] == "TooManyEntriesInBatchRequest"
    assert _counts(sqs, url) == (0, 0, 0)  # a refused batch sends nothing


def test_delete_with_an_invalid_receipt_handle_raises(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]

    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid) as caught:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="nope")
    assert caught.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_a_received_message_is_invisible_until_its_visibility_is_changed_to_zero(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
    message_id = sqs.send_message(QueueUrl=url, MessageBody="m")["MessageId"]

    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert first["MessageId"] == message_id
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # in flight for 600 s
    assert _counts(sqs, url) == (0, 1, 0)

    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    assert _counts(sqs, url) == (1, 0, 0)
    again = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert [m["MessageId"] for m in again] == [message_id]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again[0]["ReceiptHandle"] != first["ReceiptHandle"]

    # only the latest receipt handle can change the visibility
    with pytest.raises(ClientError) as caught:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    batch = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "latest", "ReceiptHandle": again[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "bogus", "ReceiptHandle": "bogus", "VisibilityTimeout": 0},
        ],
    )
    assert [s["Id"] for s in batch["Successful"]] == ["latest"]
    assert [(f["Id"], f["Code"]) for f in batch["Failed"]] == [("bogus", "ReceiptHandleIsInvalid")]
    assert _counts(sqs, url) == (1, 0, 0)


def test_delay_seconds_holds_a_message_back(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=900)
    sqs.send_message(QueueUrl=url, MessageBody="now")

    assert _counts(sqs, url) == (1, 0, 1)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["now"]
    assert _counts(sqs, url) == (0, 1, 1)


def test_a_queues_delay_seconds_applies_to_every_send(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "900"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="held")
    sqs.send_message(QueueUrl=url, MessageBody="not held", DelaySeconds=0)

    assert _counts(sqs, url) == (1, 0, 1)


def _long_poll(sqs: Any, url: str) -> tuple[threading.Thread, list[Any]]:
    """A 20 s receive on another thread: its answer, or the ClientError it raised, lands in the list."""
    outcome: list[Any] = []

    def poll() -> None:
        try:
            outcome.append(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20))
        except ClientError as exc:
            outcome.append(exc)

    poller = threading.Thread(target=poll)
    poller.start()
    poller.join(timeout=0.3)  # let it start waiting (if it has not yet, what follows still holds)
    assert poller.is_alive(), "a long poll on an empty queue answered at once"
    return poller, outcome


def test_a_long_poll_returns_as_soon_as_another_thread_sends(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    poller, outcome = _long_poll(sqs, url)

    message_id = sqs.send_message(QueueUrl=url, MessageBody="wake up")["MessageId"]
    poller.join(timeout=15)  # a safety net: the poll itself would last 20 s
    assert not poller.is_alive(), "the long poll did not wake up for the message"
    assert [m["MessageId"] for m in outcome[0]["Messages"]] == [message_id]


def test_a_long_poll_returns_when_a_message_becomes_visible_again(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    message_id = sqs.send_message(QueueUrl=url, MessageBody="m")["MessageId"]
    held = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"][0]
    poller, outcome = _long_poll(sqs, url)

    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"], VisibilityTimeout=0)
    poller.join(timeout=15)
    assert not poller.is_alive()
    assert [m["MessageId"] for m in outcome[0]["Messages"]] == [message_id]


def test_purge_empties_the_queue_in_flight_messages_included(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)])
    in_flight = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"][0]
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=900)
    assert _counts(sqs, url) == (2, 1, 1)

    sqs.purge_queue(QueueUrl=url)
    assert _counts(sqs, url) == (0, 0, 0)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=in_flight["ReceiptHandle"])  # gone already: a no-op, as in SQS
    sqs.send_message(QueueUrl=url, MessageBody="after")
    assert _counts(sqs, url) == (1, 0, 0)


# --- redrive ------------------------------------------------------------------------------------


def test_redrive_moves_a_message_to_the_dlq_after_max_receives_keeping_id_and_count(
    sqs: Any, emulator: EmbeddedEmulator, name: str
) -> None:
    url, dlq_url = _queue_with_dlq(sqs, name, max_receives=2)
    message_id = sqs.send_message(QueueUrl=url, MessageBody="poison", MessageAttributes=ATTRIBUTES)["MessageId"]

    for count in ("1", "2"):
        received = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, MessageSystemAttributeNames=["All"])
        assert [(m["MessageId"], m["Attributes"]["ApproximateReceiveCount"]) for m in received["Messages"]] == [
            (message_id, count)
        ]
    first_receive = received["Messages"][0]["Attributes"]["ApproximateFirstReceiveTimestamp"]

    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # the third receive dead-letters it
    assert _counts(sqs, url) == (0, 0, 0)
    assert _counts(sqs, dlq_url) == (1, 0, 0)
    with emulator.sqs.lock:
        assert emulator.sqs.queue(f"{name}-dlq").messages[message_id].receives == 2

    dead = sqs.receive_message(
        QueueUrl=dlq_url, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"]
    assert [m["MessageId"] for m in dead] == [message_id]
    assert dead[0]["Body"] == "poison"
    assert dead[0]["MessageAttributes"] == ATTRIBUTES
    assert dead[0]["Attributes"]["ApproximateReceiveCount"] == "3"  # the two kept, and this one
    assert dead[0]["Attributes"]["ApproximateFirstReceiveTimestamp"] == first_receive


def test_message_move_task_returns_dead_letters_to_the_source(sqs: Any, name: str) -> None:
    url, dlq_url = _queue_with_dlq(sqs, name, max_receives=1)
    ids = {
        s["MessageId"]
        for s in sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)]
        )["Successful"]
    }
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert _counts(sqs, dlq_url) == (3, 0, 0)

    dlq_arn, queue_arn = _arn(sqs, dlq_url), _arn(sqs, url)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=queue_arn)["TaskHandle"]

    tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert len(tasks) == 1
    assert tasks[0]["TaskHandle"] == handle
    assert tasks[0]["Status"] == "COMPLETED"
    assert tasks[0]["SourceArn"] == dlq_arn and tasks[0]["DestinationArn"] == queue_arn
    assert tasks[0]["ApproximateNumberOfMessagesMoved"] == 3
    assert _counts(sqs, dlq_url) == (0, 0, 0)
    back = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])["Messages"]
    assert {m["MessageId"] for m in back} == ids
    # the receive count starts again, or the redrive policy would send them straight back
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in back} == {"1"}

    with pytest.raises(ClientError) as caught:
        sqs.list_message_move_tasks(SourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-nothing")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


# --- concurrency (what moto's SQS lost) -----------------------------------------------------------

SENDERS = 8
PER_SENDER = 500


Messages = list[dict[str, Any]]


def _race(
    send: Callable[[int], list[str]], receive: Callable[[int], Messages], delete: Callable[[Messages], None]
) -> tuple[set[str], Counter[str]]:
    """SENDERS threads run ``send(index)`` (the ids it sent) while one consumer receives (long polls
    while they run) and deletes until they are done and a receive finds nothing; (ids sent, ids seen)."""
    sent: list[list[str]] = [[] for _ in range(SENDERS)]
    seen: Counter[str] = Counter()
    senders_done = threading.Event()
    errors: list[BaseException] = []

    def sender(index: int) -> None:
        try:
            sent[index] = send(index)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    def consume() -> None:
        try:
            while True:
                done = senders_done.is_set()  # read before the receive: an empty answer after it means empty
                messages = receive(0 if done else 1)
                for message in messages:
                    seen[message["MessageId"]] += 1
                if messages:
                    delete(messages)
                elif done:
                    return
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    consumer = threading.Thread(target=consume)
    consumer.start()
    senders = [threading.Thread(target=sender, args=(i,)) for i in range(SENDERS)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    senders_done.set()
    consumer.join(timeout=60)
    assert not consumer.is_alive()
    assert errors == []
    return {message_id for ids in sent for message_id in ids}, seen


def test_concurrent_senders_and_a_batch_consumer_over_http_lose_nothing(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]

    def send(index: int) -> list[str]:
        ids: list[str] = []
        for batch in range(PER_SENDER // 10):
            entries = [{"Id": str(i), "MessageBody": f"{index}-{batch}-{i}"} for i in range(10)]
            answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            assert not answer.get("Failed")
            ids += [s["MessageId"] for s in answer["Successful"]]
        return ids

    def receive(wait: int) -> Messages:
        return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", []))

    def delete(messages: Messages) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        assert not sqs.delete_message_batch(QueueUrl=url, Entries=entries).get("Failed")

    every_id, seen = _race(send, receive, delete)
    assert len(every_id) == SENDERS * PER_SENDER
    assert set(seen) == every_id  # every message received, none invented
    assert _counts(sqs, url) == (0, 0, 0)


def test_concurrent_single_sends_and_deletes_on_the_engine_lose_nothing() -> None:
    engine = SqsEngine()
    url = engine.call("CreateQueue", {"QueueName": "busy"})["QueueUrl"]

    def send(index: int) -> list[str]:
        return [
            engine.call("SendMessage", {"QueueUrl": url, "MessageBody": f"{index}-{i}"})["MessageId"]
            for i in range(PER_SENDER)
        ]

    def receive(wait: int) -> Messages:
        answer = engine.call("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": wait})
        return list(answer.get("Messages", []))

    def delete(messages: Messages) -> None:
        for message in messages:  # one at a time: moto's DeleteMessage is what lost concurrent sends
            engine.call("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]})

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        every_id, seen = _race(send, receive, delete)
    finally:
        sys.setswitchinterval(interval)
    assert len(every_id) == SENDERS * PER_SENDER
    assert set(seen) == every_id
    assert engine.depth("busy") == 0


# --- the in-process transport ---------------------------------------------------------------------


def _in_process_client(engine: SqsEngine, endpoint: str, *, transport_for: str | None = None) -> Any:
    session = botocore.session.get_session()
    session.register("before-send.sqs", in_process_transport(engine, transport_for or endpoint))
    return session.create_client("sqs", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)


def test_in_process_transport_answers_like_http(sqs: Any, emulator: EmbeddedEmulator, name: str) -> None:
    local = _in_process_client(emulator.sqs, emulator.url)
    url = local.create_queue(QueueName=name)["QueueUrl"]
    assert _counts(sqs, url) == (0, 0, 0)  # the same queue over HTTP

    sent = local.send_message(QueueUrl=url, MessageBody="in process", MessageAttributes=ATTRIBUTES)
    assert sent["MD5OfMessageAttributes"] == EXPECTED_MD5
    over_http = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], VisibilityTimeout=0)["Messages"]
    assert [(m["MessageId"], m["Body"]) for m in over_http] == [(sent["MessageId"], "in process")]
    assert over_http[0]["MessageAttributes"] == ATTRIBUTES

    in_process = local.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert in_process[0]["MessageId"] == sent["MessageId"]
    assert in_process[0]["MessageAttributes"] == ATTRIBUTES  # parsed by botocore: bytes again
    local.delete_message(QueueUrl=url, ReceiptHandle=in_process[0]["ReceiptHandle"])
    assert _counts(sqs, url) == (0, 0, 0)


def test_in_process_transport_errors_are_the_same_client_errors(
    sqs: Any, emulator: EmbeddedEmulator, name: str
) -> None:
    local = _in_process_client(emulator.sqs, emulator.url)
    missing = f"{emulator.url}/{ACCOUNT}/{name}"

    with pytest.raises(ClientError) as over_http:
        sqs.send_message(QueueUrl=missing, MessageBody="x")
    with pytest.raises(ClientError) as in_process:
        local.send_message(QueueUrl=missing, MessageBody="x")
    assert in_process.value.response["Error"] == over_http.value.response["Error"]
    assert in_process.value.response["Error"]["Code"] == NON_EXISTENT_QUEUE
    assert isinstance(in_process.value, local.exceptions.QueueDoesNotExist)
    assert in_process.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    url = local.create_queue(QueueName=name)["QueueUrl"]
    with pytest.raises(local.exceptions.ReceiptHandleIsInvalid):
        local.delete_message(QueueUrl=url, ReceiptHandle="bogus")


def test_in_process_transport_needs_no_server() -> None:
    engine = SqsEngine(base_url="http://127.0.0.1:9")
    local = _in_process_client(engine, "http://127.0.0.1:9")  # the discard port: nothing listens

    url = local.create_queue(QueueName="alone")["QueueUrl"]
    message_id = local.send_message(QueueUrl=url, MessageBody="b")["MessageId"]
    assert [m["MessageId"] for m in local.receive_message(QueueUrl=url)["Messages"]] == [message_id]
    assert engine.depth("alone") == 1


def test_in_process_transport_leaves_other_endpoints_alone(sqs: Any, emulator: EmbeddedEmulator, name: str) -> None:
    # An endpoint whose URL the emulator's URL merely starts with (port 4566 vs 45660) is another one.
    other = SqsEngine()
    shorter = emulator.url[:-1]
    assert emulator.url.startswith(shorter) and shorter != emulator.url
    client = _in_process_client(other, emulator.url, transport_for=shorter)

    url = client.create_queue(QueueName=name)["QueueUrl"]  # went over HTTP to the emulator
    assert _counts(sqs, url) == (0, 0, 0)
    assert other.depth(name) == 0
    with pytest.raises(SqsError) as caught:
        other.call("GetQueueAttributes", {"QueueUrl": url})
    assert caught.value.code == "QueueDoesNotExist"

    handler = in_process_transport(other, "http://127.0.0.1:1")
    target = {"X-Amz-Target": "AmazonSQS.GetQueueAttributes"}
    request = AWSPreparedRequest("POST", "http://127.0.0.1:12/", target, b"{}", None)
    assert handler(request=request) is None
    request.url = "http://127.0.0.1:1/"
    assert handler(request=request) is not None


# --- EngineClient (the event source mapping's client) --------------------------------------------


def test_engine_client_receive_and_delete_batch_have_boto3s_shapes(
    emulator: EmbeddedEmulator, sqs: Any, name: str
) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    ids = [sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")["MessageId"] for i in range(3)]
    client = EngineClient(emulator.sqs)

    received = client.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=1,
        AttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages = received["Messages"]
    assert [m["MessageId"] for m in messages] == ids  # a standard queue, but this one keeps send order
    for message in messages:
        assert set(message) >= {"MessageId", "ReceiptHandle", "MD5OfBody", "Body", "Attributes"}
        assert message["MD5OfBody"] == hashlib.md5(message["Body"].encode()).hexdigest()
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"
        assert set(message["Attributes"]) >= {"SentTimestamp", "ApproximateFirstReceiveTimestamp", "SenderId"}

    answer = client.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "0", "ReceiptHandle": messages[0]["ReceiptHandle"]},
            {"Id": "1", "ReceiptHandle": "stale"},
            {"Id": "2", "ReceiptHandle": messages[2]["ReceiptHandle"]},
        ],
    )
    assert answer["Successful"] == [{"Id": "0"}, {"Id": "2"}]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in answer["Failed"]] == [("1", "ReceiptHandleIsInvalid", True)]

    released = client.change_message_visibility_batch(
        QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": messages[1]["ReceiptHandle"], "VisibilityTimeout": 0}]
    )
    assert released["Successful"] == [{"Id": "0"}]
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes == {"Attributes": {"ApproximateNumberOfMessages": "1"}}


def test_engine_client_errors_are_the_client_errors_boto3_raises(
    emulator: EmbeddedEmulator, sqs: Any, name: str
) -> None:
    missing = f"{emulator.url}/{ACCOUNT}/{name}"
    client = EngineClient(emulator.sqs)

    with pytest.raises(ClientError) as in_process:
        client.receive_message(QueueUrl=missing, MaxNumberOfMessages=10)
    with pytest.raises(ClientError) as over_http:
        sqs.receive_message(QueueUrl=missing, MaxNumberOfMessages=10)
    assert in_process.value.operation_name == "ReceiveMessage"
    error = in_process.value.response["Error"]
    assert error["Code"] == over_http.value.response["Error"]["Code"] == NON_EXISTENT_QUEUE
    assert error["QueryErrorCode"] == "QueueDoesNotExist"
    assert in_process.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    with pytest.raises(ClientError) as caught:
        client.delete_message(QueueUrl=url, ReceiptHandle="bogus")
    assert caught.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_a_body_over_the_queues_maximum_message_size_is_refused(sqs: Any, name: str) -> None:
    url = sqs.create_queue(QueueName=name, Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]

    sqs.send_message(QueueUrl=url, MessageBody="x" * 1024)
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=url, MessageBody="é" * 513)  # 1,026 bytes of UTF-8
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "1024 bytes" in caught.value.response["Error"]["Message"]
    assert _counts(sqs, url) == (1, 0, 0)
