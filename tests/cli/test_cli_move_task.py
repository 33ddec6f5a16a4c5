"""Redrive through SQS's own StartMessageMoveTask, where the endpoint has it (moto does not: stubbed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from visitor_tracker import redrive

DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/tracker-dlq"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/tracker-queue"
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:tracker-dlq"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:tracker-queue"


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    monkeypatch.setattr(redrive, "MOVE_TASK_POLL_SECONDS", 0)
    client = boto3.client("sqs", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_queue_attributes",
            {"Attributes": {"QueueArn": DLQ_ARN}},
            {"QueueUrl": DLQ_URL, "AttributeNames": ["QueueArn"]},
        )
        stubber.add_response(
            "get_queue_attributes",
            {"Attributes": {"QueueArn": QUEUE_ARN}},
            {"QueueUrl": QUEUE_URL, "AttributeNames": ["QueueArn"]},
        )
        stubber.add_response(
            "start_message_move_task", {"TaskHandle": "task-1"}, {"SourceArn": DLQ_ARN, "DestinationArn": QUEUE_ARN}
        )
        yield client, stubber
        stubber.assert_no_pending_responses()


def task(status: str, moved: int, **extra: Any) -> dict[str, Any]:
    return {"Results": [{"TaskHandle": "task-1", "Status": status, "ApproximateNumberOfMessagesMoved": moved, **extra}]}


def test_move_task_is_used_and_followed_to_completion(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for status, moved in (("RUNNING", 0), ("RUNNING", 40), ("COMPLETED", 100)):
        stubber.add_response("list_message_move_tasks", task(status, moved), {"SourceArn": DLQ_ARN, "MaxResults": ANY})
    steps: list[int] = []

    moved, method = redrive.redrive(client, DLQ_URL, QUEUE_URL, progress=steps.append)

    assert (moved, method) == (100, "StartMessageMoveTask")
    assert steps == [40, 60]


def test_a_failed_move_task_is_reported_with_what_it_moved(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "list_message_move_tasks",
        task("FAILED", 7, FailureReason="AccessDenied on the destination"),
        {"SourceArn": DLQ_ARN, "MaxResults": ANY},
    )

    with pytest.raises(redrive.RedriveError, match="move task failed: AccessDenied on the destination") as raised:
        redrive.redrive(client, DLQ_URL, QUEUE_URL)
    assert raised.value.moved == 7


def test_a_task_not_listed_yet_is_waited_for(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("list_message_move_tasks", {"Results": []}, {"SourceArn": DLQ_ARN, "MaxResults": ANY})
    stubber.add_response("list_message_move_tasks", task("COMPLETED", 3), {"SourceArn": DLQ_ARN, "MaxResults": ANY})

    assert redrive.redrive(client, DLQ_URL, QUEUE_URL) == (3, "StartMessageMoveTask")


def test_a_task_never_listed_is_an_error(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for _ in range(redrive.MOVE_TASK_UNSEEN_POLLS + 1):
        stubber.add_response("list_message_move_tasks", {"Results": []}, {"SourceArn": DLQ_ARN, "MaxResults": ANY})

    with pytest.raises(redrive.RedriveError, match="never listed"):
        redrive.redrive(client, DLQ_URL, QUEUE_URL)
