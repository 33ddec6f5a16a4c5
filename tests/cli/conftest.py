"""The CLI against a real (threaded) moto server, found through a local-mode state file.

Each test gets its own table and queues (a unique prefix) on one moto server per worker, and a
state file in its ``tmp_path`` that points at them: the CLI then runs exactly as it does against
``visitor-tracker local``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner, Result
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from functions.core.environment import ENVIRONMENT
from functions.model.visit import Visit
from tests.support.pipeline import FIREFOX_UA
from tests.support.pipeline import make_visit as support_visit
from visitor_tracker.cli import app
from visitor_tracker.emulator import EmbeddedEmulator
from visitor_tracker.events import LambdaContext
from visitor_tracker.local.esm import to_sqs_event
from visitor_tracker.resources import PipelineResources, create_resources
from visitor_tracker.state import STATE_ENV, LocalState, write_state

REGION = "us-east-1"
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per moto request otherwise


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    """The project's local AWS endpoint for the module: its SQS engine, moto for DynamoDB and CloudWatch."""
    server = EmbeddedEmulator(port=0)
    server.start()
    yield server.url
    server.stop()


@dataclass
class Env:
    """A pipeline on the moto server, and helpers to drive it the way the deployed one runs."""

    endpoint: str
    resources: PipelineResources
    state_file: Path
    sqs: Any
    dynamodb: Any
    runner: CliRunner = field(default_factory=CliRunner)

    def cli(self, *args: str, input: str | None = None, columns: int | None = None) -> Result:
        """Run the CLI; ``columns`` sets the terminal width rich lays out for (80 otherwise)."""
        env = {"COLUMNS": str(columns)} if columns else None
        return self.runner.invoke(app, list(args), input=input, env=env)

    def cli_json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def send_to_dlq(self, visit: Visit) -> str:
        """A visit the writer gave up on (e.g. DynamoDB was throttled), as ingest queued it."""
        return self.sqs.send_message(
            QueueUrl=self.resources.dlq_url,
            MessageBody=visit.to_json(),
            MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": visit.visit_id}},
        )["MessageId"]

    def queue_bodies(self, queue_url: str) -> list[str]:
        """Every visible message body of a queue, left in place (received with visibility 0)."""
        bodies: dict[str, str] = {}
        for _ in range(50):
            got = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0
            ).get("Messages", [])
            new = {m["MessageId"]: m["Body"] for m in got if m["MessageId"] not in bodies}
            if not new and len(bodies) >= self.depth(queue_url):
                break
            bodies.update(new)
        return list(bodies.values())

    def depth(self, queue_url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def run_writer(self, monkeypatch: pytest.MonkeyPatch, *, allow_failures: bool = False) -> int:
        """Play the event source mapping over the visit queue until it is empty; returns records delivered.

        The real writer handler gets Lambda's SQS event. Records it reports as failed are an error
        unless ``allow_failures``: then they are made visible again at once, as local mode does, until
        the queue's redrive policy moves them to the DLQ.
        """
        from functions.writer.handler import handler

        for name, value in self.resources.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", self.endpoint)
        ENVIRONMENT.reset()
        delivered = 0
        try:
            for _ in range(200):
                messages = self.sqs.receive_message(
                    QueueUrl=self.resources.queue_url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=60,
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    return delivered
                delivered += len(messages)
                event = to_sqs_event(messages, queue_arn=self.resources.queue_arn, region=REGION)
                response = handler(event, FakeContext())
                failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
                assert allow_failures or not failed, f"the writer failed records: {failed}"
                for i, m in enumerate(messages):
                    handle = {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    if m["MessageId"] in failed:
                        self.sqs.change_message_visibility_batch(
                            QueueUrl=self.resources.queue_url, Entries=[{**handle, "VisibilityTimeout": 0}]
                        )
                    else:
                        self.sqs.delete_message_batch(QueueUrl=self.resources.queue_url, Entries=[handle])
            raise AssertionError("the visit queue never emptied")
        finally:
            ENVIRONMENT.reset()


def FakeContext() -> LambdaContext:  # noqa: N802 - reads like the class it was
    """What Powertools reads from a Lambda context: local mode's stand-in."""
    return LambdaContext("writer")


def make_visit(**fields: Any) -> Visit:
    """The tests' visit factory with a Firefox User-Agent (what the CLI's tables show)."""
    return support_visit(**{"user_agent": FIREFOX_UA, **fields})


def clients(endpoint: str) -> tuple[Any, Any]:
    kwargs: dict[str, Any] = {"endpoint_url": endpoint, "region_name": REGION}
    return boto3.client("dynamodb", **kwargs), boto3.client("sqs", **kwargs)


def write_local_state(path: Path, endpoint: str, resources: PipelineResources, api_url: str) -> None:
    """Write the state file local mode would write (``path`` must be where STATE_ENV points)."""
    assert os.environ.get(STATE_ENV) == str(path)
    write_state(
        LocalState(
            pid=os.getpid(),
            api_url=api_url,
            endpoint_url=endpoint,
            region=REGION,
            table_name=resources.table_name,
            queue_url=resources.queue_url,
            dlq_url=resources.dlq_url,
            started_at=datetime.now(UTC).isoformat(),
        )
    )


@pytest.fixture
def env(aws_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    """Fresh resources on the moto server and a local-mode state file pointing at them."""
    dynamodb, sqs = clients(aws_endpoint)
    resources = create_resources(dynamodb, sqs, prefix=f"cli-{uuid.uuid4().hex[:10]}", visibility_timeout=0)
    state_file = tmp_path / "local.json"
    monkeypatch.setenv(STATE_ENV, str(state_file))
    write_local_state(state_file, aws_endpoint, resources, api_url="http://127.0.0.1:9")
    return Env(aws_endpoint, resources, state_file, sqs, dynamodb)


@dataclass
class HttpStub:
    """A tiny HTTP server answering every request with ``handle(request)``; records the requests."""

    url: str
    requests: list[Request]
    server: BaseWSGIServer


@pytest.fixture
def http_stub() -> Iterator[Callable[[Callable[[Request], Response]], HttpStub]]:
    servers: list[BaseWSGIServer] = []

    def start(handle: Callable[[Request], Response]) -> HttpStub:
        seen: list[Request] = []

        @Request.application  # type: ignore[misc]
        def wsgi(request: Request) -> Response:
            seen.append(request)
            return handle(request)

        server = make_server("127.0.0.1", 0, wsgi, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return HttpStub(f"http://127.0.0.1:{server.server_port}", seen, server)

    yield start
    for server in servers:
        server.shutdown()


def serve_status(env: Env, http_stub: Any, monkeypatch: pytest.MonkeyPatch, **settings: str) -> None:
    """The real status function behind an HTTP server as the state file's API (what ``--site`` asks), with
    the functions' environment ``settings`` (``SITES=...``)."""
    from functions.status.handler import handler as status_handler
    from tests.support.events import http_v2_event

    environment = {**env.resources.environment(), "AWS_ENDPOINT_URL": env.endpoint, "STATUS_CACHE_SECONDS": "0"}
    for name, value in {**environment, **settings}.items():
        monkeypatch.setenv(name, value)
    ENVIRONMENT.reset()

    def handle(request: Request) -> Response:
        event = http_v2_event(request.path, query=dict(request.args), headers=dict(request.headers))
        answer = status_handler(event, None)
        return Response(answer["body"], status=answer["statusCode"], headers=answer["headers"])

    write_local_state(env.state_file, env.endpoint, env.resources, api_url=http_stub(handle).url)
