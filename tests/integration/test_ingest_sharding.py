"""COUNTER_SHARDS > 1: the writer spreads its increments over the shards, readers sum them exactly."""

from __future__ import annotations

import boto3
import pytest

from functions.core.settings import get_settings
from functions.model import keys
from functions.tables import counter
from tests.integration.conftest import Ingest
from tests.support.calls import CallCounter
from tests.support.events import rest_event


def test_writers_spread_increments_over_the_shards_and_the_sum_is_exact(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN four counter shards and 120 visits, drained in batches of 10 (12 transactions or more)
    ingest.configure(monkeypatch, COUNTER_SHARDS="4")
    for _ in range(120):
        assert ingest(rest_event()).status == 200
    from tests.support.pipeline import drain_queue

    report = drain_queue(ingest.resources, batch_size=10)
    assert report.failures == []
    # THEN more than one shard holds visits, and their sum is exactly the visits counted
    table = ingest.resources.table_name
    shards = [
        counter.visits_of(boto3.client("dynamodb").get_item(TableName=table, Key=keys.counter_key(n)).get("Item"))
        for n in range(4)
    ]
    assert sum(shards) == 120 and sum(1 for s in shards if s) > 1
    assert counter.read_total(get_settings()) == 120
    # AND a fresh environment answers with the sum plus its own visit
    ingest.forget()
    assert ingest(rest_event()).body == {"visitor_count": 121}


def test_a_sharded_count_is_read_in_one_call(
    ingest: Ingest, aws_calls: CallCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest.configure(monkeypatch, COUNTER_SHARDS="8", IP_MODE="none")
    ingest(rest_event())
    assert aws_calls.take() == ["BatchGetItem", "SendMessage"]
