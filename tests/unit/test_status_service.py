"""The status service: which items it reads, and the counter total from sharded counters."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from functions.common import keys
from functions.common.settings import get_settings
from functions.status import service
from visitor_tracker.resources import PipelineResources

NOW = datetime(2026, 11, 26, 0, 5, tzinfo=UTC)


def test_the_key_list_depends_on_the_clock_and_shards_only(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTER_SHARDS", "4")
    get_settings.cache_clear()
    read = service.read_keys(get_settings(), NOW)
    sks = [(k["pk"]["S"], k["sk"]["S"]) for k in read]
    assert sks[:4] == [(f"COUNTER#{n}", "COUNTER") for n in range(4)]
    assert ("AGG#HOUR", "2026-11-26T00") in sks and ("AGG#HOUR", "2026-11-25T23") in sks
    assert ("AGG#DAY", "2026-11-19") in sks and ("AGG#UNIQ", "2026-11-26") in sks
    assert len(sks) == 4 + 8 + 2 + 1


def test_visitor_count_sums_every_shard(pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTER_SHARDS", "3")
    get_settings.cache_clear()
    client = boto3.client("dynamodb")
    for shard, visits in ((0, 5), (2, 7)):  # shard 1 never incremented yet
        client.put_item(
            TableName=pipeline_resources.table_name, Item={**keys.counter_key(shard), "visits": {"N": str(visits)}}
        )

    status = service.build_status(get_settings(), NOW)

    assert status["visitor_count"] == 12
    assert status["generated_at"] == "2026-11-26T00:05:00.000Z"


def test_without_a_dlq_url_the_dlq_depth_is_null(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DLQ_URL")
    get_settings.cache_clear()
    status = service.build_status(get_settings(), NOW)
    assert status["dlq_depth"] is None and status["queue_depth"] == 0
