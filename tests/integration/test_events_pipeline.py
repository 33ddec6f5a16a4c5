"""Custom events through the real handlers (issue 21): ingest refuses what breaks a limit, the writer counts
each event exactly once and never as a visit, /status shows them over any range."""

from __future__ import annotations

import json
from typing import Any

from functions.status.handler import handler as status_handler
from tests.integration.conftest import Ingest
from tests.support.access import signed
from tests.support.events import http_v2_event, rest_event
from tests.support.pipeline import drain_queue, receive_batch, send_raw


def status(query: dict[str, str] | None = None) -> dict[str, Any]:
    response = status_handler(signed(http_v2_event("/status", query=query or {})), None)
    assert response["statusCode"] == 200
    return dict(json.loads(response["body"]))


def event(name: str, props: dict[str, Any] | None = None, **query: str) -> dict[str, Any]:
    params = {"e": name, "page": "/pricing", **query}
    if props is not None:
        params["p"] = json.dumps(props)
    return rest_event(query=params)


def test_events_are_counted_once_each_and_never_as_visits(ingest: Ingest) -> None:
    # GIVEN two pageviews and three events of two kinds
    assert [ingest(rest_event(query={"page": page})).body for page in ("/", "/pricing")] == [
        {"visitor_count": 1},
        {"visitor_count": 2},
    ]
    answers = [
        ingest(event("Signup", {"plan": "pro"})),
        ingest(event("Signup", {"plan": "free", "seats": 3})),
        ingest(event("Outbound Link: Click", {"url": "https://example.org/docs"})),
    ]
    # THEN each event is acknowledged by name, not with a count
    assert [(a.status, a.body) for a in answers] == [
        (200, {"event": "Signup"}),
        (200, {"event": "Signup"}),
        (200, {"event": "Outbound Link: Click"}),
    ]
    # WHEN the writer folds them in
    assert ingest.drain() == 2  # visitor_count: the two pageviews only

    body = status()
    assert body["visitor_count"] == 2 and body["visits_today"] == 2
    assert body["events_today"] == 3
    assert body["top_events"] == [{"event": "Signup", "count": 2}, {"event": "Outbound Link: Click", "count": 1}]
    assert {(p["event"], p["property"], p["value"]): p["count"] for p in body["top_properties"]} == {
        ("Signup", "plan", "pro"): 1,
        ("Signup", "plan", "free"): 1,
        ("Signup", "seats", "3"): 1,
        ("Outbound Link: Click", "url", "https://example.org/docs"): 1,
    }
    # AND the events are no pages: only the pageviews are in the page tallies
    assert {p["path"]: p["visits"] for p in body["top_pages"]} == {"/": 1, "/pricing": 1}
    # AND a range has them too
    week = status({"range": "7d"})["range"]
    assert week["events"] == 3 and week["visits"] == 2
    assert week["top_events"][0] == {"event": "Signup", "count": 2}


def test_a_redelivered_event_is_not_counted_twice(ingest: Ingest) -> None:
    # GIVEN an event taken off the queue, and SQS delivering it again after the writer counted it
    ingest(event("Signup", {"plan": "pro"}))
    (message,) = receive_batch(ingest.resources)
    for _ in range(2):
        send_raw(ingest.resources, message["Body"])
        # WHEN the writer sees each copy in its own batch
        assert drain_queue(ingest.resources).failures == []
    # THEN it is tallied once: the second copy fails the log item's condition
    assert status()["top_events"] == [{"event": "Signup", "count": 1}]
    assert status()["events_today"] == 1
    assert ingest.stored_count() == 0


def test_a_bad_event_is_a_400_json_error_and_nothing_is_queued(ingest: Ingest) -> None:
    for bad in (event("x" * 65), event("Signup", {"k": [1]}), rest_event(query={"p": "{}"})):
        result = ingest(bad)
        assert result.status == 400
        assert result.headers["Content-Type"] == "application/json"
        assert "error" in result.body
    assert ingest.queued() == []


def test_automated_traffic_events_are_logged_not_tallied(ingest: Ingest) -> None:
    ingest(rest_event(query={"e": "Signup"}, headers={"User-Agent": "curl/8.5.0"}))
    (logged,) = ingest.queued()
    assert logged.event == "Signup" and logged.is_bot and not logged.counted
    ingest.drain()
    assert status()["top_events"] == [] and status()["events_today"] == 0
