"""The loops botocore cannot do, and the writer's use of transaction cancellation reasons, against a
scripted client: what is retried, what is given back, what is raised, which actions a transaction holds.

Throttling and transport errors are botocore's business (standard retry mode per client profile):
these tests check that the code does not stack its own retries on top of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from functions.core import aws
from functions.model import keys, layout
from functions.model.fold import Delta, Namers
from functions.model.visit import Visit
from functions.tables import aggstore, counter, store, visitlog
from functions.writer.batch import BatchWriter, Message
from functions.writer.names import KnownNames
from functions.writer.shard import AggregateShard
from functions.writer.uniques import SketchShards
from tests.support.pipeline import make_visit

TABLE = "t"


def error(code: str, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, **extra}, "Op")


def cancelled(*codes: str) -> ClientError:
    return error("TransactionCanceledException", CancellationReasons=[{"Code": c} for c in codes])


def cancel_at(codes: dict[int, str]) -> Answer:
    """A TransactWriteItems answer cancelling the call: ``codes`` by action index, "None" elsewhere."""

    def answer(kwargs: dict[str, Any]) -> dict[str, Any]:
        raise cancelled(*(codes.get(i, "None") for i in range(len(kwargs["TransactItems"]))))

    return answer


def item(i: int) -> dict[str, Any]:
    return {"pk": {"S": f"LOG#{i}"}, "sk": {"S": str(i)}, "visit_id": {"S": f"v{i}"}}


Answer = Any  # a response dict, an exception to raise, or a callable of the call's kwargs


class Scripted:
    """A DynamoDB client whose answers are scripted per operation; each call is recorded."""

    def __init__(self, **scripts: list[Answer]) -> None:
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

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        if operation.startswith("_"):
            raise AttributeError(operation)
        return lambda **kwargs: self._answer(operation, kwargs)

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [kw for op, kw in self.calls if op == operation]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    pauses: list[float] = []
    monkeypatch.setattr(store, "sleep", pauses.append)
    return pauses


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> Callable[[Scripted], Scripted]:
    """Install a scripted client for every profile; records which profiles were asked for."""

    def install(client: Scripted) -> Scripted:
        client.profiles = []  # type: ignore[attr-defined]

        def dynamodb(profile: aws.Profile = aws.REQUEST_PATH) -> Scripted:
            client.profiles.append(profile)  # type: ignore[attr-defined]
            return client

        monkeypatch.setattr(aws, "dynamodb", dynamodb)
        return client

    return install


def leave_unprocessed(count: int) -> Answer:
    """A BatchWriteItem answer that leaves the last ``count`` items of the request unprocessed."""

    def answer(kwargs: dict[str, Any]) -> dict[str, Any]:
        requests = kwargs["RequestItems"][TABLE]
        return {"UnprocessedItems": {TABLE: requests[len(requests) - count :]}}

    return answer


# --- store: BatchWriteItem, BatchGetItem, TransactWriteItems ------------------------------------


def test_items_are_written_25_per_call_with_the_writer_profile(use: Any, sleeps: list[float]) -> None:
    client = use(Scripted())
    assert store.put_items(TABLE, [item(i) for i in range(60)]) == []
    assert [len(kw["RequestItems"][TABLE]) for _, kw in client.calls] == [25, 25, 10]
    assert sleeps == [] and set(client.profiles) == {aws.WRITER}


def test_unprocessed_items_are_retried_with_backoff(use: Any, sleeps: list[float]) -> None:
    client = use(Scripted(batch_write_item=[leave_unprocessed(10), leave_unprocessed(3)]))
    assert store.put_items(TABLE, [item(i) for i in range(20)]) == []
    assert [len(kw["RequestItems"][TABLE]) for _, kw in client.calls] == [20, 10, 3]
    assert len(sleeps) == 2 and all(0 <= s <= store.DEFAULT_BACKOFF.cap_seconds for s in sleeps)


def test_items_still_unprocessed_after_the_last_try_are_given_back(use: Any, sleeps: list[float]) -> None:
    attempts = store.DEFAULT_BACKOFF.attempts
    use(Scripted(batch_write_item=[leave_unprocessed(2)] * attempts))
    left = store.put_items(TABLE, [item(i) for i in range(5)])
    assert [i["visit_id"]["S"] for i in left] == ["v3", "v4"]
    assert len(sleeps) == attempts - 1  # no pointless wait after the last try


@pytest.mark.parametrize(
    "failure",
    [
        error("ValidationException"),
        error("ProvisionedThroughputExceededException"),  # botocore already retried it
        EndpointConnectionError(endpoint_url="http://x"),
    ],
)
def test_a_failed_call_gives_its_chunk_back_without_a_second_loop(
    use: Any, sleeps: list[float], failure: Exception
) -> None:
    client = use(Scripted(batch_write_item=[failure]))
    assert len(store.put_items(TABLE, [item(i) for i in range(30)])) == 25  # the first chunk; the second is written
    assert len(client.calls) == 2 and sleeps == []


def test_get_items_retries_unprocessed_keys_only(use: Any, sleeps: list[float]) -> None:
    ks = [{"pk": {"S": "A"}, "sk": {"S": str(i)}} for i in range(3)]
    client = use(
        Scripted(
            batch_get_item=[
                {"Responses": {TABLE: [ks[0]]}, "UnprocessedKeys": {TABLE: {"Keys": ks[1:]}}},
                {"Responses": {TABLE: ks[1:]}},
            ]
        )
    )
    found = store.get_items(TABLE, [*ks, ks[0]], consistent=True)  # a repeated key is asked once
    assert sorted(found) == [("A", "0"), ("A", "1"), ("A", "2")]
    first, second = client.of("batch_get_item")
    assert len(first["RequestItems"][TABLE]["Keys"]) == 3 and first["RequestItems"][TABLE]["ConsistentRead"] is True
    assert second["RequestItems"][TABLE]["Keys"] == ks[1:]
    assert len(sleeps) == 1 and set(client.profiles) == {aws.REQUEST_PATH}


def test_get_items_asks_100_keys_per_call(use: Any) -> None:
    ks = [{"pk": {"S": "A"}, "sk": {"S": str(i)}} for i in range(150)]
    client = use(Scripted())
    assert store.get_items(TABLE, ks) == {}
    assert [len(kw["RequestItems"][TABLE]["Keys"]) for kw in client.of("batch_get_item")] == [100, 50]


def test_get_items_never_returns_a_partial_answer(use: Any, sleeps: list[float]) -> None:
    ks = [{"pk": {"S": "A"}, "sk": {"S": "0"}}]
    use(Scripted(batch_get_item=[{"UnprocessedKeys": {TABLE: {"Keys": ks}}}] * store.DEFAULT_BACKOFF.attempts))
    with pytest.raises(RuntimeError):
        store.get_items(TABLE, ks)


def test_transact_reports_cancellation_codes_by_index_and_raises_other_errors(use: Any) -> None:
    use(
        Scripted(
            transact_write_items=[
                None,
                cancelled("ConditionalCheckFailed", "None"),
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


def test_query_partition_follows_pages_up_to_its_limit(use: Any) -> None:
    page = [item(i) for i in range(3)]
    client = use(Scripted(query=[{"Items": page, "LastEvaluatedKey": {"k": 1}}, {"Items": page}]))
    got = store.query_partition(TABLE, "AGG#N#2026-11-26", limit=5, projection=["sk"])
    assert len(got) == 5
    first, second = client.of("query")
    assert first["Limit"] == 5 and second["Limit"] == 2 and second["ExclusiveStartKey"] == {"k": 1}
    assert first["ProjectionExpression"] == "#p0" and first["ExpressionAttributeNames"]["#p0"] == "sk"


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


def test_one_retry_policy_per_client_profile() -> None:
    # botocore's standard mode: ingest and status fail fast, the writer is patient.
    fast, patient = aws.CONFIGS[aws.REQUEST_PATH], aws.CONFIGS[aws.WRITER]
    assert fast.retries["mode"] == patient.retries["mode"] == "standard"
    assert fast.retries["total_max_attempts"] < patient.retries["total_max_attempts"]
    assert fast.read_timeout <= patient.read_timeout
    assert not hasattr(store, "RETRYABLE_CODES") and not hasattr(store, "is_retryable")


# --- the item families' actions -----------------------------------------------------------------


def test_aggregate_update_is_one_expression_with_substituted_names() -> None:
    delta = Delta(("AGG#DAY", "2026-11-26"), 123, counters={"visits": 2, "c:crawler": 1})
    update = aggstore.update_action(TABLE, delta)["Update"]
    assert update["UpdateExpression"] == "SET #ttl = :ttl ADD #a0 :a0, #a1 :a1"
    assert update["ExpressionAttributeNames"] == {"#ttl": "expires_at", "#a0": "c:crawler", "#a1": "visits"}
    assert update["ExpressionAttributeValues"] == {":ttl": {"N": "123"}, ":a0": {"N": "1"}, ":a1": {"N": "2"}}
    assert update["Key"] == {"pk": {"S": "AGG#DAY"}, "sk": {"S": "2026-11-26"}}
    assert "ConditionExpression" not in update  # an ADD never conflicts with the day's other writers


def test_log_put_is_guarded_by_its_key_and_the_counter_is_one_add() -> None:
    put = visitlog.put_new_action(TABLE, item(1))["Put"]
    assert put["Item"] == item(1)
    assert put["ConditionExpression"] == "attribute_not_exists(#pk)" and put["ExpressionAttributeNames"] == {
        "#pk": "pk"
    }
    add = counter.increment_action(TABLE, 3, 97)["Update"]
    assert add["Key"] == keys.counter_key(3) and add["UpdateExpression"] == "ADD #v :n"
    assert add["ExpressionAttributeValues"] == {":n": {"N": "97"}}


def test_sketch_write_is_conditioned_on_the_version_read_and_bumps_it(use: Any) -> None:
    client = use(Scripted(update_item=[None, error("ConditionalCheckFailedException"), error("ValidationException")]))
    key = aggstore.uniques_shard_key("2026-11-26", 11)  # shards wrap around UNIQUES_SHARDS
    assert key == ("AGG#N#2026-11-26", f"u#{11 % layout.UNIQUES_SHARDS}")

    assert aggstore.write_sketch(TABLE, key, b"\x01" * 8, 4, 99) is True
    assert aggstore.write_sketch(TABLE, key, b"\x01" * 8, 4, 99) is False  # another writer got there first
    with pytest.raises(ClientError):
        aggstore.write_sketch(TABLE, key, b"\x01" * 8, 4, 99)

    update = client.of("update_item")[0]
    assert update["ConditionExpression"] == "attribute_not_exists(#ver) OR #ver = :ver"
    assert update["UpdateExpression"] == "SET #ver = :next, #ttl = :ttl, #reg = :reg"
    values = update["ExpressionAttributeValues"]
    assert values[":ver"] == {"N": "4"} and values[":next"] == {"N": "5"} and values[":reg"] == {"B": b"\x01" * 8}
    assert set(client.profiles) == {aws.WRITER}


# --- the writer's transactions, against the scripted client -------------------------------------

NOW = datetime.now(UTC).replace(microsecond=0)


def writer(**kw: Any) -> BatchWriter:
    seen: list[float] = kw.pop("sleeps", [])
    return BatchWriter(
        TABLE,
        30,
        Namers(lambda ua: "Chrome", lambda ua: "bot"),
        known=KnownNames(),
        sketches=SketchShards(shard=0),
        backoff=store.Backoff(attempts=4, sleep=seen.append),
        **kw,
    )


def messages(visits: list[Visit]) -> list[Message]:
    return [Message(f"m{i}", v.to_json()) for i, v in enumerate(visits)]


def actions_of(call: dict[str, Any]) -> list[dict[str, Any]]:
    return list(call["TransactItems"])


def test_a_batch_is_one_transaction_of_guarded_puts_aggregate_adds_and_one_counter_add(use: Any) -> None:
    visits = [make_visit(when=NOW, path=f"/p{i % 2}", visitor=f"v{i}") for i in range(10)]
    client = use(Scripted())

    outcome = writer(counter_shards=4).write(messages(visits))

    assert outcome.failed == {} and outcome.counted == 10 and outcome.written == 10
    (call,) = client.of("transact_write_items")
    actions = actions_of(call)
    puts = [a["Put"] for a in actions if "Put" in a]
    assert [p["Item"]["visit_id"]["S"] for p in puts] == [v.visit_id for v in visits]  # indexes = visits
    assert all(p["ConditionExpression"] == "attribute_not_exists(#pk)" for p in puts)
    updates = [a["Update"] for a in actions if "Update" in a]
    counters = [u for u in updates if u["Key"]["pk"]["S"].startswith("COUNTER#")]
    assert len(counters) == 1 and counters[0]["ExpressionAttributeValues"][":n"] == {"N": "10"}
    # day and hour totals; the day's page, browser and country packs; the all-time page pack; never
    # the sketch, written on its own
    assert len(updates) - 1 == 6
    pages = [u for u in updates if u["Key"]["sk"]["S"] == "p#0"]
    assert len(pages) == 2  # the day's and all time's: each one pack holding both pages
    assert all(sorted(u["ExpressionAttributeNames"].values()) == ["expires_at", "n:/p0", "n:/p1"] for u in pages)
    assert not any(u["Key"]["sk"]["S"].startswith("u#") for u in updates)
    assert [kw["Key"]["sk"]["S"] for kw in client.of("update_item")] == ["u#0"]
    assert set(client.profiles) == {aws.WRITER}


def test_bots_are_logged_but_not_added_to_the_counter(use: Any) -> None:
    bots = [make_visit(when=NOW, is_bot=True) for _ in range(3)]
    client = use(Scripted())
    outcome = writer().write(messages(bots))
    assert outcome.counted == 3 and outcome.counted_in_total == 0 and outcome.bots == 3
    updates = [a["Update"] for a in actions_of(client.of("transact_write_items")[0]) if "Update" in a]
    assert not any(u["Key"]["pk"]["S"].startswith("COUNTER#") for u in updates)


def test_a_failed_log_condition_drops_that_visit_and_counts_the_rest_at_once(use: Any) -> None:
    # GIVEN three visits, the second already logged and counted by an earlier delivery
    visits = [make_visit(when=NOW, visitor=f"v{i}") for i in range(3)]
    seen: list[float] = []
    client = use(Scripted(transact_write_items=[cancel_at({1: "ConditionalCheckFailed"})]))

    outcome = writer(sleeps=seen).write(messages(visits))

    # THEN the retry holds only the other two, without a pause, and counts 2
    first, second = client.of("transact_write_items")
    assert len([a for a in actions_of(second) if "Put" in a]) == 2
    add = [a["Update"] for a in actions_of(second) if "Update" in a and a["Update"]["Key"]["pk"]["S"] == "COUNTER#0"]
    assert add[0]["ExpressionAttributeValues"][":n"] == {"N": "2"}
    assert seen == []
    assert outcome.failed == {} and outcome.counted == 2 and outcome.duplicates == 1 and outcome.written == 3


def test_conflicts_are_retried_after_a_pause_and_a_record_fails_only_when_they_persist(use: Any) -> None:
    visits = [make_visit(when=NOW) for _ in range(2)]
    conflict = cancel_at({2: "TransactionConflict"})
    seen: list[float] = []
    use(Scripted(transact_write_items=[conflict, conflict]))
    assert writer(sleeps=seen).write(messages(visits)).failed == {}
    assert len(seen) == 2

    use(Scripted(transact_write_items=[conflict] * 4))
    outcome = writer().write(messages(visits))
    assert set(outcome.failed) == {"m0", "m1"} and outcome.counted == 0
    assert all("retries exhausted" in reason for reason in outcome.failed.values())


def test_a_cancellation_that_is_no_conflict_fails_the_chunk_without_retrying(use: Any) -> None:
    visits = [make_visit(when=NOW)]
    client = use(Scripted(transact_write_items=[cancel_at({1: "ValidationError"})]))
    outcome = writer().write(messages(visits))
    assert list(outcome.failed) == ["m0"] and "ValidationError" in outcome.failed["m0"]
    assert len(client.of("transact_write_items")) == 1


def test_losing_every_sketch_race_never_fails_or_delays_a_count(use: Any) -> None:
    # GIVEN a sketch shard that another writer changes before each of our writes
    lost = error("ConditionalCheckFailedException")
    visits = [make_visit(when=NOW, visitor=f"v{i}") for i in range(5)]
    client = use(Scripted(update_item=[lost] * 10))
    w = writer()

    outcome = w.write(messages(visits))

    # THEN the visits are counted, and their visitors wait for this environment's next batch
    assert outcome.failed == {} and outcome.counted == 5 and outcome.uniques_deferred == 5
    assert len(client.of("transact_write_items")) == 1
    client.scripts["update_item"] = []  # the race is over
    later = w.write(messages([make_visit(when=NOW, visitor="v9")]))
    assert later.uniques_deferred == 0


def test_a_batch_too_big_for_one_transaction_is_split_under_100_actions(use: Any) -> None:
    visits = [make_visit(when=NOW, path=f"/p{i % 30}", visitor=f"v{i}") for i in range(100)]
    client = use(Scripted())
    outcome = writer().write(messages(visits))
    calls = client.of("transact_write_items")
    assert outcome.counted == 100 and len(calls) == 2
    assert all(len(actions_of(c)) <= store.TRANSACT_MAX for c in calls)
    assert sum(len([a for a in actions_of(c) if "Put" in a]) for c in calls) == 100


# --- aggregate shards (AGGREGATE_SHARDS) ----------------------------------------------------------


def _hot_keys(call: dict[str, Any]) -> set[str]:
    """Partition keys of the aggregate and counter items a transaction adds to."""
    return {a["Update"]["Key"]["pk"]["S"] for a in actions_of(call) if "Update" in a}


def test_a_sharded_writer_adds_every_hot_item_to_its_own_shard_and_keeps_it(use: Any) -> None:
    client = use(Scripted())
    shard = AggregateShard()
    w = writer(counter_shards=8, aggregate_shards=8, shard=shard)
    mine = shard.current(8)
    for _ in range(3):
        assert w.write(messages([make_visit(when=NOW, path="/hot")])).failed == {}
    calls = client.of("transact_write_items")
    suffix = "" if mine == 0 else f"~{mine}"
    day = keys.day_of(NOW)
    for call in calls:
        assert _hot_keys(call) == {
            f"AGG#DAY{suffix}",
            f"AGG#HOUR{suffix}",
            f"AGG#N#{day}{suffix}",
            f"AGG#N#all{suffix}",
            f"COUNTER#{mine}",
        }


def test_a_conflict_moves_the_writer_to_another_shard_before_the_retry(use: Any) -> None:
    visits = [make_visit(when=NOW, path="/hot")]
    client = use(Scripted(transact_write_items=[cancel_at({1: "TransactionConflict"})]))
    shard = AggregateShard()
    w = writer(counter_shards=4, aggregate_shards=4, shard=shard)
    before = shard.current(4)

    assert w.write(messages(visits)).failed == {}

    first, second = client.of("transact_write_items")
    after = shard.current(4)
    assert after != before
    assert f"COUNTER#{before}" in _hot_keys(first) and f"COUNTER#{after}" in _hot_keys(second)
    day_keys = [k for k in _hot_keys(second) if k.startswith("AGG#DAY")]
    assert day_keys == [layout.sharded(("AGG#DAY", ""), after)[0]]


def test_one_shard_writes_todays_keys() -> None:
    key = keys.key_tuple(keys.day_agg_key("2026-12-04"))
    assert layout.sharded(key, 0) == key
    assert layout.sharded(key, 5) == ("AGG#DAY~5", "2026-12-04")
    assert layout.unsharded(("AGG#DAY~5", "2026-12-04")) == key
    assert layout.split_name_key(("AGG#N#2026-12-04~3", "p#0")) == ("2026-12-04", "p", "0")


def test_merged_shards_add_their_numbers_onto_the_shard_0_key() -> None:
    day = ("AGG#DAY", "2026-12-04")
    items = {
        day: {"pk": {"S": day[0]}, "sk": {"S": day[1]}, "visits": {"N": "3"}, "expires_at": {"N": "99"}},
        ("AGG#DAY~2", day[1]): {
            "pk": {"S": "AGG#DAY~2"},
            "sk": {"S": day[1]},
            "visits": {"N": "4"},
            "h01": {"N": "4"},
            "expires_at": {"N": "99"},
        },
        ("COUNTER#1", "COUNTER"): {"pk": {"S": "COUNTER#1"}, "sk": {"S": "COUNTER"}, "visits": {"N": "7"}},
    }
    merged = layout.merge_shards(items)
    assert merged[day] == {
        "pk": {"S": day[0]},
        "sk": {"S": day[1]},
        "visits": {"N": "7"},
        "h01": {"N": "4"},
        "expires_at": {"N": "99"},
    }
    assert merged[("COUNTER#1", "COUNTER")]["visits"] == {"N": "7"}
