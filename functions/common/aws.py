"""boto3 clients, created once per execution environment and only when first needed.

Warm invocations reuse them; tests under moto call ``reset_clients()`` so a new mock is picked up.
``AWS_ENDPOINT_URL`` (read by boto3 itself) points them at local mode's emulator.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
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
def dynamodb() -> Any:
    """The low-level DynamoDB client (no resource layer: cheaper to import and to call)."""
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sqs() -> Any:
    """The SQS client."""
    return boto3.client("sqs", config=_CONFIG)


@cache
def cloudwatch() -> Any:
    """The CloudWatch client (status reads the queue's oldest-message age, a metric only)."""
    return boto3.client("cloudwatch", config=_CONFIG)


def reset_clients() -> None:
    """Forget the cached clients (tests: a fresh moto mock, or a changed endpoint)."""
    dynamodb.cache_clear()
    sqs.cache_clear()
    cloudwatch.cache_clear()
