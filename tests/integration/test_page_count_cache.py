"""/count and /badge.svg read the page tallies at most once per STATUS_CACHE_SECONDS per environment:
with aggregate shards each read is two Queries per shard, and a badge on a busy site is asked often."""

from __future__ import annotations

import json

import pytest

from functions.core import aws
from functions.status import service
from functions.status.handler import handler as status_handler
from tests.integration.conftest import Ingest
from tests.support.calls import CallCounter
from tests.support.events import http_v2_event, rest_event


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def count(page: str) -> dict[str, int]:
    response = status_handler(http_v2_event("/count", query={"page": page}), None)
    assert response["statusCode"] == 200
    return json.loads(response["body"])  # type: ignore[no-any-return]


def test_page_counts_are_read_once_per_cache_interval(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(service, "clock", clock)
    ingest.configure(monkeypatch, STATUS_CACHE_SECONDS="5", AGGREGATE_SHARDS="3")
    for page in ("/post", "/post", "/other"):
        ingest(rest_event(query={"page": page}))
    assert ingest.drain() == 3
    calls = CallCounter().attach(aws.dynamodb())

    # WHEN the counter of two pages is asked for, several times within the interval
    assert count("/post")["today"] == 2
    assert count("/other") == {"page": "/other", "today": 1, "total": 1}
    assert count("/post")["total"] == 2
    # THEN the tallies were read once: today's and all time's partitions, each in its 3 shards
    assert calls.operations["Query"] == 6

    # AND new visits show once the interval has passed
    ingest(rest_event(query={"page": "/post"}))
    assert ingest.drain() == 4
    assert count("/post")["today"] == 2  # still the tallies read 0 s ago
    clock.now += 5.0
    assert count("/post") == {"page": "/post", "today": 3, "total": 3}
    assert calls.operations["Query"] == 12
    calls.detach()


def test_without_a_cache_every_count_reads_the_tallies(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest.configure(monkeypatch, STATUS_CACHE_SECONDS="0")
    ingest(rest_event(query={"page": "/a"}))
    assert ingest.drain() == 1
    calls = CallCounter().attach(aws.dynamodb())
    assert count("/a")["today"] == 1 and count("/a")["today"] == 1
    assert calls.operations["Query"] == 4
    calls.detach()
