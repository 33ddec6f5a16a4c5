"""Fixtures shared by every test: no test can reach real AWS."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from functions.common import aws as aws_clients
from functions.common.settings import get_settings
from functions.status.service import reset_age_cache
from visitor_tracker.resources import PipelineResources, create_resources

pytest_plugins = ["tests.dynamodb_local"]  # the dynamodb_local_url fixture

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


def _reset_caches() -> None:
    aws_clients.reset_clients()
    get_settings.cache_clear()
    reset_age_cache()


@pytest.fixture
def aws() -> Iterator[None]:
    """An in-process moto mock; the functions' cached clients and settings are reset around it."""
    _reset_caches()
    with mock_aws():
        yield
    _reset_caches()


@pytest.fixture
def pipeline_resources(aws: None, monkeypatch: pytest.MonkeyPatch) -> PipelineResources:
    """Table, queue and DLQ built from the shared definitions; the functions' env points at them."""
    resources = create_resources(
        boto3.client("dynamodb"), boto3.client("sqs"), prefix="test", visibility_timeout=0
    )
    for name, value in resources.environment().items():
        monkeypatch.setenv(name, value)
    _reset_caches()
    return resources
