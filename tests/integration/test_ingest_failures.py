"""Ingest when AWS fails: nothing counted is lost, nothing uncounted is queued."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest

from functions.core import aws as aws_clients
from functions.core.settings import get_settings
from functions.model.visit import Visit
from functions.tables import counter
from functions.tables.visitlog import from_log_item, to_log_item
from tests.integration.conftest import FailureInjector, Ingest, emitted_metrics
from tests.support.calls import CallCounter
from tests.support.events import rest_event
from tests.support.faults import ServerErrors

BOT_UA = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"


def test_queue_down_after_sdk_retries_writes_the_log_item_directly(
    ingest: Ingest, aws_calls: CallCounter, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN SQS answering every SendMessage attempt with a 500, never reached
    sqs_down = ServerErrors(aws_clients.sqs(), "AmazonSQS.SendMessage", applied=False)
    # WHEN a visit arrives
    result = ingest(rest_event(query={"page": "/pricing"}, request_id="req-recover"))
    # THEN the visitor still gets the count
    assert (result.status, result.body) == (200, {"visitor_count": 1})
    # AND the SDK retried before giving up (2 attempts in all: the request path's bounded budget)
    assert sqs_down.attempts == aws_clients.sqs().meta.config.retries["total_max_attempts"] == 2
    assert aws_calls.take() == ["GetItem", "PutItem", "SendMessage", "TransactWriteItems"]
    # AND the visit is counted, and in the log as the writer would have written it, flagged recovered
    assert counter.read_total(get_settings()) == 1
    logs = ingest.items("LOG#")
    assert len(logs) == 1
    visit = from_log_item(logs[0])
    assert (visit.visit_id, visit.path, visit.counted) == ("req-recover", "/pricing", True)
    assert logs[0] == to_log_item(visit, get_settings().log_ttl_days, recovered=True)
    assert logs[0]["recovered"] == {"BOOL": True}
    assert ingest.queued() == []
    assert "Recoveries" in emitted_metrics(capsys.readouterr().out)


def test_a_recovered_visit_that_also_reached_the_queue_counts_once(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a SendMessage that was applied but answered with an error (a timeout, say)
    lost_answers = ServerErrors(aws_clients.sqs(), "AmazonSQS.SendMessage", applied=True)
    # WHEN a visit arrives: ingest recovers it (log + count), and the SDK's two attempts queued it twice
    assert ingest(rest_event(request_id="req-both")).status == 200
    lost_answers.stop()
    assert ingest.queue_length() == 2
    # THEN the writer finds it logged already: one log item, one count
    assert ingest.drain() == 1
    assert [i["visit_id"]["S"] for i in ingest.items("LOG#")] == ["req-both"]


def test_queue_and_table_down_logs_the_whole_record(
    ingest: Ingest, fail_operation: FailureInjector, log_lines: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a warm function (today's salt is known) and then both SendMessage and PutItem failing
    ingest(rest_event())
    fail_operation(aws_clients.sqs(), "SendMessage")
    fail_operation(aws_clients.dynamodb(), "TransactWriteItems")
    # WHEN a visit arrives
    result = ingest(rest_event(query={"page": "/lost?"}, request_id="req-last-resort"))
    # THEN the visitor is told it was not recorded (a 200 always means counted or on its way)
    assert result.status == 503
    # AND one structured error line holds the complete visit record
    recovery = [json.loads(line) for line in log_lines.lines if '"visit recovery"' in line]
    assert len(recovery) == 1
    record = recovery[0]["recovery_record"]
    assert recovery[0]["level"] == "ERROR"
    assert recovery[0]["correlation_id"] == "req-last-resort"
    assert record["visit_id"] == "req-last-resort"
    assert record["path"] == "/lost"
    assert record["counted"] is True
    assert set(record) == set(asdict(from_log_item(to_log_item_for(record))))
    assert "RecoveryFailures" in emitted_metrics(capsys.readouterr().out)


def to_log_item_for(record: dict[str, Any]) -> dict[str, Any]:
    return to_log_item(Visit.from_dict(record), 1)


def test_counter_failure_is_a_503_and_nothing_is_queued(
    ingest: Ingest, aws_calls: CallCounter, fail_operation: FailureInjector
) -> None:
    fail_operation(aws_clients.dynamodb(), "GetItem")
    result = ingest(rest_event())
    assert result.status == 503
    assert set(result.body) == {"error"}
    assert result.headers["Content-Type"] == "application/json"
    assert result.headers["Access-Control-Allow-Origin"] == "*"
    assert aws_calls.take() == ["GetItem"]
    assert ingest.queued() == []


def test_a_warm_function_answers_from_its_last_count_when_the_read_fails(
    ingest: Ingest, fail_operation: FailureInjector
) -> None:
    # GIVEN a function that has answered once
    assert ingest(rest_event()).body == {"visitor_count": 1}
    # WHEN the counter read fails
    fail_operation(aws_clients.dynamodb(), "GetItem")
    result = ingest(rest_event())
    # THEN the visit is still queued (the writer counts it) and answered from the last count
    assert (result.status, result.body) == (200, {"visitor_count": 2})
    assert ingest.drain() == 2


def test_counter_read_failure_for_a_bot_is_a_503_too(ingest: Ingest, fail_operation: FailureInjector) -> None:
    fail_operation(aws_clients.dynamodb(), "GetItem")
    result = ingest(rest_event(headers={"User-Agent": BOT_UA}))
    assert result.status == 503
    assert ingest.queued() == []


def test_salt_unavailable_still_counts_without_hashes(
    ingest: Ingest, fail_operation: FailureInjector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN hashed IPs and a table that refuses the salt write
    ingest.configure(monkeypatch, IP_MODE="hashed")
    fail_operation(aws_clients.dynamodb(), "PutItem")
    # WHEN a visit arrives
    result = ingest(rest_event())
    # THEN it is counted and queued, but without any IP value or visitor hash (never the raw IP)
    assert result.body == {"visitor_count": 1}
    (visit,) = ingest.queued()
    assert (visit.ip, visit.visitor) == (None, None)
