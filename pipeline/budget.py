"""Ingest's and the writer's timeout budgets, computed from the botocore settings their clients really use.

CDK-free and pure: pipeline/functions.py sizes ingest's Lambda timeout with it and
tests/infra/test_budget.py checks the timeout against it, so "a counted visit is never cut off half
way" holds by construction instead of by a number chosen by hand.

One AWS call, at worst, with botocore's standard retry mode and ``total_max_attempts`` = n:

    n x (connect_timeout + read_timeout)                     every attempt times out
  + sum over retries k = 1..n-1 of min(2^(k-1), 20) s        throttling back-off cap (base 1 s)
  + (n-1) x 5 s                                              an ``x-amz-retry-after`` header may add
                                                             up to 5 s to each back-off

(the constants are read from botocore's ``ExponentialBackoff``). Assumed, not modelled: one address
per connection attempt (urllib3 tries each resolved address with the full connect timeout) and a
server that answers each read within ``read_timeout`` (it bounds each socket read, not the body).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from botocore.config import Config
from botocore.retries import standard

# Ingest's worst path, one entry per AWS call, in order (issue 11's design): the counter read, the
# day's salt (a conditional PutItem that loses the race, then a consistent GetItem), SendMessage
# failing, and the recovery transaction (log item + counter increment).
INGEST_WORST_PATH: Final = (
    "dynamodb:GetItem (counter)",
    "dynamodb:PutItem (salt)",
    "dynamodb:GetItem (salt, consistent)",
    "sqs:SendMessage",
    "dynamodb:TransactWriteItems (recovery)",
)
# The handler's own work around the calls (parsing, hashing, logging, the metrics flush).
HANDLER_MARGIN_SECONDS: Final = 2
# API Gateway's integration timeout (REST default, HTTP API maximum is 30 s): beyond it the visitor
# gets a 504, but the function keeps running to the end of its own timeout and finishes the visit.
GATEWAY_TIMEOUT_SECONDS: Final = 29

_BACKOFF_BASE: Final = getattr(standard.ExponentialBackoff, "_BASE", 2)
_BACKOFF_CAP: Final = getattr(standard.ExponentialBackoff, "_MAX_BACKOFF", 20)
_RETRY_AFTER_EXTRA: Final = getattr(standard.ExponentialBackoff, "_RETRY_AFTER_MAX_ADDITIONAL", 0)
_THROTTLING_BASE_SCALE: Final = 1


def _setting(config: Config, name: str, default: Any) -> Any:
    value = getattr(config, name, None)
    return default if value is None else value


def call_worst_case_seconds(config: Config) -> float:
    """The longest one call through a client built with ``config`` can take before it raises."""
    retries: Mapping[str, Any] = _setting(config, "retries", {}) or {}
    mode = retries.get("mode", "legacy")
    if mode != "standard":
        raise ValueError(f"the budget models botocore's standard retry mode only, got {mode!r}")
    if "total_max_attempts" in retries:
        attempts = int(retries["total_max_attempts"])
    else:
        attempts = int(retries.get("max_attempts", 2)) + 1  # max_attempts counts retries only
    connect = float(_setting(config, "connect_timeout", 60))
    read = float(_setting(config, "read_timeout", 60))
    backoff = sum(
        min(_THROTTLING_BASE_SCALE * _BACKOFF_BASE ** (k - 1), _BACKOFF_CAP) + _RETRY_AFTER_EXTRA
        for k in range(1, attempts)
    )
    return attempts * (connect + read) + backoff


def path_worst_case_seconds(configs: Sequence[Config]) -> float:
    """A path of calls, each through a client with its own config, one after the other."""
    return sum(call_worst_case_seconds(config) for config in configs)


def ingest_worst_path_seconds(config: Config, calls: int = len(INGEST_WORST_PATH)) -> float:
    """Ingest's worst path: ``calls`` calls, all through ingest's request-path config."""
    return path_worst_case_seconds([config] * calls)


def ingest_client_config() -> Config:
    """The botocore config of ingest's clients, from functions/core/aws.py (one request-path config)."""
    from functions.core import aws

    for name in ("REQUEST_PATH_CONFIG", "_CONFIG"):  # today's name first, then the earlier one
        config = getattr(aws, name, None)
        if isinstance(config, Config):
            return config
    raise LookupError("functions/core/aws.py has no request-path botocore Config for ingest")


def ingest_worst_path_calls() -> int:
    """How many AWS calls ingest's worst path makes: functions/core/aws.py says, else INGEST_WORST_PATH."""
    from functions.core import aws

    return int(getattr(aws, "INGEST_WORST_PATH_CALLS", len(INGEST_WORST_PATH)))


def ingest_timeout_seconds() -> int:
    """Ingest's Lambda timeout: above its worst path through its real client settings."""
    return lambda_timeout_seconds(ingest_worst_path_seconds(ingest_client_config(), ingest_worst_path_calls()))


# The writer's path for a full batch, one entry per AWS call (functions/writer/batch.py): the day's
# names (first batch of a day in an environment), the counting transactions of a batch of 100 (its
# two halves, each under the 100-action limit), the unique-visitor sketch, and the failure reasons.
# A batch that needs more (many new names: smaller chunks) is rarer than a slow DynamoDB.
WRITER_WORST_PATH: Final = (
    "dynamodb:Query (the day's names)",
    "dynamodb:TransactWriteItems (counting, first half)",
    "dynamodb:TransactWriteItems (counting, second half)",
    "dynamodb:UpdateItem (unique-visitor sketch)",
    "dynamodb:BatchWriteItem (failure reasons)",
    "s3:PutObject (the lake's rows, issue 22)",
)
# SQS's visibility timeout is at least six times the writer's timeout (AWS's advice for event source
# mappings), so a batch is never redelivered while an invocation may still be writing it.
VISIBILITY_PER_TIMEOUT: Final = 6


def writer_client_config() -> Config:
    from functions.core import aws

    return aws.WRITER_CONFIG


def writer_timeout_seconds() -> int:
    """The writer's Lambda timeout: above its worst path through its real client settings.

    Before, a fixed 30 s against a client allowed about 160 s per call: a slow DynamoDB timed whole
    batches out, towards the DLQ.
    """
    return lambda_timeout_seconds(path_worst_case_seconds([writer_client_config()] * len(WRITER_WORST_PATH)))


def visibility_timeout_seconds() -> int:
    return VISIBILITY_PER_TIMEOUT * writer_timeout_seconds()


def lambda_timeout_seconds(worst_path_seconds: float, margin_seconds: int = HANDLER_MARGIN_SECONDS) -> int:
    """A Lambda timeout strictly above the worst path plus the handler's own work."""
    return math.floor(worst_path_seconds) + 1 + margin_seconds
