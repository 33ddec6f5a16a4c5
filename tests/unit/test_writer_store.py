"""The store's retry rules, against a scripted client: what is retried, what is given back, what is raised."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from functions.common import store
from functions.common.aggregates import Delta

TABLE = "t"


def error(code: str, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, **extra}, "Op")


def item(i: int) -> dict[str, Any]:
    return {"pk": {"S": f"LOG#{i}"}, "sk": {"S": str(i)}, "visit_id": {"S": f"v{i}"}}


class Scripted:
    """A client whose answers are scripted per operation; each call is recorded with its arguments."""

    def __init__(self, **scripts: list[Any]) -> None:
        self.scripts = scripts
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, operation: str, kwargs: dict[str, Any]) -> Any:
        self.calls.append((operation, kwargs))
        answer = self.scripts[operation].pop(0) if self.scripts.get(operation) else None
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(kwargs)
        return answer or {}

    def batch_write_item(self, **kwargs: Any) -> Any:
        return self._answer("batch_write_item", kwargs)

    def batch_get_item(self, **kwargs: Any) -> Any:
        return self._answer("batch_get_item", kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        return self._answer("transact_write_items", kwargs)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    pauses: list[float] = []
    monkeypatch.setattr(store, "sleep", pauses.append)
    return pauses


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def install(client: Scripted) -> Scripted:
        monkeypatch.setattr(store, "aws", SimpleNamespace(dynamodb=lambda: client))
        return client

    yield install


def leave_unprocessed(count: int) -> Any:
    """A BatchWriteItem answer that leaves the last ``count`` items of the request unprocessed."""

    def answer(kwargs: dict[str, Any]) -> dict[str, Any]:
        requests = kwargs["RequestItems"][TABLE]
        return {"UnprocessedItems": {TABLE: requests[len(requests) - count :]}}

    return answer


def test_items_are_written_25_per_call(use: Any, sleeps: list[float]) -> None:
    client = use(Scripted())
    assert store.put_items(TABLE, [item(i) for i in range(60)]) == []
    assert [len(kw["RequestItems"][TABLE]) for _, kw in client.calls] == [25, 25, 10]
    assert sleeps == []


def test_unprocessed_items_and_throttling_are_retried_with_backoff(use: Any, sleeps: list[float]) -> None:
    client = use(
        Scripted(
            batch_write_item=[
                leave_unprocessed(10),
                error("ProvisionedThroughputExceededException"),
                EndpointConnectionError(endpoint_url="http://x"),
                leave_unprocessed(3),
            ]
        )
    )
    assert store.put_items(TABLE, [item(i) for i in range(20)]) == []
    assert [len(kw["RequestItems"][TABLE]) for _, kw in client.calls] == [20, 10, 10, 10, 3]
    assert len(sleeps) == 4 and all(0 <= s <= store.DEFAULT_BACKOFF.cap_seconds for s in sleeps)


def test_items_still_unprocessed_after_the_last_try_are_given_back(use: Any, sleeps: list[float]) -> None:
    attempts = store.DEFAULT_BACKOFF.attempts
    use(Scripted(batch_write_item=[leave_unprocessed(2)] * attempts))
    left = store.put_items(TABLE, [item(i) for i in range(5)])
    assert [i["visit_id"]["S"] for i in left] == ["v3", "v4"]
    assert len(sleeps) == attempts - 1  # no pointless wait after the last try


def test_a_validation_error_gives_the_chunk_back_without_retrying(use: Any, sleeps: list[float]) -> None:
    client = use(Scripted(batch_write_item=[error("ValidationException")]))
    assert len(store.put_items(TABLE, [item(i) for i in range(30)])) == 25  # the first chunk; the second is written
    assert len(client.calls) == 2 and sleeps == []


def test_get_items_retries_unprocessed_keys(use: Any, sleeps: list[float]) -> None:
    keys = [{"pk": {"S": "A"}, "sk": {"S": str(i)}} for i in range(3)]
    client = use(
        Scripted(
            batch_get_item=[
                {"Responses": {TABLE: [keys[0]]}, "UnprocessedKeys": {TABLE: {"Keys": keys[1:]}}},
                {"Responses": {TABLE: keys[1:]}},
            ]
        )
    )
    found = store.get_items(TABLE, [*keys, keys[0]])  # a repeated key is asked once
    assert sorted(found) == [("A", "0"), ("A", "1"), ("A", "2")]
    assert len(client.calls[0][1]["RequestItems"][TABLE]["Keys"]) == 3 and len(sleeps) == 1


def test_get_items_never_returns_a_partial_answer(use: Any, sleeps: list[float]) -> None:
    keys = [{"pk": {"S": "A"}, "sk": {"S": "0"}}]
    use(Scripted(batch_get_item=[{"UnprocessedKeys": {TABLE: {"Keys": keys}}}] * store.DEFAULT_BACKOFF.attempts))
    with pytest.raises(RuntimeError):
        store.get_items(TABLE, keys)


def test_transact_reports_cancellation_codes_and_raises_other_errors(use: Any) -> None:
    reasons = [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]
    use(
        Scripted(
            transact_write_items=[
                None,
                error("TransactionCanceledException", CancellationReasons=reasons),
                error("TransactionCanceledException"),
                error("ValidationException"),
            ]
        )
    )
    actions: list[dict[str, Any]] = [{"Update": {}}, {"Update": {}}]
    assert store.transact(actions) is None
    assert store.transact(actions) == ["ConditionalCheckFailed", "None"]
    assert store.transact(actions) == ["TransactionConflict", "TransactionConflict"]  # no reasons: retry all
    with pytest.raises(ClientError):
        store.transact(actions)
    with pytest.raises(ValueError):
        store.transact([{"Update": {}}] * 101)


def test_aggregate_update_is_one_expression_with_substituted_names() -> None:
    delta = Delta(("AGG#DAY", "2026-11-26"), 123, counters={"visits": 2, "p:/a b": 1})
    update = store.aggregate_update(TABLE, delta)
    assert update["UpdateExpression"] == "SET #ttl = :ttl ADD #a0 :a0, #a1 :a1"
    names = {"#ttl": "expires_at", "#a0": "p:/a b", "#a1": "visits"}
    assert update["ExpressionAttributeNames"] == names
    assert update["Key"] == {"pk": {"S": "AGG#DAY"}, "sk": {"S": "2026-11-26"}}


def test_sketch_update_is_conditioned_on_the_version_read_and_bumps_it() -> None:
    update = store.sketch_update(TABLE, ("AGG#UNIQ", "2026-11-26"), b"\x01" * 8, 4, 99)
    assert update["ConditionExpression"] == "attribute_not_exists(#ver) OR #ver = :ver"
    assert update["UpdateExpression"] == "SET #reg = :reg, #ver = :next, #ttl = :ttl"
    values = update["ExpressionAttributeValues"]
    assert values[":ver"] == {"N": "4"} and values[":next"] == {"N": "5"} and values[":reg"] == {"B": b"\x01" * 8}
    assert update["ExpressionAttributeNames"]["#ver"] == "version"
    # An earlier-layout item: its string set (already folded into the registers) is removed
    legacy = store.sketch_update(TABLE, ("AGG#UNIQ", "2026-11-26"), b"", 0, 99, drop_legacy=True)
    assert (
        legacy["UpdateExpression"].endswith(" REMOVE #old") and legacy["ExpressionAttributeNames"]["#old"] == "visitors"
    )


def test_backoff_grows_exponentially_up_to_its_cap() -> None:
    seen: list[float] = []
    backoff = store.Backoff(base_seconds=0.1, cap_seconds=0.5, sleep=seen.append)
    for attempt in range(6):
        for _ in range(50):
            backoff.pause(attempt)
    ceilings = [min(0.5, 0.1 * 2**a) for a in range(6)]
    groups = [seen[i * 50 : (i + 1) * 50] for i in range(6)]
    assert all(0 <= min(g) and max(g) <= c for g, c in zip(groups, ceilings, strict=True))
    assert max(groups[5]) > 0.2  # jitter spreads up to the cap
