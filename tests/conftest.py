"""Fixtures shared by every test: no test can reach real AWS."""

from __future__ import annotations

import ast
import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@functools.cache
def _module_group(path: Path) -> str | None:
    """The ``xdist_group`` named in a test module's ``pytestmark`` (read from its source, not imported)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for statement in tree.body:
        if not isinstance(statement, ast.Assign | ast.AnnAssign):
            continue
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        if not any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets) or statement.value is None:
            continue
        for node in ast.walk(statement.value):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "xdist_group"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                return str(node.args[0].value)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` that keeps each module's ``xdist_group`` on one worker under pytest >= 9.2.

    pytest-xdist (3.8) tags a grouped test by appending ``@group`` to ``item._nodeid`` on the worker, but
    pytest 9.2 keeps node ids elsewhere (``Node._id``): the tag is lost, and every grouped test was
    scheduled alone, so session fixtures meant to be built once (the infra syntheses, the e2e local
    modes) were built on both workers and the groups' heavy tests ran against each other. This scheduler
    reads the group of a test module's ``pytestmark`` instead (the only place this suite names groups).
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    root = config.rootpath

    class ModuleGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = str(super()._split_scope(nodeid))
            if scope != nodeid:  # xdist found its own ``@group`` tag (a pytest it supports)
                return scope
            return _module_group(root / nodeid.split("::", 1)[0]) or nodeid

    return ModuleGroupScheduling(config, log)


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
