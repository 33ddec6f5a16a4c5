"""AWS clients, created once per execution environment and only when first needed, one retry policy each.

Retries are botocore's standard mode, configured per client profile; the code adds loops only where
botocore cannot help (``UnprocessedItems``/``UnprocessedKeys``, transaction cancellation reasons).
Every call a function makes is safe to repeat, which is what lets the SDK retry freely:

- ``REQUEST_PATH`` (ingest, status): a visitor waits, so fail fast — 1 s to connect, 2 s to read,
  2 attempts. Ingest's calls are reads, a conditional salt put, a SendMessage (a duplicate message
  is dropped by the writer's exactly-once transaction) and a recovery transaction conditional on
  the log item: a retry of an attempt that had in fact been applied changes nothing.
- ``WRITER``: nobody waits, so be patient — 4 attempts with standard mode's exponential backoff
  and a longer read timeout; a record that still fails is redelivered by SQS. Its Lambda timeout
  (and so the queue's visibility timeout) is computed from these settings (pipeline/budget.py).

``AWS_ENDPOINT_URL`` (read by botocore itself) points them at local mode's emulator. The clients
come straight from a botocore session, not from boto3: ``import boto3`` also imports s3transfer, about
30 ms of every cold start that the functions never use (bench/3_cold_start.py measures it).
"""

from __future__ import annotations

from enum import Enum
from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config

from functions.core.environment import ENVIRONMENT


class Profile(Enum):
    REQUEST_PATH = "request-path"
    WRITER = "writer"


REQUEST_PATH = Profile.REQUEST_PATH
WRITER = Profile.WRITER

REQUEST_PATH_CONFIG = Config(
    connect_timeout=1,
    read_timeout=2,
    retries={"total_max_attempts": 2, "mode": "standard"},
)
WRITER_CONFIG = Config(
    connect_timeout=1,
    read_timeout=5,
    retries={"total_max_attempts": 4, "mode": "standard"},
    # The writer's requests are built by its own code and DynamoDB validates them again; checking a
    # 100-action transaction on the client was about 15 % of the writer's CPU (py-spy, local mode).
    parameter_validation=False,
)
CONFIGS = {REQUEST_PATH: REQUEST_PATH_CONFIG, WRITER: WRITER_CONFIG}

# Ingest's longest path, in AWS calls: counter read, salt PutItem + GetItem (first visit of a day),
# SendMessage, and the recovery TransactWriteItems when SendMessage failed.
INGEST_WORST_PATH_CALLS = 5


@ENVIRONMENT.cached
@cache
def session() -> Any:
    """One botocore session per execution environment: clients share its loaders and credentials.

    Local mode registers its in-process SQS transport on it (a botocore ``before-send`` handler).
    """
    return botocore.session.get_session()


def dynamodb(profile: Profile = REQUEST_PATH) -> Any:
    """The low-level DynamoDB client of a profile (no resource layer: cheaper to import and to call)."""
    return _dynamodb(profile)


@ENVIRONMENT.cached
@cache
def _dynamodb(profile: Profile) -> Any:
    # One cache key per profile, however the caller spells the argument.
    return session().create_client("dynamodb", config=CONFIGS[profile])


@ENVIRONMENT.cached
@cache
def sqs() -> Any:
    """The SQS client (ingest's SendMessage, status's queue attributes)."""
    return session().create_client("sqs", config=REQUEST_PATH_CONFIG)


@ENVIRONMENT.cached
@cache
def cloudwatch() -> Any:
    """The CloudWatch client (status reads the queue's oldest-message age, a metric only)."""
    return session().create_client("cloudwatch", config=REQUEST_PATH_CONFIG)
