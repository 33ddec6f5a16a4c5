"""GET / through the ingest handler against moto: counting, the queued record, AWS calls, CORS, methods."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from functions.core.settings import get_settings
from functions.tables import counter
from tests.integration.conftest import Ingest, emitted_metrics, emitted_values
from tests.support.calls import CallCounter
from tests.support.events import http_v2_event, rest_event

BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

SHAPES = [
    pytest.param(rest_event, id="rest-api"),
    pytest.param(http_v2_event, id="http-api"),
    pytest.param(lambda *a, **kw: http_v2_event(*a, function_url=True, **kw), id="function-url"),
]


@pytest.mark.parametrize("make_event", SHAPES)
def test_a_visit_is_counted_and_queued(ingest: Ingest, make_event: Any) -> None:
    # GIVEN a browser visiting /blog/post from example.com
    event = make_event(
        query={"page": "/blog/post"},
        headers={"Referer": "https://example.com/blog/post?utm=x#top"},
        request_id="req-1",
    )
    # WHEN it calls the API twice
    first, second = ingest(event), ingest(make_event())
    # THEN each gets the count so far, uncached JSON with CORS
    assert (first.status, first.body) == (200, {"visitor_count": 1})
    assert second.body == {"visitor_count": 2}
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["Cache-Control"] == "no-store"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    # AND both visits are on the queue with the request id as visit id
    visits = ingest.queued()
    assert len(visits) == 2
    visit = next(v for v in visits if v.visit_id == "req-1")
    assert visit.path == "/blog/post"
    assert visit.referrer == "https://example.com/blog/post"
    assert visit.ip == "203.0.113.7"
    assert (visit.is_bot, visit.counted) == (False, True)
    assert visit.visitor and len(visit.visitor) == 32
    assert visit.timestamp.endswith("Z")
    # AND ingest itself counted nothing: the writer does, exactly once
    assert counter.read_total(get_settings()) == 0


def test_the_writer_counts_what_ingest_queued_and_answers_follow_it(ingest: Ingest) -> None:
    # GIVEN three visits, then the writer draining the queue
    assert [ingest(rest_event()).body["visitor_count"] for _ in range(3)] == [1, 2, 3]
    assert ingest.drain() == 3
    # WHEN a visit lands on a fresh execution environment (no last answer of its own)
    ingest.forget()
    # THEN its answer is the stored count plus itself
    assert ingest(rest_event()).body == {"visitor_count": 4}
    assert ingest.drain() == 4


def test_payload_formats_give_the_same_answers(ingest: Ingest) -> None:
    answers = []
    for make_event in (rest_event, http_v2_event, lambda **kw: http_v2_event(function_url=True, **kw)):
        result = ingest(make_event(query={"page": "/same"}, source_ip="198.51.100.1"))
        answers.append((result.status, result.headers["Content-Type"], result.headers["Cache-Control"]))
    assert answers == [(200, "application/json", "no-store")] * 3
    visits = ingest.queued()
    assert {(v.path, v.ip, v.visitor) for v in visits} == {(visits[0].path, "198.51.100.1", visits[0].visitor)}


def test_exactly_two_aws_calls_per_visit(ingest: Ingest, aws_calls: CallCounter) -> None:
    # GIVEN a warm function (the first visit of the day also fetches the daily salt)
    ingest(rest_event())
    assert aws_calls.take() == ["GetItem", "PutItem", "SendMessage"]
    # WHEN humans and bots visit
    for _ in range(5):
        ingest(rest_event())
        human = aws_calls.take()
        ingest(rest_event(headers={"User-Agent": BOT_UA}))
        bot = aws_calls.take()
        # THEN a human and a bot each cost the counter read and the send (the writer counts)
        assert human == ["GetItem", "SendMessage"]
        assert bot == ["GetItem", "SendMessage"]


# Concurrency on DynamoDB Local: moto's in-process backends are not thread-safe.
@pytest.mark.parametrize("dynamodb_backend", ["dynamodb-local"], indirect=True)
def test_count_is_exact_after_500_concurrent_visits(ingest: Ingest) -> None:
    # GIVEN 16 threads sending 500 visits in all
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: ingest(rest_event()), range(500)))
    # THEN every visit got a distinct answer, 500 visits were queued and the writer counts exactly 500
    assert all(r.status == 200 for r in results)
    assert sorted(r.body["visitor_count"] for r in results) == list(range(1, 501))
    assert ingest.queue_length() == 500
    assert ingest.drain() == 500


def test_bots_are_logged_but_not_counted(ingest: Ingest) -> None:
    ingest(rest_event())
    bot = ingest(rest_event(headers={"User-Agent": BOT_UA}))
    assert (bot.status, bot.body) == (200, {"visitor_count": 1})
    queued = ingest.queued()
    bot_visit = next(v for v in queued if v.is_bot)
    assert (bot_visit.counted, bot_visit.bot_class) == (False, "crawler")
    assert bot_visit.user_agent == BOT_UA


def test_bots_are_not_counted_by_the_writer(ingest: Ingest) -> None:
    ingest(rest_event())
    ingest(rest_event(headers={"User-Agent": BOT_UA}))
    assert ingest.drain() == 1


def test_visits_and_bots_are_metrics_of_the_writer_not_of_each_visit(
    ingest: Ingest, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN three human visits and a bot: ingest prints no metrics line for any of them
    capsys.readouterr()
    for _ in range(3):
        ingest(rest_event())
    ingest(rest_event(headers={"User-Agent": BOT_UA}))
    ingest(rest_event(method="OPTIONS"))
    assert emitted_metrics(capsys.readouterr().out) == []
    # WHEN the writer takes the batch
    ingest.drain()
    # THEN one metrics document for the batch carries the counts
    values = emitted_values(capsys.readouterr().out)
    assert (values["VisitsCounted"], values["BotVisits"], values["RecordsWritten"]) == (3, 1, 4)


def test_count_bots_counts_them(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest.configure(monkeypatch, COUNT_BOTS="true")
    ingest(rest_event())
    bot = ingest(rest_event(headers={"User-Agent": BOT_UA}))
    assert bot.body == {"visitor_count": 2}
    assert ingest.drain() == 2


def test_cors_allow_list(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest.configure(monkeypatch, ALLOWED_ORIGINS="https://a.example,https://b.example")
    # GIVEN an allowed origin: it is echoed, with Vary: Origin
    allowed = ingest(rest_event(headers={"Origin": "https://b.example"}))
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert allowed.headers["Vary"] == "Origin"
    # GIVEN another origin: no Allow-Origin (the browser hides the answer), still Vary
    other = ingest(http_v2_event(headers={"Origin": "https://evil.example"}))
    assert "Access-Control-Allow-Origin" not in other.headers
    assert other.headers["Vary"] == "Origin"
    # AND an OPTIONS reaching the function (every ingress answers preflights itself) counts nothing
    options = ingest(rest_event(method="OPTIONS", headers={"Origin": "https://a.example"}))
    assert options.status == 405
    assert ingest.drain() == 2


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD"])
def test_other_methods_are_405_and_not_counted(ingest: Ingest, aws_calls: CallCounter, method: str) -> None:
    result = ingest(http_v2_event(method=method))
    assert result.status == 405
    assert result.headers["Allow"] == "GET"
    assert result.body == {"error": "method not allowed"}
    assert aws_calls.take() == []
