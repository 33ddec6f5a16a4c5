"""The writer against moto: real queue, real batches, duplicates, poison messages and injected faults."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.core import aws as aws_clients
from functions.core.environment import ENVIRONMENT
from functions.model import keys, layout
from functions.model.fold import Namers
from functions.tables import store, visitlog
from functions.writer import batch as writer_batch
from functions.writer.handler import handler
from functions.writer.uniques import SketchShards
from tests.conftest import BOTH_BACKENDS
from tests.support import tables
from tests.support.calls import CallCounter
from tests.support.pipeline import (
    BOT_UA,
    FIREFOX_UA,
    FakeContext,
    deliver,
    drain_queue,
    log_items,
    make_visit,
    queue_depth,
    receive_batch,
    send_raw,
    send_visits,
    sqs_event,
)
from tests.support.tables import get, n, total
from visitor_tracker.resources import PipelineResources

NOW = datetime.now(UTC).replace(second=30, microsecond=0)


pytestmark = [
    pytest.mark.usefixtures("writer_sleeps"),
    pytest.mark.parametrize("dynamodb_backend", BOTH_BACKENDS, indirect=True),
]


def day_item(resources: PipelineResources, when: datetime = NOW) -> dict[str, Any]:
    return tables.day_item(resources, when)


def hour_item(resources: PipelineResources, when: datetime = NOW) -> dict[str, Any]:
    return tables.hour_item(resources, when)


def names(resources: PipelineResources, when: datetime = NOW) -> list[dict[str, Any]]:
    return tables.names(resources, when)


def tallies(resources: PipelineResources, dim: str, when: datetime = NOW) -> dict[str, int]:
    return tables.tallies(resources, dim, when)


def uniques(resources: PipelineResources, when: datetime = NOW) -> int:
    return tables.uniques(resources, when)


def test_every_visit_is_logged_and_counted_exactly_once(pipeline_resources: PipelineResources) -> None:
    # GIVEN 150 visits on the queue: 7 pages, 2 referrers, 2 browsers, 1 bot in 10, 40 visitors
    visits = [
        make_visit(
            when=NOW,
            path=f"/page{i % 7}",
            referrer="https://www.google.com/search" if i % 3 == 0 else None,
            user_agent=BOT_UA if i % 10 == 9 else (FIREFOX_UA if i % 2 else make_visit().user_agent),
            is_bot=i % 10 == 9,
            visitor=f"visitor{i % 40}",
        )
        for i in range(150)
    ]
    send_visits(pipeline_resources, visits)

    # WHEN the writer drains the queue
    report = drain_queue(pipeline_resources)

    # THEN every visit has one complete log item
    assert report.failures == []
    items = log_items(pipeline_resources.table_name)
    assert sorted(i["visit_id"]["S"] for i in items) == sorted(v.visit_id for v in visits)
    assert all("expires_at" in i and "path" in i for i in items)
    # AND the counter and every aggregate count each visit once
    humans = [v for v in visits if not v.is_bot]
    assert total(pipeline_resources) == 135
    day = day_item(pipeline_resources)
    assert n(day, "visits") == len(humans) == 135 and n(day, "bots") == 15
    assert n(day, f"h{NOW.hour:02d}") == 135 and n(day, "c:crawler") == 15
    assert tallies(pipeline_resources, "p") == dict(Counter(v.path for v in humans))
    assert tallies(pipeline_resources, "r") == {"www.google.com": sum(1 for v in humans if v.referrer)}
    assert sum(tallies(pipeline_resources, "b").values()) == 135
    assert sum(tallies(pipeline_resources, "a").values()) == 15
    hour = hour_item(pipeline_resources)
    assert n(hour, "visits") == 135 and n(hour, "bots") == 15 and n(hour, f"m{NOW.minute:02d}") == 135
    assert uniques(pipeline_resources) == len({v.visitor for v in humans})
    assert queue_depth(pipeline_resources.queue_url) == 0


def test_duplicate_delivery_in_one_batch_and_across_batches_counts_once(
    pipeline_resources: PipelineResources,
) -> None:
    # GIVEN three visits, received once
    visits = [make_visit(when=NOW, path="/dup", visitor=f"v{i}") for i in range(3)]
    send_visits(pipeline_resources, visits)
    messages = receive_batch(pipeline_resources)
    assert len(messages) == 3

    # WHEN the same message appears twice in one batch
    first = handler(sqs_event([*messages, messages[0]]), FakeContext())
    # AND the whole batch is delivered again later (e.g. a lost delete)
    second = handler(sqs_event(messages), FakeContext())

    # THEN nothing failed, one log item per visit, one count per visit everywhere
    assert first == {"batchItemFailures": []} and second == {"batchItemFailures": []}
    assert len(log_items(pipeline_resources.table_name)) == 3
    day = day_item(pipeline_resources)
    assert n(day, "visits") == 3 and tallies(pipeline_resources, "p") == {"/dup": 3}
    assert n(day, f"h{NOW.hour:02d}") == 3 and total(pipeline_resources) == 3
    assert n(hour_item(pipeline_resources), "visits") == 3
    assert uniques(pipeline_resources) == 3


def test_duplicate_delivery_under_a_new_message_id_counts_once(pipeline_resources: PipelineResources) -> None:
    # GIVEN the same visit sent twice (e.g. ingest retried SendMessage): two messages, one visit id
    visit = make_visit(when=NOW)
    send_visits(pipeline_resources, [visit])
    drain_queue(pipeline_resources)
    send_visits(pipeline_resources, [visit])

    report = drain_queue(pipeline_resources)

    assert report.failures == []
    assert len(log_items(pipeline_resources.table_name)) == 1
    assert n(day_item(pipeline_resources), "visits") == 1 and total(pipeline_resources) == 1


def test_a_poison_message_fails_alone_and_lands_in_the_dlq(pipeline_resources: PipelineResources) -> None:
    # GIVEN good visits around a body that is not JSON and one of an unknown schema
    good = [make_visit(when=NOW) for _ in range(4)]
    send_visits(pipeline_resources, good[:2])
    not_json = send_raw(pipeline_resources, "this is not json")
    bad_schema = send_raw(pipeline_resources, json.dumps({**json.loads(good[0].to_json()), "schema_version": 99}))
    send_visits(pipeline_resources, good[2:])

    # WHEN the writer gets them in one batch
    messages = receive_batch(pipeline_resources)
    response = deliver(pipeline_resources, handler, messages)

    # THEN exactly the two poison messages are reported failed, the good ones are written
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {not_json, bad_schema}
    assert len(log_items(pipeline_resources.table_name)) == 4
    # AND the reason is recorded for the CLI
    reason = get(pipeline_resources.table_name, keys.failure_key(not_json))["reason"]["S"]
    assert "not JSON" in reason

    # WHEN redelivered until SQS gives up (maxReceiveCount)
    report = drain_queue(pipeline_resources)

    # THEN they are in the DLQ, the queue is empty and the good visits were counted once
    assert set(report.failures) == {not_json, bad_schema}
    assert queue_depth(pipeline_resources.queue_url) == 0
    dlq = boto3.client("sqs").receive_message(QueueUrl=pipeline_resources.dlq_url, MaxNumberOfMessages=10)
    assert {m["MessageId"] for m in dlq["Messages"]} == {not_json, bad_schema}
    assert n(day_item(pipeline_resources), "visits") == 4


def test_a_batch_of_only_poison_is_reported_not_raised(pipeline_resources: PipelineResources) -> None:
    message_id = send_raw(pipeline_resources, "[]")
    response = handler(sqs_event(receive_batch(pipeline_resources)), FakeContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id}]}


# --- injected faults ---------------------------------------------------------------------------


def client_error(code: str, operation: str, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, **extra}, operation)


class FaultyDynamoDB:
    """Wraps the real (moto) client; each call of an operation first takes the next planned fault.

    A plan entry is an exception to raise, ``"partial"`` (BatchWriteItem writes only its first
    item and returns the others as UnprocessedItems), a callable (run first, then the real call),
    or None (the real call).
    """

    def __init__(self, real: Any, plans: dict[str, list[Any]], *, forever: dict[str, Any] | None = None) -> None:
        self.real = real
        self.plans = plans
        self.forever = forever or {}
        self.faults = Counter[str]()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def _plan(self, operation: str) -> Any:
        if operation in self.forever:
            return self.forever[operation]
        queue = self.plans.get(operation) or []
        return queue.pop(0) if queue else None

    def _call(self, operation: str, real: Callable[..., Any], **kwargs: Any) -> Any:
        plan = self._plan(operation)
        if isinstance(plan, Exception):
            self.faults[operation] += 1
            raise plan
        if callable(plan):
            self.faults[operation] += 1
            plan()
        elif plan == "partial":
            self.faults[operation] += 1
            ((table, requests),) = kwargs["RequestItems"].items()
            real(RequestItems={table: requests[:1]})
            return {"UnprocessedItems": {table: requests[1:]} if requests[1:] else {}}
        return real(**kwargs)

    def batch_write_item(self, **kwargs: Any) -> Any:
        return self._call("batch_write_item", self.real.batch_write_item, **kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        return self._call("transact_write_items", self.real.transact_write_items, **kwargs)


def conflict(actions: int) -> ClientError:
    return client_error(
        "TransactionCanceledException",
        "TransactWriteItems",
        CancellationReasons=[{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (actions - 1),
    )


def install(monkeypatch: pytest.MonkeyPatch, faulty: FaultyDynamoDB) -> None:
    """The writer's bulk and transaction calls (``store``) get the faulty client; nothing else is touched."""
    monkeypatch.setattr(store, "aws", SimpleNamespace(dynamodb=lambda *_: faulty, WRITER=None, REQUEST_PATH=None))


def test_conflicts_and_throttled_cancellations_are_retried_without_loss_or_double_count(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch, writer_sleeps: list[float]
) -> None:
    # GIVEN 60 visits and a table whose transactions conflict, then throttle (cancellation reasons)
    visits = [make_visit(when=NOW, path=f"/t{i % 3}", visitor=f"v{i}") for i in range(60)]
    send_visits(pipeline_resources, visits)
    throttled = client_error(
        "TransactionCanceledException",
        "TransactWriteItems",
        CancellationReasons=[{"Code": "ThrottlingError"}] + [{"Code": "None"}] * 65,
    )
    faulty = FaultyDynamoDB(boto3.client("dynamodb"), {"transact_write_items": [conflict(66), conflict(66), throttled]})
    install(monkeypatch, faulty)

    # WHEN the writer drains the queue
    report = drain_queue(pipeline_resources)

    # THEN every fault happened and was retried after a backoff pause, nothing failed
    assert faulty.faults == {"transact_write_items": 3}
    assert len(writer_sleeps) >= 3
    assert report.failures == []
    # AND every visit is logged once and counted once
    assert len(log_items(pipeline_resources.table_name)) == 60
    assert total(pipeline_resources) == 60
    assert n(day_item(pipeline_resources), "visits") == 60 and sum(tallies(pipeline_resources, "p").values()) == 60
    assert n(hour_item(pipeline_resources), "visits") == 60
    assert uniques(pipeline_resources) == 60


def test_a_lasting_transaction_failure_counts_nothing_then_redelivery_counts_once(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    visits = [make_visit(when=NOW) for _ in range(4)]
    send_visits(pipeline_resources, visits)
    faulty = FaultyDynamoDB(boto3.client("dynamodb"), {}, forever={"transact_write_items": conflict(9)})
    install(monkeypatch, faulty)

    first = deliver(pipeline_resources, handler, receive_batch(pipeline_resources))

    assert len(first["batchItemFailures"]) == 4
    assert day_item(pipeline_resources) == {} and log_items(pipeline_resources.table_name) == []
    assert total(pipeline_resources) == 0
    faulty.forever.clear()
    assert drain_queue(pipeline_resources).failures == []
    assert n(day_item(pipeline_resources), "visits") == 4 and total(pipeline_resources) == 4
    assert len(log_items(pipeline_resources.table_name)) == 4


def test_dynamodb_calls_per_100_records(pipeline_resources: PipelineResources) -> None:
    # GIVEN two batches of 100 visits of a realistic mix (pages, referrers, browsers, a few bots)
    calls = CallCounter().attach(aws_clients.dynamodb(aws_clients.WRITER))
    transactions: list[dict[str, Any]] = []
    calls.client.meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems", lambda params, **_: transactions.append(params)
    )
    seen = []
    for round_ in range(2):
        send_visits(
            pipeline_resources,
            [
                make_visit(
                    when=NOW,
                    path=f"/c{i % 20}",
                    referrer=f"https://ref{i % 5}.example/" if i % 2 else None,
                    user_agent=BOT_UA if i % 25 == 0 else (FIREFOX_UA if i % 3 else make_visit().user_agent),
                    is_bot=i % 25 == 0,
                    visitor=f"r{round_}v{i}",
                )
                for i in range(100)
            ],
        )
        messages = receive_batch(pipeline_resources)
        assert len(messages) == 100
        calls.reset()

        # WHEN the writer handles each batch
        response = deliver(pipeline_resources, handler, messages)

        assert response == {"batchItemFailures": []}
        seen.append(dict(calls.operations))

    # THEN a cold environment: 2 transactions + the sketch write + one Query each of the day's and
    # the all-time names; a warm one: 3 calls per 100 records
    assert seen[0] == {"TransactWriteItems": 2, "UpdateItem": 1, "Query": 2}
    assert seen[1] == {"TransactWriteItems": 2, "UpdateItem": 1}
    # AND each log item is written exactly once: one Put per visit, no other write of a log item
    log_writes = [
        a
        for t in transactions
        for a in t["TransactItems"]
        if a.get("Put", {}).get("Item", {}).get("pk", {}).get("S", "").startswith("LOG#")
    ]
    assert len(log_writes) == 200
    assert all(a["Put"]["ConditionExpression"] == "attribute_not_exists(#pk)" for a in log_writes)
    assert total(pipeline_resources) == 200 - 8
    assert uniques(pipeline_resources) == 192


def test_visits_of_two_days_in_one_batch(pipeline_resources: PipelineResources) -> None:
    yesterday = NOW - timedelta(days=1)
    send_visits(pipeline_resources, [make_visit(when=yesterday), make_visit(when=NOW), make_visit(when=NOW)])
    assert drain_queue(pipeline_resources).failures == []
    assert n(day_item(pipeline_resources, yesterday), "visits") == 1
    assert n(day_item(pipeline_resources), "visits") == 2
    assert tallies(pipeline_resources, "p", yesterday) == {"/": 1} and total(pipeline_resources) == 3


def test_wide_batches_stay_within_transaction_and_expression_limits(pipeline_resources: PipelineResources) -> None:
    # GIVEN 100 visits, each with its own page, referrer host and minute, over two hours
    start = NOW.replace(minute=0) - timedelta(hours=1)
    visits = [
        make_visit(
            when=start + timedelta(minutes=i),
            path=f"/article/{i}/" + "x" * 150,
            referrer=f"https://site{i}.example.com/",
            visitor=f"w{i}",
        )
        for i in range(100)
    ]
    send_visits(pipeline_resources, visits)
    transactions: list[dict[str, Any]] = []
    aws_clients.dynamodb(aws_clients.WRITER).meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems", lambda params, **_: transactions.append(params)
    )

    # WHEN the writer handles them in one batch
    response = deliver(pipeline_resources, handler, receive_batch(pipeline_resources))

    # THEN every transaction respects DynamoDB's limits (100 actions, 4 KB expressions)
    assert response == {"batchItemFailures": []}
    assert transactions and all(len(t["TransactItems"]) <= 100 for t in transactions)
    expressions = [a["Update"]["UpdateExpression"] for t in transactions for a in t["TransactItems"] if "Update" in a]
    assert max(len(e) for e in expressions) <= 4096
    # AND everything is counted once, names truncated
    day = day_item(pipeline_resources, start)
    today = day_item(pipeline_resources) if keys.day_of(start) != keys.day_of(NOW) else {}
    assert n(day, "visits") + n(today, "visits") == 100 == total(pipeline_resources)
    pages = {**tallies(pipeline_resources, "p", start), **tallies(pipeline_resources, "p", NOW)}
    assert len(pages) == 100 and max(len(p) for p in pages) == 100


def test_tallies_are_capped_and_the_rest_goes_to_other(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a cap of 3 page names a day
    monkeypatch.setitem(layout.CAPS, layout.PAGE, 3)
    # WHEN 2 pages arrive, then (in a new execution environment, which must read the day's names) 4 more
    send_visits(pipeline_resources, [make_visit(when=NOW, path=f"/a{i}") for i in range(2)])
    drain_queue(pipeline_resources)
    ENVIRONMENT.reset()
    send_visits(pipeline_resources, [make_visit(when=NOW, path=f"/b{i}") for i in range(4) for _ in range(i + 1)])
    drain_queue(pipeline_resources)

    # THEN the day holds 3 page names and (other); no visit is lost
    pages = tallies(pipeline_resources, "p")
    assert len(pages) == 4 and "(other)" in pages
    assert sum(pages.values()) == 2 + 10 == n(day_item(pipeline_resources), "visits")
    assert pages["/a0"] == 1 and pages["/a1"] == 1 and pages["/b0"] == 1
    assert pages["(other)"] == 2 + 3 + 4


def test_per_record_log_lines_carry_the_visit_id_and_metrics_are_emitted(
    pipeline_resources: PipelineResources, capsys: pytest.CaptureFixture[str], log_lines: Any
) -> None:
    visit = make_visit(when=NOW)
    send_visits(pipeline_resources, [visit, visit])  # the second copy is a duplicate
    poison = send_raw(pipeline_resources, "{broken")

    deliver(pipeline_resources, handler, receive_batch(pipeline_resources))

    lines = [json.loads(line) for line in log_lines.lines]
    failed = [line for line in lines if line.get("message") == "Record failed"]
    assert [line["message_id"] for line in failed] == [poison]
    invalid = [line for line in lines if line.get("message") == "Invalid visit record"]
    assert invalid and invalid[0]["message_id"] == poison
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    emf = next(line for line in printed if "_aws" in line)
    assert emf["RecordsWritten"] == [2.0] and emf["BatchFailures"] == [1.0] and emf["DuplicatesSkipped"] == [1.0]


def test_failed_records_log_their_visit_id_as_correlation_id(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch, log_lines: Any
) -> None:
    visit = make_visit(when=NOW)
    send_visits(pipeline_resources, [visit])
    install(monkeypatch, FaultyDynamoDB(boto3.client("dynamodb"), {}, forever={"transact_write_items": conflict(6)}))

    deliver(pipeline_resources, handler, receive_batch(pipeline_resources))

    lines = [json.loads(line) for line in log_lines.lines]
    failed = [line for line in lines if line.get("message") == "Record failed"]
    assert len(failed) == 1 and failed[0]["correlation_id"] == visit.visit_id
    assert "retries exhausted" in failed[0]["reason"]


def test_recent_visits_are_the_newest_across_buckets_and_days(pipeline_resources: PipelineResources) -> None:
    # GIVEN 30 visits today and 10 yesterday, spread over the 16 log buckets
    today = [make_visit(when=NOW - timedelta(seconds=i)) for i in range(30)]
    yesterday = [make_visit(when=NOW - timedelta(days=1, seconds=i)) for i in range(10)]
    send_visits(pipeline_resources, [*yesterday, *today])
    assert drain_queue(pipeline_resources).failures == []
    table = pipeline_resources.table_name

    # THEN the newest come first, and a limit beyond today's visits reaches into yesterday
    newest = visitlog.recent_visits(5, table_name=table, now=NOW)
    assert [v.visit_id for v in newest] == [v.visit_id for v in today[:5]]
    spanning = visitlog.recent_visits(35, table_name=table, now=NOW)
    assert [v.visit_id for v in spanning] == [v.visit_id for v in [*today, *yesterday[:5]]]
    assert len(visitlog.recent_visits(100, table_name=table, now=NOW, max_days=1)) == 30
    assert visitlog.recent_visits(0, table_name=table) == []


# --- the unique visitors sketches ---------------------------------------------------------------


def test_a_sketch_that_keeps_losing_never_fails_a_record_and_catches_up_later(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN another writer that wins every race on this environment's sketch shard
    from functions.tables import aggstore

    real = aggstore.write_sketch
    monkeypatch.setattr(aggstore, "write_sketch", lambda *a, **k: False)
    send_visits(pipeline_resources, [make_visit(when=NOW, visitor=f"s{i}") for i in range(5)])
    report = drain_queue(pipeline_resources)
    # THEN the visits are logged and counted on their first delivery; the visitors wait
    assert report.failures == [] and report.invocations == 1
    assert total(pipeline_resources) == 5 and uniques(pipeline_resources) == 0
    # WHEN the race is over, the next batch of this environment merges the waiting visitors too
    monkeypatch.setattr(aggstore, "write_sketch", real)
    send_visits(pipeline_resources, [make_visit(when=NOW, visitor="s-later")])
    assert drain_queue(pipeline_resources).failures == []
    assert uniques(pipeline_resources) == 6


def test_writers_on_the_same_shard_keep_each_others_visitors(pipeline_resources: PipelineResources) -> None:
    # GIVEN two execution environments that picked the same sketch shard
    first = SketchShards(shard=3)
    second = SketchShards(shard=3)
    for env, prefix in ((first, "a"), (second, "b"), (first, "c")):
        writer = writer_batch.BatchWriter(
            pipeline_resources.table_name, 30, Namers(lambda ua: "Chrome", lambda ua: "bot"), sketches=env
        )
        batch = [make_visit(when=NOW, visitor=f"{prefix}{i}") for i in range(10)]
        outcome = writer.write([writer_batch.Message(f"m-{v.visit_id}", v.to_json()) for v in batch])
        assert outcome.failed == {} and outcome.uniques_deferred == 0
    # THEN the shard holds all 30 visitors (each write re-read and merged on top of the other's)
    assert uniques(pipeline_resources) == 30


def test_crafted_records_fail_alone_and_their_batch_mates_are_written(pipeline_resources: PipelineResources) -> None:
    # GIVEN good visits and crafted ones that would break a DynamoDB call or date arithmetic
    good = [make_visit(visit_id=f"good-{n}") for n in range(5)]
    send_visits(pipeline_resources, good)
    crafted = json.loads(make_visit(visit_id="crafted").to_json())
    bad_ids = [
        send_raw(pipeline_resources, json.dumps({**crafted, "timestamp": "9999-12-31T23:59:59.000Z"})),
        send_raw(pipeline_resources, json.dumps({**crafted, "schema_version": True})),
        send_raw(pipeline_resources, json.dumps({**crafted, "visit_id": "v" * 2000})),
        send_raw(pipeline_resources, json.dumps({**crafted, "path": "/" + "p" * 200_000})),
    ]
    # WHEN the writer takes them in one batch
    messages = receive_batch(pipeline_resources)
    assert len(messages) == 9
    response = deliver(pipeline_resources, handler, messages)
    # THEN exactly the crafted records fail, and every good visit is logged
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == set(bad_ids)
    assert {item["visit_id"]["S"] for item in log_items(pipeline_resources.table_name)} == {v.visit_id for v in good}
    assert total(pipeline_resources) == 5
