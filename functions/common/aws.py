"""boto3 clients, created once per execution environment and only when first needed.

Warm invocations reuse them; tests under moto call ``reset_clients()`` so a new mock is picked up.
``AWS_ENDPOINT_URL`` (read by boto3 itself) points them at local mode's emulator.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Fail fast in the request path: a visitor waits on these calls. Standard retry mode backs off
# on throttling and retries transient errors (3 attempts in all).
_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"max_attempts": 3, "mode": "standard"},
)


@cache
def dynamodb() -> Any:
    """The low-level DynamoDB client (no resource layer: cheaper to import and to call)."""
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sqs() -> Any:
    """The SQS client."""
    return boto3.client("sqs", config=_CONFIG)


def reset_clients() -> None:
    """Forget the cached clients (tests: a fresh moto mock, or a changed endpoint)."""
    dynamodb.cache_clear()
    sqs.cache_clear()
