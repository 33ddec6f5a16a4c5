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

from functions.common import aggregates, keys, store
from functions.common import aws as aws_clients
from functions.common.hll import Sketch
from functions.writer import batch as writer_batch
from functions.writer.handler import handler
from tests.pipeline_helpers import (
    BOT_UA,
    FIREFOX_UA,
    CallCounter,
    FakeContext,
    deliver,
    drain_queue,
    log_items,
    make_visit,
    queue_depth,
    receive_batch,
    send_raw,
    send_visits,
    sqs_event_from_messages,
)
from visitor_tracker.resources import PipelineResources

NOW = datetime.now(UTC).replace(second=30, microsecond=0)


pytestmark = pytest.mark.usefixtures("writer_sleeps")


def get(table: str, key: keys.Key) -> dict[str, Any]:
    return boto3.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})


def n(item: dict[str, Any], name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


def day_item(resources: PipelineResources, when: datetime = NOW) -> dict[str, Any]:
    return get(resources.table_name, keys.day_agg_key(keys.day_of(when)))


def hour_item(resources: PipelineResources, when: datetime = NOW) -> dict[str, Any]:
    return get(resources.table_name, keys.hour_agg_key(keys.hour_of(when)))


def uniques(resources: PipelineResources, when: datetime = NOW) -> int:
    """The day's unique visitors as /status estimates them (exact at these sizes: sparse sketch)."""
    item = get(resources.table_name, keys.uniques_key(keys.day_of(when)))
    return aggregates.read_uniques(item).sketch.estimate()


def test_every_visit_is_logged_and_counted_exactly_once(pipeline_resources: PipelineResources) -> None:
    # GIVEN 300 visits on the queue: 7 pages, 2 referrers, 2 browsers, 1 bot in 10, 40 visitors
    visits = [
        make_visit(
            when=NOW,
            path=f"/page{i % 7}",
            referrer="https://www.google.com/search" if i % 3 == 0 else None,
            user_agent=BOT_UA if i % 10 == 9 else (FIREFOX_UA if i % 2 else make_visit().user_agent),
            is_bot=i % 10 == 9,
            visitor=f"visitor{i % 40}",
        )
        for i in range(300)
    ]
    send_visits(pipeline_resources, visits)

    # WHEN the writer drains the queue
    report = drain_queue(pipeline_resources)

    # THEN every visit has one complete log item, flagged as counted
    assert report.failures == []
    items = log_items(pipeline_resources.table_name)
    assert sorted(i["visit_id"]["S"] for i in items) == sorted(v.visit_id for v in visits)
    assert all(i["aggregated"]["BOOL"] and "expires_at" in i and "path" in i for i in items)
    # AND every aggregate counts each visit once
    humans = [v for v in visits if not v.is_bot]
    day = day_item(pipeline_resources)
    assert n(day, "visits") == len(humans) == 270 and n(day, "bots") == 30
    assert n(day, f"h{NOW.hour:02d}") == 270
    assert {f"/page{p}": n(day, f"p:/page{p}") for p in range(7)} == dict(Counter(v.path for v in humans))
    assert n(day, "r:www.google.com") == sum(1 for v in humans if v.referrer)
    assert n(day, "b:Firefox") + n(day, "b:Chrome") == 270
    hour = hour_item(pipeline_resources)
    assert n(hour, "visits") == 270 and n(hour, "bots") == 30 and n(hour, f"m{NOW.minute:02d}") == 270
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
    first = handler(sqs_event_from_messages([*messages, messages[0]]), FakeContext())
    # AND the whole batch is delivered again later (e.g. a lost delete)
    second = handler(sqs_event_from_messages(messages), FakeContext())

    # THEN nothing failed, one log item per visit, one count per visit everywhere
    assert first == {"batchItemFailures": []} and second == {"batchItemFailures": []}
    assert len(log_items(pipeline_resources.table_name)) == 3
    day = day_item(pipeline_resources)
    assert n(day, "visits") == 3 and n(day, "p:/dup") == 3 and n(day, f"h{NOW.hour:02d}") == 3
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
    assert n(day_item(pipeline_resources), "visits") == 1


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
    response = handler(sqs_event_from_messages(receive_batch(pipeline_resources)), FakeContext())
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
    """The writer's data access (``store``) gets the faulty client; nothing else is touched."""
    monkeypatch.setattr(store, "aws", SimpleNamespace(dynamodb=lambda: faulty))


def test_throttling_unprocessed_items_and_conflicts_are_retried_without_loss_or_double_count(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch, writer_sleeps: list[float]
) -> None:
    # GIVEN 60 visits and a table that throttles, leaves items unprocessed and conflicts
    visits = [make_visit(when=NOW, path=f"/t{i % 3}", visitor=f"v{i}") for i in range(60)]
    send_visits(pipeline_resources, visits)
    faulty = FaultyDynamoDB(
        boto3.client("dynamodb"),
        {
            "batch_write_item": [
                client_error("ProvisionedThroughputExceededException", "BatchWriteItem"),
                client_error("ThrottlingException", "BatchWriteItem"),
                "partial",
                "partial",
            ],
            "transact_write_items": [conflict(63), conflict(63), client_error("ThrottlingException", "x")],
        },
    )
    install(monkeypatch, faulty)

    # WHEN the writer drains the queue
    report = drain_queue(pipeline_resources)

    # THEN every fault happened and was retried after a backoff pause, nothing failed
    assert faulty.faults == {"batch_write_item": 4, "transact_write_items": 3}
    assert len(writer_sleeps) >= 7
    assert report.failures == []
    # AND every visit is logged once and counted once
    assert len(log_items(pipeline_resources.table_name)) == 60
    day = day_item(pipeline_resources)
    assert n(day, "visits") == 60 and sum(n(day, f"p:/t{i}") for i in range(3)) == 60
    assert n(hour_item(pipeline_resources), "visits") == 60
    assert uniques(pipeline_resources) == 60


def test_a_lasting_log_write_failure_fails_the_records_then_redelivery_writes_them_once(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a table whose BatchWriteItem keeps throttling
    visits = [make_visit(when=NOW, visitor=f"v{i}") for i in range(5)]
    send_visits(pipeline_resources, visits)
    faulty = FaultyDynamoDB(
        boto3.client("dynamodb"),
        {},
        forever={"batch_write_item": client_error("ProvisionedThroughputExceededException", "BatchWriteItem")},
    )
    install(monkeypatch, faulty)
    messages = receive_batch(pipeline_resources)

    # WHEN the writer handles the batch
    response = deliver(pipeline_resources, handler, messages)

    # THEN every record is reported failed (after bounded retries), so SQS will redeliver them
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {m["MessageId"] for m in messages}
    # (bounded tries of the log write, plus one best-effort try to record the failure reasons)
    assert faulty.faults["batch_write_item"] == store.DEFAULT_BACKOFF.attempts + 1
    assert log_items(pipeline_resources.table_name) == [] or all(
        "path" not in i for i in log_items(pipeline_resources.table_name)
    )

    # WHEN the table recovers and the records come back
    faulty.forever.clear()
    report = drain_queue(pipeline_resources)

    # THEN they are written once and counted once
    assert report.failures == []
    items = log_items(pipeline_resources.table_name)
    assert len(items) == 5 and all("path" in i for i in items)
    assert n(day_item(pipeline_resources), "visits") == 5
    assert uniques(pipeline_resources) == 5


def test_a_lasting_transaction_failure_counts_nothing_then_redelivery_counts_once(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    visits = [make_visit(when=NOW) for _ in range(4)]
    send_visits(pipeline_resources, visits)
    faulty = FaultyDynamoDB(boto3.client("dynamodb"), {}, forever={"transact_write_items": conflict(7)})
    install(monkeypatch, faulty)

    first = deliver(pipeline_resources, handler, receive_batch(pipeline_resources))

    assert len(first["batchItemFailures"]) == 4
    assert day_item(pipeline_resources) == {} and log_items(pipeline_resources.table_name) == []
    faulty.forever.clear()
    assert drain_queue(pipeline_resources).failures == []
    assert n(day_item(pipeline_resources), "visits") == 4
    assert len(log_items(pipeline_resources.table_name)) == 4


def test_dynamodb_calls_per_100_records(pipeline_resources: PipelineResources) -> None:
    # GIVEN two batches of 100 visits (each message received normally)
    counter = CallCounter(aws_clients.dynamodb())
    reads: list[dict[str, Any]] = []
    counter.client.meta.events.register(
        "before-parameter-build.dynamodb.BatchGetItem", lambda params, **_: reads.append(params)
    )
    calls = []
    for round_ in range(2):
        send_visits(
            pipeline_resources,
            [make_visit(when=NOW, path=f"/c{i % 5}", visitor=f"r{round_}v{i}") for i in range(100)],
        )
        messages = receive_batch(pipeline_resources)
        assert len(messages) == 100
        counter.reset()

        # WHEN the writer handles each batch
        response = deliver(pipeline_resources, handler, messages)

        assert response == {"batchItemFailures": []}
        calls.append(dict(counter.calls))

    # THEN each batch: 4 BatchWriteItem + 2 TransactWriteItems + 1 BatchGetItem (the day's sketch; in
    # the first batch the same call also reads the day item for the caps): 7 calls per 100 records
    assert calls[0] == {"BatchWriteItem": 4, "TransactWriteItems": 2, "BatchGetItem": 1}
    assert calls[1] == {"BatchWriteItem": 4, "TransactWriteItems": 2, "BatchGetItem": 1}
    assert all(sum(c.values()) <= 8 for c in calls)
    # (strongly consistent: a stale sketch version would only make the conditional write fail)
    assert all(t["ConsistentRead"] for r in reads for t in r["RequestItems"].values())
    assert n(day_item(pipeline_resources), "visits") == 200
    assert uniques(pipeline_resources) == 200


def test_visits_of_two_days_in_one_batch(pipeline_resources: PipelineResources) -> None:
    yesterday = NOW - timedelta(days=1)
    send_visits(pipeline_resources, [make_visit(when=yesterday), make_visit(when=NOW), make_visit(when=NOW)])
    assert drain_queue(pipeline_resources).failures == []
    assert n(day_item(pipeline_resources, yesterday), "visits") == 1
    assert n(day_item(pipeline_resources), "visits") == 2


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
    aws_clients.dynamodb().meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems", lambda params, **_: transactions.append(params)
    )

    # WHEN the writer handles them in one batch
    response = deliver(pipeline_resources, handler, receive_batch(pipeline_resources))

    # THEN every transaction respects DynamoDB's limits (100 actions, 4 KB expressions)
    assert response == {"batchItemFailures": []}
    assert transactions and all(len(t["TransactItems"]) <= 100 for t in transactions)
    expressions = [a["Update"]["UpdateExpression"] for t in transactions for a in t["TransactItems"]]
    assert max(len(e) for e in expressions) <= 4096
    # AND everything is counted once, names truncated
    day = day_item(pipeline_resources, start)
    today = day_item(pipeline_resources) if keys.day_of(start) != keys.day_of(NOW) else {}
    assert n(day, "visits") + n(today, "visits") == 100
    pages = [name for name in [*day, *today] if name.startswith("p:")]
    assert len(pages) == 100 and max(len(p) for p in pages) == 2 + 100


def test_tallies_are_capped_and_the_rest_goes_to_other(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a cap of 3 page names a day
    monkeypatch.setitem(aggregates.CAPS, aggregates.PAGE_PREFIX, 3)
    # WHEN 2 pages arrive, then (in a new execution environment, which must read the item) 4 more
    send_visits(pipeline_resources, [make_visit(when=NOW, path=f"/a{i}") for i in range(2)])
    drain_queue(pipeline_resources)
    writer_batch.KNOWN.clear()
    send_visits(pipeline_resources, [make_visit(when=NOW, path=f"/b{i}") for i in range(4) for _ in range(i + 1)])
    drain_queue(pipeline_resources)

    # THEN the day item holds 3 names and (other); no visit is lost
    day = day_item(pipeline_resources)
    pages = {name: n(day, name) for name in day if name.startswith("p:")}
    assert len(pages) == 4 and "p:(other)" in pages
    assert sum(pages.values()) == 2 + 10 == n(day, "visits")
    assert pages["p:/a0"] == 1 and pages["p:/a1"] == 1
    assert pages["p:/b3"] == 4  # the busiest new page got the last free name


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
    install(monkeypatch, FaultyDynamoDB(boto3.client("dynamodb"), {}, forever={"transact_write_items": conflict(4)}))

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
    newest = store.recent_visits(5, table_name=table, now=NOW)
    assert [v.visit_id for v in newest] == [v.visit_id for v in today[:5]]
    spanning = store.recent_visits(35, table_name=table, now=NOW)
    assert [v.visit_id for v in spanning] == [v.visit_id for v in [*today, *yesterday[:5]]]
    assert len(store.recent_visits(100, table_name=table, now=NOW, max_days=1)) == 30
    assert store.recent_visits(0, table_name=table) == []


# --- the unique visitors sketch ----------------------------------------------------------------


def sketch_item(resources: PipelineResources, when: datetime = NOW) -> dict[str, Any]:
    return get(resources.table_name, keys.uniques_key(keys.day_of(when)))


def test_the_uniques_item_keeps_a_fixed_size_and_counts_repeat_visitors_once(
    pipeline_resources: PipelineResources,
) -> None:
    # GIVEN 400 visits from 400 visitors (past the sparse form), then 100 of them again
    first = [make_visit(when=NOW, visitor=f"{i:032x}") for i in range(400)]
    send_visits(pipeline_resources, first)
    assert drain_queue(pipeline_resources).failures == []
    item = sketch_item(pipeline_resources)
    again = [make_visit(when=NOW, visitor=f"{i:032x}") for i in range(0, 400, 4)]
    send_visits(pipeline_resources, again)

    # WHEN the writer handles the repeat visitors
    assert drain_queue(pipeline_resources).failures == []

    # THEN the sketch is the 2,048 registers (2 KB, whatever the traffic), estimates 400 within 3 %,
    # and repeat visitors changed nothing: same registers, not even rewritten (same version)
    assert len(item["registers"]["B"]) == 2048
    assert abs(aggregates.read_uniques(item).sketch.estimate() - 400) <= 12
    assert sketch_item(pipeline_resources) == item
    assert n(day_item(pipeline_resources), "visits") == 500


def test_a_concurrent_sketch_update_is_re_read_and_both_writers_visitors_are_kept(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch, writer_sleeps: list[float]
) -> None:
    # GIVEN a batch of 5 visitors, and another writer that adds 3 other visitors to today's sketch
    # between this writer's read and its transaction
    send_visits(pipeline_resources, [make_visit(when=NOW, visitor=f"mine{i}") for i in range(5)])
    table = pipeline_resources.table_name
    key = aggregates.key_tuple(keys.uniques_key(keys.day_of(NOW)))

    def other_writer() -> None:
        read = aggregates.read_uniques(sketch_item(pipeline_resources))
        theirs = read.sketch.merge(Sketch.of(["theirs0", "theirs1", "theirs2"]))
        boto3.client("dynamodb").update_item(**store.sketch_update(table, key, theirs.to_bytes(), read.version, 1))

    faulty = FaultyDynamoDB(boto3.client("dynamodb"), {"transact_write_items": [other_writer]})
    install(monkeypatch, faulty)

    # WHEN the writer handles the batch
    report = drain_queue(pipeline_resources)

    # THEN its first transaction lost the race (the version moved), it re-read after a pause and
    # retried: nothing failed, the visits counted once, and both writers' visitors are in the sketch
    assert faulty.faults["transact_write_items"] == 1 and len(writer_sleeps) == 1
    assert report.failures == []
    assert n(day_item(pipeline_resources), "visits") == 5
    assert uniques(pipeline_resources) == 8
    assert sketch_item(pipeline_resources)["version"] == {"N": "2"}
    assert len(log_items(table)) == 5


def test_a_sketch_that_keeps_changing_fails_the_records_after_bounded_retries(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch, writer_sleeps: list[float]
) -> None:
    # GIVEN a sketch whose version moves before every transaction
    send_visits(pipeline_resources, [make_visit(when=NOW, visitor=f"v{i}") for i in range(2)])
    table = pipeline_resources.table_name
    key = aggregates.key_tuple(keys.uniques_key(keys.day_of(NOW)))

    def bump() -> None:
        read = aggregates.read_uniques(sketch_item(pipeline_resources))
        boto3.client("dynamodb").update_item(**store.sketch_update(table, key, read.sketch.to_bytes(), read.version, 1))

    install(monkeypatch, FaultyDynamoDB(boto3.client("dynamodb"), {}, forever={"transact_write_items": bump}))

    response = deliver(pipeline_resources, handler, receive_batch(pipeline_resources))

    # THEN the records fail (SQS redelivers them) after the bounded tries, and nothing was counted
    assert len(response["batchItemFailures"]) == 2
    assert len(writer_sleeps) == store.DEFAULT_BACKOFF.attempts - 1
    assert day_item(pipeline_resources) == {}


def test_an_earlier_layout_uniques_set_is_folded_into_the_sketch_and_removed(
    pipeline_resources: PipelineResources,
) -> None:
    # GIVEN today's uniques item in the earlier layout: a string set of 16-character visitor hashes
    old = [aggregates.visitor_member(make_visit(visitor=f"old{i}").visitor or "") for i in range(30)]
    boto3.client("dynamodb").put_item(
        TableName=pipeline_resources.table_name,
        Item={**keys.uniques_key(keys.day_of(NOW)), "visitors": {"SS": old}},
    )
    # WHEN 3 new visitors and 2 of the old ones visit
    visitors = ["new0", "new1", "new2", "old0", "old1"]
    send_visits(pipeline_resources, [make_visit(when=NOW, visitor=v) for v in visitors])
    assert drain_queue(pipeline_resources).failures == []

    # THEN the sketch counts old and new visitors once, and the set is gone
    item = sketch_item(pipeline_resources)
    assert "visitors" not in item and item["version"] == {"N": "1"}
    assert uniques(pipeline_resources) == 33


def test_crafted_records_fail_alone_and_their_batch_mates_are_written(pipeline_resources: PipelineResources) -> None:
    # GIVEN good visits and crafted ones that would break a DynamoDB call or date arithmetic
    good = [make_visit(visit_id=f"good-{n}") for n in range(5)]
    send_visits(pipeline_resources, good)
    crafted = json.loads(make_visit(visit_id="crafted").to_json())
    bad_ids = [
        send_raw(pipeline_resources, json.dumps({**crafted, "timestamp": "9999-12-31T23:59:59.000Z"})),
        send_raw(pipeline_resources, json.dumps({**crafted, "schema_version": True})),
        send_raw(pipeline_resources, json.dumps({**crafted, "visit_id": "v" * 2000})),
        send_raw(pipeline_resources, json.dumps({**crafted, "path": "/" + "p" * 450_000})),
    ]
    # WHEN the writer takes them in one batch
    messages = receive_batch(pipeline_resources)
    assert len(messages) == 9
    response = deliver(pipeline_resources, handler, messages)
    # THEN exactly the crafted records fail, and every good visit is logged
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == set(bad_ids)
    assert {item["visit_id"]["S"] for item in log_items(pipeline_resources.table_name)} == {v.visit_id for v in good}
