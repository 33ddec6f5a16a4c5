"""COUNTER_SHARDS > 1: spread writes, at most one extra read per visit, bounded staleness, exact at rest."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import cycle

import pytest

from functions.common import counter
from functions.common.definitions import COUNTER_CACHE_SECONDS
from functions.common.settings import get_settings
from functions.ingest import service
from tests.events import rest_event
from tests.integration.conftest import AwsCalls, Ingest

BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def environment(clock: FakeClock, shards: list[int]) -> counter.ShardedCounter:
    """One execution environment's counter, with a scripted clock and shard choice."""
    order = cycle(shards)
    return counter.ShardedCounter(clock=clock, choose_shard=lambda n: next(order) % n)


@pytest.fixture
def sharded(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> Ingest:
    ingest.configure(monkeypatch, COUNTER_SHARDS="4", IP_MODE="none")
    return ingest


def test_at_most_one_extra_read_per_visit(
    sharded: Ingest, aws_calls: AwsCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(service, "COUNTER", environment(clock, [0, 1, 2, 3]))
    # GIVEN a cold environment: its first visit reads all shards once
    assert sharded(rest_event()).body == {"visitor_count": 1}
    assert aws_calls.take() == ["UpdateItem", "BatchGetItem", "SendMessage"]
    # WHEN visits follow within COUNTER_CACHE_SECONDS: only the increment and the send
    for expected in (2, 3, 4):
        assert sharded(rest_event()).body == {"visitor_count": expected}
        assert aws_calls.take() == ["UpdateItem", "SendMessage"]
    # AND a bot within the window reads nothing at all
    assert sharded(rest_event(headers={"User-Agent": BOT_UA})).body == {"visitor_count": 4}
    assert aws_calls.take() == ["SendMessage"]
    # WHEN the cache is older than COUNTER_CACHE_SECONDS: one refresh again
    clock.now += COUNTER_CACHE_SECONDS
    assert sharded(rest_event()).body == {"visitor_count": 5}
    assert aws_calls.take() == ["UpdateItem", "BatchGetItem", "SendMessage"]
    # AND the writes really went to four different items
    shards = counter.read_shards(get_settings(), consistent=True)
    assert shards == {0: 2, 1: 1, 2: 1, 3: 1}


def test_staleness_is_bounded_and_never_overcounts(sharded: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    env_a, env_b = environment(clock, [0]), environment(clock, [1])
    # GIVEN environment A has read the shards
    monkeypatch.setattr(service, "COUNTER", env_a)
    assert sharded(rest_event()).body == {"visitor_count": 1}
    # WHEN environment B counts three visits on another shard
    monkeypatch.setattr(service, "COUNTER", env_b)
    assert [sharded(rest_event()).body["visitor_count"] for _ in range(3)] == [2, 3, 4]
    # THEN A, inside its cache window, misses B's visits (an undercount, never an overcount)
    monkeypatch.setattr(service, "COUNTER", env_a)
    assert sharded(rest_event()).body == {"visitor_count": 2}
    # AND once its cache is COUNTER_CACHE_SECONDS old, A is exact again
    clock.now += COUNTER_CACHE_SECONDS
    assert sharded(rest_event()).body == {"visitor_count": 6}
    assert counter.read_total(get_settings()) == 6


@pytest.mark.usefixtures("atomic_emulator")
def test_sharded_count_is_exact_once_traffic_stops(sharded: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN 300 visits from 16 threads over 4 randomly chosen shards (real clock, real randomness)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: sharded(rest_event()), range(300)))
    counts = [r.body["visitor_count"] for r in results]
    # THEN no answer exceeded the true count, and the load was spread over several shards
    assert all(r.status == 200 for r in results)
    assert max(counts) <= 300
    shards = counter.read_shards(get_settings(), consistent=True)
    assert sum(1 for visits in shards.values() if visits) > 1 and sum(shards.values()) == 300
    # AND at rest the exact total is read back, and a fresh environment reports exactly the next number
    assert counter.read_total(get_settings()) == 300
    monkeypatch.setattr(service, "COUNTER", counter.ShardedCounter())
    assert sharded(rest_event()).body == {"visitor_count": 301}
    assert sharded(rest_event(headers={"User-Agent": BOT_UA})).body == {"visitor_count": 301}
