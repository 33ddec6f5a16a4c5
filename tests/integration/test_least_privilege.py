"""Each function's IAM actions (pipeline/permissions.py, which the stack grants) against the AWS calls
the function really makes, path by path: a call outside its grant would be AccessDenied in AWS (moto
does not enforce IAM), and a grant no path uses is privilege to remove."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from functions.common import aws as aws_clients
from functions.status import service as status_service
from functions.status.handler import handler as status_handler
from pipeline.permissions import (
    INGEST_QUEUE_ACTIONS,
    INGEST_TABLE_ACTIONS,
    STATUS_METRIC_ACTIONS,
    STATUS_QUEUE_ACTIONS,
    STATUS_TABLE_ACTIONS,
    WRITER_TABLE_ACTIONS,
)
from tests.events import rest_event
from tests.pipeline_helpers import BOT_UA, FakeContext, drain_queue, send_raw

# A transaction needs the permission of each action it contains.
_TRANSACTION_ACTIONS = {"Update": "UpdateItem", "Put": "PutItem", "ConditionCheck": "ConditionCheckItem"}


class Recorder:
    """IAM actions of the calls made through the functions' own clients (before parameters are built)."""

    def __init__(self) -> None:
        self.actions: set[str] = set()

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_id.hyphenize()  # the IAM prefix: dynamodb, sqs, cloudwatch
        if model.name == "TransactWriteItems":
            for item in params.get("TransactItems", []):
                self.actions.update(f"dynamodb:{_TRANSACTION_ACTIONS[kind]}" for kind in item)
        else:
            self.actions.add(f"{service}:{model.name}")

    def take(self) -> set[str]:
        taken, self.actions = self.actions, set()
        return taken


@pytest.fixture
def recorder(ingest: Any) -> Iterator[Recorder]:
    rec = Recorder()
    clients = (aws_clients.dynamodb(), aws_clients.sqs(), aws_clients.cloudwatch())
    for client in clients:
        client.meta.events.register("before-parameter-build.*.*", rec)
    yield rec
    for client in clients:
        client.meta.events.unregister("before-parameter-build.*.*", rec)


def test_every_call_is_granted_and_every_grant_is_used(
    ingest: Any, recorder: Recorder, fail_operation: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN ingest with a hashed IP (daily salt) and a sharded counter, so every ingest path runs
    ingest.configure(monkeypatch, IP_MODE="hashed", COUNTER_SHARDS="4")
    assert ingest(rest_event(request_id="human-1")).status == 200
    assert ingest(rest_event(request_id="bot-1", headers={"User-Agent": BOT_UA})).status == 200
    # ... a bot's visit with one counter item (it reads the count without incrementing it)
    ingest.configure(monkeypatch, IP_MODE="hashed", COUNTER_SHARDS="1")
    assert ingest(rest_event(request_id="bot-2", headers={"User-Agent": BOT_UA})).status == 200
    # ... and the recovery path: the queue refuses the visit, the log item is written directly
    fail_operation(aws_clients.sqs(), "SendMessage")
    assert ingest(rest_event(request_id="recovered-1")).status == 200
    ingest_calls = recorder.take()

    # WHEN the writer drains the queue, including a poison message (its failure reason is recorded)
    send_raw(ingest.resources, "not json")
    drain_queue(ingest.resources)
    writer_calls = recorder.take()

    # AND the status function answers /status and /dashboard
    status_service.reset_age_cache()
    for path in ("/status", "/dashboard"):
        assert status_handler(rest_event(path), FakeContext())["statusCode"] == 200
    status_calls = recorder.take()

    # THEN every call is within the function's grant
    assert ingest_calls <= set(INGEST_TABLE_ACTIONS + INGEST_QUEUE_ACTIONS), ingest_calls
    assert writer_calls <= set(WRITER_TABLE_ACTIONS), writer_calls
    assert status_calls <= set(STATUS_TABLE_ACTIONS + STATUS_QUEUE_ACTIONS + STATUS_METRIC_ACTIONS), status_calls
    # AND every grant is used by some path (no spare privilege)
    assert set(INGEST_TABLE_ACTIONS + INGEST_QUEUE_ACTIONS) == ingest_calls
    assert set(WRITER_TABLE_ACTIONS) == writer_calls
    assert set(STATUS_TABLE_ACTIONS + STATUS_QUEUE_ACTIONS + STATUS_METRIC_ACTIONS) == status_calls
