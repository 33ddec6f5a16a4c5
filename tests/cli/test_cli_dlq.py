"""`visitor-tracker dlq ...` against the local SQS engine: listing consumes nothing, redrive loses nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.core.definitions import QUEUE
from functions.model import keys
from functions.tables.visitlog import recent_visits
from tests.cli.conftest import Env, make_visit
from visitor_tracker import discovery


def dead_letter_by_redrive_policy(env: Env, body: str) -> str:
    """Send a message to the visit queue and fail it maxReceiveCount times: SQS moves it to the DLQ."""
    message_id = env.sqs.send_message(QueueUrl=env.resources.queue_url, MessageBody=body)["MessageId"]
    for _ in range(QUEUE.max_receive_count):
        got = env.sqs.receive_message(QueueUrl=env.resources.queue_url, VisibilityTimeout=0, WaitTimeSeconds=0)[
            "Messages"
        ]
        assert got[0]["MessageId"] == message_id
    assert env.sqs.receive_message(QueueUrl=env.resources.queue_url, WaitTimeSeconds=0).get("Messages", []) == []
    return message_id


def test_dlq_list_shows_a_poison_message_and_leaves_it_in_the_queue(env: Env) -> None:
    # GIVEN a poison message dead-lettered by the redrive policy, and the reason the writer recorded
    poison = dead_letter_by_redrive_policy(env, "this is not a visit")
    env.dynamodb.put_item(
        TableName=env.resources.table_name,
        Item={**keys.failure_key(poison), "reason": {"S": "InvalidVisit: body is not JSON"}},
    )
    good = env.send_to_dlq(make_visit())

    # WHEN the DLQ is listed twice
    first = env.cli_json("dlq", "list")
    second = env.cli_json("dlq", "list")

    # THEN both listings show the same messages, the reason is attached, and nothing was consumed
    assert [m["message_id"] for m in first] == [poison, good]
    assert [m["message_id"] for m in second] == [poison, good]
    assert first[0]["body"] == "this is not a visit"
    assert first[0]["reason"] == "InvalidVisit: body is not JSON"
    assert first[1]["reason"] is None
    attributes = env.sqs.get_queue_attributes(
        QueueUrl=env.resources.dlq_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "2", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_dlq_list_shows_the_reason_the_real_writer_recorded(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a poison message and a good visit, delivered by the queue to the real writer until the
    # poison message is dead-lettered
    env.sqs.send_message(QueueUrl=env.resources.queue_url, MessageBody='{"visit_id": "x", "schema_version": 99}')
    env.sqs.send_message(QueueUrl=env.resources.queue_url, MessageBody=make_visit().to_json())
    delivered = env.run_writer(monkeypatch, allow_failures=True)

    # WHEN the DLQ is listed
    listed = env.cli_json("dlq", "list")

    # THEN only the poison message is there, with the writer's reason
    assert delivered == 1 + QUEUE.max_receive_count
    assert [m["body"] for m in listed] == ['{"visit_id": "x", "schema_version": 99}']
    assert "schema_version 99" in listed[0]["reason"]


def test_dlq_list_table_and_limit(env: Env) -> None:
    ids = [env.send_to_dlq(make_visit(path=f"/page-{i}")) for i in range(12)]

    table = env.cli("dlq", "list")
    limited = env.cli_json("dlq", "list", "--limit", "5")

    assert table.exit_code == 0, table.output
    assert "12 message(s) in the DLQ" in table.stdout
    assert ids[0] in table.stdout and ids[-1] in table.stdout
    assert len(limited) == 5 and set(m["message_id"] for m in limited) <= set(ids)
    assert len(env.cli_json("dlq", "list")) == 12


def test_dlq_list_on_a_wide_terminal_is_one_row_per_message(env: Env) -> None:
    ids = [env.send_to_dlq(make_visit()) for _ in range(3)]

    result = env.cli("dlq", "list", columns=160)

    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if any(i in line for i in ids)]
    assert len(rows) == 3
    assert all('{"visit_id"' in row for row in rows)


def test_dlq_list_of_an_empty_dlq(env: Env) -> None:
    result = env.cli("dlq", "list")

    assert result.exit_code == 0
    assert "The DLQ is empty." in result.stdout
    assert env.cli_json("dlq", "list") == []


def test_dlq_show_prints_one_message_in_full_without_consuming_it(env: Env) -> None:
    visit = make_visit(path="/shown")
    message_id = env.send_to_dlq(visit)
    env.send_to_dlq(make_visit())

    shown = env.cli_json("dlq", "show", message_id)
    pretty = env.cli("dlq", "show", message_id)

    assert shown["message_id"] == message_id
    assert json.loads(shown["body"]) == json.loads(visit.to_json())
    assert shown["message_attributes"]["correlation_id"]["StringValue"] == visit.visit_id
    assert pretty.exit_code == 0, pretty.output
    assert '"path": "/shown"' in pretty.stdout  # the body, pretty-printed
    assert env.depth(env.resources.dlq_url) == 2


def test_dlq_show_of_an_unknown_id_is_a_clear_error(env: Env) -> None:
    env.send_to_dlq(make_visit())

    result = env.cli("dlq", "show", "no-such-id")

    assert result.exit_code == 2
    assert "message no-such-id is not in the DLQ" in result.stderr
    assert "Traceback" not in result.output


def test_redrive_gets_transiently_failed_visits_written_once_each(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN visits that failed for a transient reason (valid records, now in the DLQ)
    visits = [make_visit(minutes_ago=i, path=f"/p{i}") for i in range(13)]
    for visit in visits:
        env.send_to_dlq(visit)

    # WHEN they are redriven and the writer runs on the visit queue
    result = env.cli("dlq", "redrive", "--yes")
    delivered = env.run_writer(monkeypatch)

    # THEN the DLQ is empty and every visit is logged exactly once
    assert result.exit_code == 0, result.output
    assert "Moved 13 message(s) back to the visit queue (StartMessageMoveTask)" in result.stdout
    assert env.depth(env.resources.dlq_url) == 0
    assert delivered == 13
    logged = recent_visits(100, table_name=env.resources.table_name, client=env.dynamodb)
    assert sorted(v.visit_id for v in logged) == sorted(v.visit_id for v in visits)


def test_redrive_limit_moves_only_that_many(env: Env) -> None:
    for i in range(7):
        env.send_to_dlq(make_visit(path=f"/p{i}"))

    result = env.cli("dlq", "redrive", "--limit", "3", "--yes")

    assert result.exit_code == 0, result.output
    assert "Moved 3 message(s)" in result.stdout
    assert env.depth(env.resources.dlq_url) == 4
    assert env.depth(env.resources.queue_url) == 3


class CrashingSqs:
    """An SQS client whose DeleteMessageBatch crashes at the n-th message it is asked to delete."""

    def __init__(self, client: Any, crash_at: int) -> None:
        self._client = client
        self._remaining = crash_at - 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:  # noqa: N803
        if self._remaining >= len(Entries):
            self._remaining -= len(Entries)
            return self._client.delete_message_batch(QueueUrl=QueueUrl, Entries=Entries)
        if self._remaining:
            self._client.delete_message_batch(QueueUrl=QueueUrl, Entries=Entries[: self._remaining])
        self._remaining = 0
        raise ClientError({"Error": {"Code": "InternalError", "Message": "injected crash"}}, "DeleteMessageBatch")


def test_a_crash_between_send_and_delete_loses_nothing(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN 15 dead-lettered visits, and an SQS client that crashes when deleting the 3rd one
    visits = [make_visit(minutes_ago=i, path=f"/crash{i}") for i in range(15)]
    for visit in visits:
        env.send_to_dlq(visit)
    real_client = discovery.Pipeline.client

    def crashing_client(self: discovery.Pipeline, service: str, **kwargs: Any) -> Any:
        client = real_client(self, service, **kwargs)
        return CrashingSqs(client, crash_at=3) if service == "sqs" else client

    # WHEN a redrive by receive -> send -> delete (what --limit uses) crashes part-way
    with monkeypatch.context() as patch:
        patch.setattr(discovery.Pipeline, "client", crashing_client)
        crashed = env.cli("dlq", "redrive", "--limit", "100", "--yes")

    # THEN it says so in one line, and every visit is still in the visit queue or the DLQ (maybe both)
    assert crashed.exit_code == 2
    assert re.search(r"redrive stopped after \d+ of 15 message\(s\): .*injected crash", crashed.stderr)
    assert "Traceback" not in crashed.output
    queued = [json.loads(b)["visit_id"] for b in env.queue_bodies(env.resources.queue_url)]
    dead = [json.loads(m["body"])["visit_id"] for m in env.cli_json("dlq", "list")]
    assert set(queued) | set(dead) == {v.visit_id for v in visits}
    assert set(queued) & set(dead), "the batch sent but not deleted is in both queues"

    # WHEN the redrive is run again and the writer drains the visit queue
    again = env.cli("dlq", "redrive", "--limit", "100", "--yes")
    delivered = env.run_writer(monkeypatch)

    # THEN the DLQ is empty, duplicates were delivered, and each visit is logged exactly once
    assert again.exit_code == 0, again.output
    assert env.depth(env.resources.dlq_url) == 0
    assert delivered > len(visits)
    logged = recent_visits(100, table_name=env.resources.table_name, client=env.dynamodb)
    assert sorted(v.visit_id for v in logged) == sorted(v.visit_id for v in visits)


def test_redrive_of_big_messages_stays_under_the_batch_size_limit(env: Env) -> None:
    # Six 200 KB bodies: 1.2 MB, more than one SendMessageBatch may carry.
    for i in range(6):
        env.sqs.send_message(QueueUrl=env.resources.dlq_url, MessageBody=f"{i}" + "x" * 200_000)

    result = env.cli("dlq", "redrive", "--yes")

    assert result.exit_code == 0, result.output
    assert "Moved 6 message(s)" in result.stdout
    assert sorted(b[0] for b in env.queue_bodies(env.resources.queue_url)) == list("012345")


class BouncingSqs:
    """An endpoint without SQS's move task (the redrive falls back to receive -> send -> delete) under which
    every redriven message is dead-lettered again at once (new id)."""

    def __init__(self, client: Any, dlq_url: str) -> None:
        self._client = client
        self._dlq_url = dlq_url

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def start_message_move_task(self, **_: Any) -> Any:
        error = {"Code": "AWS.SimpleQueueService.UnsupportedOperation", "Message": "not offered here"}
        raise ClientError({"Error": error}, "StartMessageMoveTask")

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:  # noqa: N803
        response = self._client.send_message_batch(QueueUrl=QueueUrl, Entries=Entries)
        for entry in Entries:
            self._client.send_message(QueueUrl=self._dlq_url, MessageBody=entry["MessageBody"])
        return response


def test_redrive_moves_what_was_there_and_does_not_chase_messages_that_fail_again(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        env.sqs.send_message(QueueUrl=env.resources.dlq_url, MessageBody="poison")
    real_client = discovery.Pipeline.client

    def bouncing_client(self: discovery.Pipeline, service: str, **kwargs: Any) -> Any:
        client = real_client(self, service, **kwargs)
        return BouncingSqs(client, env.resources.dlq_url) if service == "sqs" else client

    monkeypatch.setattr(discovery.Pipeline, "client", bouncing_client)

    result = env.cli("dlq", "redrive", "--yes")

    assert result.exit_code == 0, result.output
    assert "Moved 3 message(s)" in result.stdout
    assert env.depth(env.resources.dlq_url) == 3  # the bounced copies, left for a later redrive


def test_redrive_without_yes_and_no_stdin_refuses(env: Env) -> None:
    env.send_to_dlq(make_visit())

    result = env.cli("dlq", "redrive")

    assert result.exit_code == 2
    assert "refusing to redrive without confirmation" in result.stderr
    assert "--yes" in result.stderr
    assert env.depth(env.resources.dlq_url) == 1


def test_redrive_asks_and_obeys_the_answer(env: Env) -> None:
    env.send_to_dlq(make_visit())
    env.send_to_dlq(make_visit())

    declined = env.cli("dlq", "redrive", input="n\n")
    assert declined.exit_code == 1
    assert env.depth(env.resources.dlq_url) == 2

    accepted = env.cli("dlq", "redrive", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "Move 2 message(s) from the DLQ back to the visit queue?" in accepted.output
    assert env.depth(env.resources.dlq_url) == 0
    assert env.depth(env.resources.queue_url) == 2


def test_redrive_of_an_empty_dlq_does_nothing(env: Env) -> None:
    result = env.cli("dlq", "redrive")

    assert result.exit_code == 0
    assert "nothing to redrive" in result.stdout


def test_purge_refuses_without_yes(env: Env) -> None:
    env.send_to_dlq(make_visit())

    result = env.cli("dlq", "purge")

    assert result.exit_code == 2
    assert "refusing to purge the DLQ without --yes" in result.stderr
    assert env.depth(env.resources.dlq_url) == 1


def test_purge_with_yes_empties_the_dlq(env: Env) -> None:
    for _ in range(3):
        env.send_to_dlq(make_visit())

    result = env.cli("dlq", "purge", "--yes")

    assert result.exit_code == 0, result.output
    assert "Purged the DLQ (3 message(s))" in result.stdout
    assert env.depth(env.resources.dlq_url) == 0
    assert env.depth(env.resources.queue_url) == 0
