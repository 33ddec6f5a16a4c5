"""Fixtures shared by every test: no test can reach real AWS."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from functions.core.environment import ENVIRONMENT
from visitor_tracker.emulator import EmbeddedEmulator
from visitor_tracker.resources import PipelineResources, create_resources

pytest_plugins = ["tests.support.dynamodb_local"]  # the dynamodb_local_url fixture

# Set before anything creates a client: dummy credentials, a region, no tracing, no live endpoint.
os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",  # noqa: S105 - moto's dummy credentials
    AWS_SECURITY_TOKEN="testing",  # noqa: S105
    AWS_SESSION_TOKEN="testing",  # noqa: S105
    POWERTOOLS_TRACE_DISABLED="1",
    POWERTOOLS_METRICS_NAMESPACE="VisitorTrackerTest",
    POWERTOOLS_DEV="false",
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


# The tiers of the pyramid are folders; each folder's tests carry its marker (pytest -m bench, -m volume).
TIER_MARKERS = {"bench": pytest.mark.bench, "volume": pytest.mark.volume}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.parent.name
        if tier in TIER_MARKERS:
            item.add_marker(TIER_MARKERS[tier])


def _reset_caches() -> None:
    ENVIRONMENT.reset()


@pytest.fixture
def aws() -> Iterator[None]:
    """An in-process moto mock; the functions' cached clients and settings are reset around it."""
    _reset_caches()
    with mock_aws():
        yield
    _reset_caches()


@pytest.fixture(params=["moto"])
def dynamodb_backend(request: pytest.FixtureRequest) -> str:
    """Which DynamoDB the pipeline fixtures use: moto in-process (default) or AWS's DynamoDB Local.

    A module opts in to both with
    ``pytestmark = pytest.mark.parametrize("dynamodb_backend", BOTH_BACKENDS, indirect=True)``.
    """
    return str(request.param)


BOTH_BACKENDS = ["moto", "dynamodb-local"]


@pytest.fixture(scope="session")
def sqs_endpoint() -> Iterator[str]:
    """The project's SQS engine behind its local endpoint, one per test session (each test makes its
    own queues): the one SQS stand-in of local mode, the tests and bench."""
    emulator = EmbeddedEmulator(port=0)
    emulator.start()
    yield emulator.url
    emulator.stop()


@pytest.fixture
def pipeline_resources(
    aws: None,
    dynamodb_backend: str,
    sqs_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> PipelineResources:
    """Table, queue and DLQ built from the shared definitions; the functions' env points at them.

    SQS is the project's engine (``sqs_endpoint``); DynamoDB is moto in process, or DynamoDB Local
    (one server per session, a table per test). moto lets requests to 127.0.0.1 endpoints through.
    """
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", sqs_endpoint)
    if dynamodb_backend == "dynamodb-local":
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", request.getfixturevalue("dynamodb_local_url"))
    resources = create_resources(boto3.client("dynamodb"), boto3.client("sqs"), prefix=prefix, visibility_timeout=0)
    for name, value in resources.environment().items():
        monkeypatch.setenv(name, value)
    _reset_caches()
    return resources
