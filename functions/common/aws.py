"""AWS clients, created once per execution environment and only when first needed.

Warm invocations reuse them; tests under moto call ``reset_clients()`` so a new mock is picked up.
``AWS_ENDPOINT_URL`` (read by botocore itself) points them at local mode's emulator.

The clients come straight from a botocore session, not from boto3: they are the same low-level
clients (boto3.client is a thin wrapper over botocore's), but ``import boto3`` also imports s3transfer
and its dependencies, about 30 ms of every cold start that the functions never use
(bench/3_cold_start.py measures it).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config

# Fail fast in the request path: a visitor waits on these calls. Standard retry mode backs off on
# throttling and retries transient errors: 2 attempts in all. A call's worst case is then about
# 2 x (1 s + 2 s) + one backoff (< 1 s) = 7 s, and ingest's worst path (counter, send, recovery put)
# about 21 s: ingest's Lambda timeout (pipeline/functions.py) is above that, so the recovery write
# always runs before Lambda would stop the function, and below API Gateway's 29 s.
CALL_WORST_CASE_SECONDS = 7
_CONFIG = Config(
    connect_timeout=1,
    read_timeout=2,
    retries={"total_max_attempts": 2, "mode": "standard"},
)


@cache
def _session() -> Any:
    """One botocore session per execution environment: clients share its loaders and credentials."""
    return botocore.session.get_session()


@cache
def dynamodb() -> Any:
    """The low-level DynamoDB client (no resource layer: cheaper to import and to call)."""
    return _session().create_client("dynamodb", config=_CONFIG)


@cache
def sqs() -> Any:
    """The SQS client."""
    return _session().create_client("sqs", config=_CONFIG)


@cache
def cloudwatch() -> Any:
    """The CloudWatch client (status reads the queue's oldest-message age, a metric only)."""
    return _session().create_client("cloudwatch", config=_CONFIG)


def reset_clients() -> None:
    """Forget the cached clients and session (tests: a fresh moto mock, or a changed endpoint)."""
    dynamodb.cache_clear()
    sqs.cache_clear()
    cloudwatch.cache_clear()
    _session.cache_clear()
