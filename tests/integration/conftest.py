"""Fixtures for driving the ingest function through its Lambda handler against moto."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.core import aws as aws_clients
from functions.core.environment import ENVIRONMENT
from functions.core.observability import logger as powertools_logger
from functions.ingest import handler as ingest_handler
from functions.model import keys
from functions.model.visit import Visit
from functions.tables import counter, store
from tests.support.calls import CallCounter
from tests.support.pipeline import drain_queue
from visitor_tracker.resources import PipelineResources


def emitted_metrics(stdout: str) -> list[str]:
    """Metric names in the EMF blobs Powertools printed (one JSON document per flush)."""
    names = []
    for line in stdout.splitlines():
        for blob in line.replace("}{", "}\n{").splitlines():
            if '"_aws"' in blob:
                data = json.loads(blob)
                names += [m["Name"] for d in data["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    return names


def emitted_values(stdout: str) -> dict[str, float]:
    """Metric values in the EMF blobs Powertools printed, summed by name."""
    values: dict[str, float] = {}
    for line in stdout.splitlines():
        for blob in line.replace("}{", "}\n{").splitlines():
            if '"_aws"' in blob:
                data = json.loads(blob)
                for d in data["_aws"]["CloudWatchMetrics"]:
                    for m in d["Metrics"]:
                        value = data[m["Name"]]
                        total = sum(value) if isinstance(value, list) else value
                        values[m["Name"]] = values.get(m["Name"], 0) + total
    return values


@dataclass
class IngestResult:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Ingest:
    resources: PipelineResources
    on_forget: list[Callable[[], None]] = field(default_factory=list)

    def __call__(self, event: Any) -> IngestResult:
        response = ingest_handler.handler(event, None)
        body = json.loads(response["body"]) if response.get("body") else {}
        return IngestResult(response["statusCode"], response["headers"], body)

    def forget(self) -> None:
        """A fresh execution environment: no last answer, no salt cached, new clients."""
        ENVIRONMENT.reset()
        for hook in self.on_forget:
            hook()

    def configure(self, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
        """Change the function's environment, as a new deployment would (fresh execution environment)."""
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        self.forget()

    def queued(self) -> list[Visit]:
        """Receive and delete everything on the visit queue, as validated Visit records."""
        sqs = boto3.client("sqs")
        visits: list[Visit] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.resources.queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=60,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return visits
            for message in messages:
                visit = Visit.from_json(message["Body"])
                assert message["MessageAttributes"]["correlation_id"]["StringValue"] == visit.visit_id
                visits.append(visit)
                sqs.delete_message(QueueUrl=self.resources.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def drain(self) -> int:
        """Run the writer over the queue (as the event source mapping would); return the count it left."""
        report = drain_queue(self.resources)
        assert report.failures == []
        return self.stored_count()

    def stored_count(self) -> int:
        """The counter as stored, read with the test's own client (the functions' may have faults injected)."""
        item = (
            boto3.client("dynamodb")
            .get_item(TableName=self.resources.table_name, Key=keys.counter_key(0), ConsistentRead=True)
            .get("Item")
        )
        return counter.visits_of(item)

    def queue_length(self) -> int:
        """Messages waiting on the visit queue (cheap: receiving hundreds from moto is slow)."""
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=self.resources.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def items(self, pk_prefix: str = "") -> list[dict[str, Any]]:
        pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=self.resources.table_name)
        return [item for page in pages for item in page["Items"] if item["pk"]["S"].startswith(pk_prefix)]


@pytest.fixture
def ingest(pipeline_resources: PipelineResources) -> Iterator[Ingest]:
    """The ingest handler on a fresh table and queue, with a cold per-environment state."""
    ENVIRONMENT.reset()
    yield Ingest(pipeline_resources)
    ENVIRONMENT.reset()


@pytest.fixture
def aws_calls(ingest: Ingest) -> Iterator[CallCounter]:
    """Count the API calls made through the functions' own (cached) clients."""
    counter = CallCounter()

    def attach() -> None:  # again after each fresh environment: its clients are new
        counter.attach(aws_clients.dynamodb(), aws_clients.sqs())

    attach()
    ingest.on_forget.append(attach)
    yield counter
    counter.detach()


FailureInjector = Callable[[Any, str], None]


@pytest.fixture
def fail_operation() -> Iterator[FailureInjector]:
    """``fail_operation(client, "SendMessage")``: that operation raises a ClientError, as after the SDK's retries."""
    registered: list[tuple[Any, str, Callable[..., Any]]] = []

    def inject(client: Any, operation: str) -> None:
        def fail(model: Any, **_: Any) -> None:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected failure"}}, model.name)

        event = f"before-call.{client.meta.service_model.service_name}.{operation}"
        client.meta.events.register(event, fail)
        registered.append((client, event, fail))

    yield inject
    for client, event, fail in registered:
        client.meta.events.unregister(event, fail)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[_Records]:
    """The functions' log lines, formatted by Powertools' JSON formatter exactly as CloudWatch gets them."""
    handler = _Records()
    handler.setFormatter(powertools_logger.registered_formatter)
    std_logger = powertools_logger._logger
    std_logger.addHandler(handler)
    yield handler
    std_logger.removeHandler(handler)


@pytest.fixture
def writer_sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """For writer tests: no real sleeping between retries (the delays are recorded), a cold environment."""
    sleeps: list[float] = []
    monkeypatch.setattr(store, "sleep", sleeps.append)
    ENVIRONMENT.reset()
    yield sleeps
