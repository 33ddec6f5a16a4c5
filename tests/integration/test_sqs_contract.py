"""The SQS contract: the same cases on the project's SQS engine and on moto's SQS, for every operation
the project calls, so that the engine (local mode's, the tests' and bench's one SQS stand-in) cannot
drift from what another implementation of SQS answers.

``StartMessageMoveTask`` / ``ListMessageMoveTasks`` (the CLI's DLQ redrive) are not in moto; their
cases run on the engine alone (tests/integration/test_sqs_engine.py and tests/cli/test_cli_dlq.py).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from visitor_tracker.sqs.model import md5_of_attributes

REGION = "us-east-1"
ATTRIBUTES = {"correlation_id": {"DataType": "String", "StringValue": "visit-1"}}


@pytest.fixture(params=["engine", "moto"])
def sqs(request: pytest.FixtureRequest, sqs_endpoint: str) -> Iterator[Any]:
    if request.param == "engine":
        yield boto3.client("sqs", endpoint_url=sqs_endpoint, region_name=REGION)
        return
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def _queue(sqs: Any, **attributes: str) -> str:
    return str(sqs.create_queue(QueueName=f"c-{uuid.uuid4().hex[:12]}", Attributes=attributes)["QueueUrl"])


def _counts(sqs: Any, url: str) -> tuple[int, int, int]:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return (int(attributes[names[0]]), int(attributes[names[1]]), int(attributes[names[2]]))


def _receive_all(sqs: Any, url: str, expected: int, **kwargs: Any) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    for _ in range(expected + 5):
        received += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **kwargs).get("Messages", [])
        if len(received) >= expected:
            break
    return received


def test_send_receive_delete_with_attributes_and_their_md5s(sqs: Any) -> None:
    url = _queue(sqs)
    body = json.dumps({"visit_id": "v-1", "path": "/ünïcode"})
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=ATTRIBUTES)
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()  # noqa: S324 - SQS's digest
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(ATTRIBUTES)

    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert (message["MessageId"], message["Body"]) == (sent["MessageId"], body)
    assert message["MessageAttributes"] == ATTRIBUTES
    assert _counts(sqs, url) == (0, 1, 0)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert _counts(sqs, url) == (0, 0, 0)


def test_batches_of_ten_are_sent_received_and_deleted(sqs: Any) -> None:
    url = _queue(sqs)
    sent = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)])
    assert sorted(e["Id"] for e in sent["Successful"]) == sorted(str(i) for i in range(10))
    assert sent.get("Failed", []) == []

    received = _receive_all(sqs, url, 10)
    assert sorted(m["Body"] for m in received) == sorted(f"m{i}" for i in range(10))
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)]
    )
    assert len(deleted["Successful"]) == 10 and deleted.get("Failed", []) == []
    assert _counts(sqs, url) == (0, 0, 0)


def test_visibility_hides_a_message_and_a_change_releases_it(sqs: Any) -> None:
    url = _queue(sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(2)])
    first, second = _receive_all(sqs, url, 2, VisibilityTimeout=600)
    assert _counts(sqs, url) == (0, 2, 0)
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []

    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    assert _counts(sqs, url) == (1, 1, 0)
    released = sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": second["ReceiptHandle"], "VisibilityTimeout": 0}]
    )
    assert [e["Id"] for e in released["Successful"]] == ["a"]
    assert _counts(sqs, url) == (2, 0, 0)


def test_the_redrive_policy_moves_a_message_received_too_often_to_the_dlq(sqs: Any) -> None:
    dlq = _queue(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert dlq_arn.startswith("arn:aws:sqs:") and dlq_arn.endswith(dlq.rsplit("/", 1)[-1])
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = _queue(sqs, RedrivePolicy=policy, VisibilityTimeout="0")
    message_id = sqs.send_message(QueueUrl=url, MessageBody="poison")["MessageId"]

    for count in ("1", "2"):
        (received,) = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"]
        assert received["Attributes"]["ApproximateReceiveCount"] == count
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # moved on this receive

    (dead,) = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert (dead["MessageId"], dead["Body"]) == (message_id, "poison")


def test_a_delayed_message_is_counted_as_delayed_and_purge_empties_the_queue(sqs: Any) -> None:
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="now")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=900)
    assert _counts(sqs, url) == (1, 0, 1)
    sqs.purge_queue(QueueUrl=url)
    assert _counts(sqs, url) == (0, 0, 0)


def test_an_unknown_queue_is_queue_does_not_exist(sqs: Any) -> None:
    url = _queue(sqs)
    missing = url.rsplit("/", 1)[0] + "/no-such-queue"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=missing, MessageBody="x")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_attributes(QueueUrl=missing, AttributeNames=["All"])
