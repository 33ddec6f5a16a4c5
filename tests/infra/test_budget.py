"""Ingest's timeout covers its worst path, computed from the botocore settings its clients really use."""

from __future__ import annotations

import pytest
from botocore.config import Config

from functions.core import aws
from functions.core.environment import ENVIRONMENT
from pipeline import budget
from pipeline.functions import SIZING

from .helpers import Synth, function_props

pytestmark = pytest.mark.xdist_group("infra")


def test_one_call_worst_case_follows_botocore_standard_mode() -> None:
    # 2 attempts of 1 s connect + 2 s read, one back-off of at most 1 s (throttling base) + 5 s retry-after
    config = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 2, "mode": "standard"})
    assert budget.call_worst_case_seconds(config) == 2 * 3 + 1 + 5
    # 4 attempts: back-offs of at most 1, 2 and 4 s, each + 5 s
    config = Config(connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 4, "mode": "standard"})
    assert budget.call_worst_case_seconds(config) == 4 * 2 + (1 + 2 + 4) + 3 * 5
    # max_attempts counts retries only
    config = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1, "mode": "standard"})
    assert budget.call_worst_case_seconds(config) == 2 * 2 + 1 + 5
    with pytest.raises(ValueError, match="standard"):
        budget.call_worst_case_seconds(Config(retries={"mode": "adaptive"}))


def test_the_budgeted_config_is_the_one_ingests_clients_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget reads a config by name: prove that name is what the clients are built with."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    ENVIRONMENT.reset()
    try:
        config = budget.ingest_client_config()
        for client in (aws.dynamodb(), aws.sqs()):
            used = client.meta.config
            assert (used.connect_timeout, used.read_timeout) == (config.connect_timeout, config.read_timeout)
            assert used.retries == config.retries
    finally:
        ENVIRONMENT.reset()


def test_worst_path_has_the_five_calls() -> None:
    assert budget.ingest_worst_path_calls() == len(budget.INGEST_WORST_PATH) == 5


def test_ingest_timeout_is_above_its_worst_path(rest: Synth) -> None:
    worst = budget.ingest_worst_path_seconds(budget.ingest_client_config(), budget.ingest_worst_path_calls())
    timeout = function_props(rest, "ingest")["Timeout"]
    assert timeout == SIZING["ingest"].timeout_seconds == budget.ingest_timeout_seconds()
    assert timeout > worst + budget.HANDLER_MARGIN_SECONDS
    assert timeout <= 900  # Lambda's maximum


def test_the_writers_timeout_is_computed_from_the_client_it_uses(rest: Synth, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow DynamoDB must fail a call, not time the whole batch out: the timeout covers the path."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    ENVIRONMENT.reset()
    try:
        used = aws.dynamodb(aws.WRITER).meta.config
    finally:
        ENVIRONMENT.reset()
    config = budget.writer_client_config()
    assert (used.connect_timeout, used.read_timeout, used.retries) == (
        config.connect_timeout,
        config.read_timeout,
        config.retries,
    )
    worst = budget.path_worst_case_seconds([config] * len(budget.WRITER_WORST_PATH))
    timeout = function_props(rest, "writer")["Timeout"]
    assert timeout == budget.writer_timeout_seconds() > worst + budget.HANDLER_MARGIN_SECONDS
    assert timeout <= 900
    # AND the queue hides a batch for six times that, as AWS advises for event source mappings
    queue = next(r for r in rest.of_type("AWS::SQS::Queue").values() if "RedrivePolicy" in r["Properties"])
    assert queue["Properties"]["VisibilityTimeout"] == 6 * timeout
