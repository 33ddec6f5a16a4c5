"""The status service: a fixed set of reads (which items, how many calls), the counter total from
sharded counters, and the summary from the small aggregate items the writer maintains."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from functions.core.environment import ENVIRONMENT
from functions.core.settings import get_settings
from functions.model import keys
from functions.status import service
from visitor_tracker.resources import PipelineResources

NOW = datetime(2026, 11, 26, 0, 5, tzinfo=UTC)


def test_the_key_list_depends_on_the_clock_and_shards_only(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTER_SHARDS", "4")
    ENVIRONMENT.reset()
    read = service.read_keys(get_settings(), NOW)
    sks = [(k["pk"]["S"], k["sk"]["S"]) for k in read]
    assert sks[:4] == [(f"COUNTER#{n}", "COUNTER") for n in range(4)]
    assert ("AGG#HOUR", "2026-11-26T00") in sks and ("AGG#HOUR", "2026-11-25T23") in sks
    assert ("AGG#DAY", "2026-11-26") in sks and ("AGG#DAY", "2026-11-19") in sks
    assert not any(pk.startswith("AGG#N#") for pk, _ in sks)  # names and sketches: the one Query
    assert len(sks) == 4 + 8 + 2


def test_visitor_count_sums_every_shard(pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTER_SHARDS", "3")
    ENVIRONMENT.reset()
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
    ENVIRONMENT.reset()
    status = service.build_status(get_settings(), NOW)
    assert status["dlq_depth"] is None and status["queue_depth"] == 0


def test_one_summary_is_a_batch_get_a_query_and_the_queue_attributes_at_any_volume(
    pipeline_resources: PipelineResources,
) -> None:
    # GIVEN visits written by the writer, then many more on other pages
    from functions.core import aws
    from tests.support.pipeline import BOT_UA, drain_queue, make_visit, send_visits

    calls: list[str] = []
    for client in (aws.dynamodb(), aws.sqs(), aws.cloudwatch()):
        client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    now = datetime.now(UTC)
    seen: list[list[str]] = []
    statuses = []
    for visits in (
        [make_visit(when=now, path="/a", visitor="v1"), make_visit(when=now, user_agent=BOT_UA, is_bot=True)],
        [make_visit(when=now, path=f"/p{i % 30}", visitor=f"w{i}") for i in range(90)],
    ):
        send_visits(pipeline_resources, visits)
        assert drain_queue(pipeline_resources).failures == []
        calls.clear()
        statuses.append(service.build_status(get_settings(), now))
        seen.append(sorted(calls))

    # THEN both summaries made the same calls: one BatchGetItem, one Query, the two queues' attributes
    # (and the oldest-message age, at most once a minute)
    assert seen[0] == ["BatchGetItem", "GetMetricData", "GetQueueAttributes", "GetQueueAttributes", "Query"]
    assert seen[1] == ["BatchGetItem", "GetQueueAttributes", "GetQueueAttributes", "Query"]
    small, big = statuses
    assert (small["visitor_count"], small["visits_today"], small["bots_today"]) == (1, 1, 1)
    assert small["top_pages"] == [{"path": "/a", "visits": 1}] and small["unique_visitors_today"] == 1
    assert big["visitor_count"] == 91 and big["visits_today"] == 91
    assert big["top_pages"][0]["visits"] == 3 and len(big["top_pages"]) == 10
    assert big["unique_visitors_today"] == 91
