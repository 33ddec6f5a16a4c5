"""The shard read against a scripted DynamoDB client: throttled (unprocessed) keys are asked for again."""

from __future__ import annotations

from typing import Any

import pytest

from functions.common import counter, keys
from functions.common.settings import load_settings

SETTINGS = load_settings({"TABLE_NAME": "t", "QUEUE_URL": "q", "COUNTER_SHARDS": "3"})


def item(shard: int, visits: int) -> dict[str, Any]:
    return {**keys.counter_key(shard), "visits": {"N": str(visits)}}


class ScriptedDynamoDB:
    def __init__(self, responses: list[dict[str, Any]]) -> None:
        self.responses = responses
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.requests.append(RequestItems)
        return self.responses.pop(0)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(responses: list[dict[str, Any]]) -> ScriptedDynamoDB:
        client = ScriptedDynamoDB(responses)
        monkeypatch.setattr(counter.aws, "dynamodb", lambda: client)
        monkeypatch.setattr(counter, "_BATCH_BACKOFF_SECONDS", 0)
        return client

    return install


def test_unprocessed_keys_are_retried(scripted: Any) -> None:
    # GIVEN DynamoDB answering shard 0, throttling shards 1 and 2, then answering them
    client = scripted(
        [
            {
                "Responses": {"t": [item(0, 5)]},
                "UnprocessedKeys": {"t": {"Keys": [keys.counter_key(1), keys.counter_key(2)]}},
            },
            {"Responses": {"t": [item(1, 7)]}, "UnprocessedKeys": {}},
        ]
    )
    # THEN the second request asks only for the missing keys, and absent shard 2 counts as 0
    assert counter.read_shards(SETTINGS) == {0: 5, 1: 7, 2: 0}
    assert client.requests[1]["t"]["Keys"] == [keys.counter_key(1), keys.counter_key(2)]
    assert client.requests[0]["t"]["ConsistentRead"] is False


def test_an_exact_total_is_never_a_partial_sum(scripted: Any) -> None:
    throttled = {"Responses": {"t": []}, "UnprocessedKeys": {"t": {"Keys": [keys.counter_key(2)]}}}
    scripted(
        [{"Responses": {"t": [item(0, 1), item(1, 1)]}, "UnprocessedKeys": {"t": {"Keys": [keys.counter_key(2)]}}}]
        + [throttled] * 5
    )
    with pytest.raises(counter.CounterReadIncomplete):
        counter.read_total(SETTINGS)


def test_the_cache_keeps_the_last_known_value_of_a_throttled_shard(scripted: Any) -> None:
    clock = iter([0.0, 10.0])
    sharded = counter.ShardedCounter(cache_seconds=1, clock=lambda: next(clock))
    scripted(
        [
            {"Responses": {"t": [item(0, 4), item(1, 4), item(2, 4)]}},
            {
                "Responses": {"t": [item(0, 5)]},
                "UnprocessedKeys": {"t": {"Keys": [keys.counter_key(1), keys.counter_key(2)]}},
            },
            {"Responses": {"t": []}, "UnprocessedKeys": {"t": {"Keys": [keys.counter_key(1), keys.counter_key(2)]}}},
            {"Responses": {"t": []}, "UnprocessedKeys": {"t": {"Keys": [keys.counter_key(1), keys.counter_key(2)]}}},
        ]
    )
    assert sharded.current(SETTINGS) == 12
    assert sharded.current(SETTINGS) == 13  # shard 0 refreshed, shards 1 and 2 as last seen
