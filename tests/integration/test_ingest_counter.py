"""Ingest reads the count, never increments it: the shard read, the answer rule, and the recovery
transaction that counts a visit only if no delivery of it was counted already."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.core import aws
from functions.core.environment import ENVIRONMENT
from functions.core.http import parse_request
from functions.core.settings import get_settings, load_settings
from functions.ingest import service
from functions.model import keys
from functions.tables import counter, store
from tests.support.events import rest_event
from tests.support.pipeline import BOT_UA, drain_queue, log_items, make_visit, queue_depth
from visitor_tracker.resources import PipelineResources

SETTINGS = load_settings({"TABLE_NAME": "t", "QUEUE_URL": "q", "COUNTER_SHARDS": "3"})
ONE_SHARD = load_settings({"TABLE_NAME": "t", "QUEUE_URL": "q"})


def item(shard: int, visits: int) -> dict[str, Any]:
    return {**keys.counter_key(shard), "visits": {"N": str(visits)}}


class ScriptedDynamoDB:
    def __init__(self, responses: list[dict[str, Any]]) -> None:
        self.responses = responses
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(("BatchGetItem", kwargs))
        return self.responses.pop(0)

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(("GetItem", kwargs))
        return self.responses.pop(0)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(responses: list[dict[str, Any]]) -> ScriptedDynamoDB:
        client = ScriptedDynamoDB(responses)
        profiles: list[aws.Profile] = []

        def dynamodb(profile: aws.Profile = aws.REQUEST_PATH) -> ScriptedDynamoDB:
            profiles.append(profile)
            return client

        monkeypatch.setattr(aws, "dynamodb", dynamodb)
        monkeypatch.setattr(store, "sleep", lambda seconds: None)
        client.profiles = profiles  # type: ignore[attr-defined]
        return client

    return install


# --- the shard read -----------------------------------------------------------------------------


def test_one_shard_is_one_get_item_of_its_visits_only(scripted: Any) -> None:
    client = scripted([{"Item": {"visits": {"N": "41"}}}, {}])
    assert counter.read_shards(ONE_SHARD) == {0: 41}
    assert counter.read_total(ONE_SHARD) == 0  # before the first visit: no item, zero
    (op, first), (_, second) = client.requests
    assert op == "GetItem" and first["Key"] == keys.counter_key(0)
    assert first["ProjectionExpression"] == "#v" and first["ConsistentRead"] is False
    assert second["ConsistentRead"] is True  # read_total is exact once writes settle
    assert set(client.profiles) == {aws.REQUEST_PATH}


def test_shards_are_one_batch_get_and_unprocessed_keys_are_asked_again(scripted: Any) -> None:
    # GIVEN DynamoDB answering shard 0, leaving shards 1 and 2 unprocessed, then answering them
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
    first, second = (kw["RequestItems"]["t"] for _, kw in client.requests)
    assert first["Keys"] == [keys.counter_key(n) for n in range(3)] and first["ConsistentRead"] is False
    assert second["Keys"] == [keys.counter_key(1), keys.counter_key(2)]


def test_an_exact_total_is_never_a_partial_sum(scripted: Any) -> None:
    throttled = {"Responses": {"t": []}, "UnprocessedKeys": {"t": {"Keys": [keys.counter_key(2)]}}}
    scripted(
        [{"Responses": {"t": [item(0, 1), item(1, 1)]}, "UnprocessedKeys": {"t": {"Keys": [keys.counter_key(2)]}}}]
        + [throttled] * store.DEFAULT_BACKOFF.attempts
    )
    with pytest.raises(counter.CounterReadIncomplete):
        counter.read_total(SETTINGS)


# --- the answer ---------------------------------------------------------------------------------


def test_the_answer_is_the_stored_count_plus_this_visit_and_never_goes_back() -> None:
    last = service.LastCount()
    assert not last.known()
    assert last.answer(10, counted=True) == 11
    assert last.answer(10, counted=True) == 12  # the writer has not folded the first one in yet
    assert last.answer(20, counted=True) == 21  # others' visits arrived
    assert last.answer(None, counted=True) == 22  # the counter could not be read: from the last answer
    assert last.answer(5, counted=False) == 22  # a bot adds nothing and a stale read cannot lower it
    assert last.known()
    last.clear()
    assert last.answer(None, counted=False) == 0


def test_concurrent_answers_in_one_environment_are_all_distinct() -> None:
    last = service.LastCount()
    answers: list[int] = []
    lock = threading.Lock()

    def visit() -> None:
        for _ in range(200):
            value = last.answer(0, counted=True)
            with lock:
                answers.append(value)

    threads = [threading.Thread(target=visit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == list(range(1, 801))


# --- through the service, on moto ---------------------------------------------------------------


def request(user_agent: str | None = None, request_id: str | None = None) -> Any:
    headers = {"User-Agent": user_agent} if user_agent else None
    return parse_request(rest_event(query={"page": "/p"}, headers=headers, request_id=request_id))


def stored_count(resources: PipelineResources) -> int:
    response = boto3.client("dynamodb").get_item(TableName=resources.table_name, Key=keys.counter_key(0))
    return counter.visits_of(response.get("Item"))


def test_ingest_only_reads_the_counter_and_queues_the_visit(pipeline_resources: PipelineResources) -> None:
    settings = get_settings()
    calls: list[str] = []
    aws.dynamodb().meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))

    first = service.record_visit(request(), settings)
    second = service.record_visit(request(), settings)
    bot = service.record_visit(request(BOT_UA), settings)

    assert (first.count, second.count, bot.count) == (1, 2, 2)
    assert (first.delivery, bot.delivery) == ("queued", "queued") and bot.visit.is_bot and not bot.visit.counted
    assert calls.count("GetItem") == 3 and "UpdateItem" not in calls and "TransactWriteItems" not in calls
    assert stored_count(pipeline_resources) == 0 and queue_depth(pipeline_resources.queue_url) == 3
    # The writer counts them, once: a fresh environment then answers from the stored count.
    assert drain_queue(pipeline_resources).failures == []
    assert stored_count(pipeline_resources) == 2
    ENVIRONMENT.reset()
    assert service.record_visit(request(), settings).count == 3


def test_a_failed_counter_read_answers_from_the_last_count_or_records_nothing(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()

    def unreadable(*args: Any, **kwargs: Any) -> int:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "GetItem")

    with monkeypatch.context() as patch:
        patch.setattr(counter, "read_total", unreadable)
        with pytest.raises(service.CounterUnavailable):
            service.record_visit(request(), settings)
        assert queue_depth(pipeline_resources.queue_url) == 0  # never answered, never queued

    assert service.record_visit(request(), settings).count == 1
    monkeypatch.setattr(counter, "read_total", unreadable)
    assert service.record_visit(request(), settings).count == 2
    assert queue_depth(pipeline_resources.queue_url) == 2


def test_recovery_counts_a_visit_once_however_often_it_or_its_queued_copy_arrive(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN SendMessage failing for one visit: ingest counts it with its recovery transaction
    settings = get_settings()
    visit = make_visit(visit_id="rid-recovered")
    sqs_down = ClientError({"Error": {"Code": "InternalError"}}, "SendMessage")
    with monkeypatch.context() as patch:
        patch.setattr(service.queue, "send_visit", lambda s, v: (_ for _ in ()).throw(sqs_down))
        assert service.deliver(settings, visit) == "recovered"
        # WHEN the recovery is repeated (an SDK retry of an applied attempt) and a copy reaches the queue too
        service.recover(settings, visit)
    service.queue.send_visit(settings, visit)
    assert drain_queue(pipeline_resources).failures == []
    # THEN it is logged once, marked recovered, and counted once
    (logged,) = log_items(pipeline_resources.table_name)
    assert logged["visit_id"]["S"] == "rid-recovered" and logged["recovered"] == {"BOOL": True}
    assert stored_count(pipeline_resources) == 1


def test_a_visit_neither_queued_nor_recovered_is_logged_whole_and_refused(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    down = ClientError({"Error": {"Code": "InternalError"}}, "Op")
    monkeypatch.setattr(service.queue, "send_visit", lambda s, v: (_ for _ in ()).throw(down))
    monkeypatch.setattr(service.store, "transact", lambda *a, **k: (_ for _ in ()).throw(down))
    visit = make_visit(visit_id="rid-lost")
    with pytest.raises(service.VisitNotRecorded):
        service.deliver(get_settings(), visit)
    (recovery,) = [r for r in caplog.records if r.getMessage() == "visit recovery"]
    assert recovery.recovery_record["visit_id"] == "rid-lost"  # type: ignore[attr-defined]  # replayable
    assert stored_count(pipeline_resources) == 0
