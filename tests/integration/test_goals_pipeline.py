"""Goals through the real handlers (issue 21): completions counted exactly once by the writer's transaction,
unique converters from per-goal sketches, the conversion rate over unique visitors, today and over a range,
and a /status that reads the same items whatever the goals' traffic."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.core.goals import parse_goals
from functions.model.fold import Namers
from functions.model.visit import Visit
from functions.status.handler import handler as status_handler
from functions.writer.batch import BatchWriter, Message
from functions.writer.uniques import SketchShards
from tests.conftest import BOTH_BACKENDS
from tests.integration.conftest import Ingest
from tests.support.access import signed
from tests.support.calls import CallCounter
from tests.support.events import http_v2_event, rest_event
from tests.support.pipeline import drain_queue, make_visit, receive_batch, send_raw
from visitor_tracker.resources import PipelineResources

GOALS = "Signup,page:/thanks*,page:/docs/**"


def status(query: dict[str, str] | None = None) -> dict[str, Any]:
    response = status_handler(signed(http_v2_event("/status", query=query or {})), None)
    assert response["statusCode"] == 200
    return dict(json.loads(response["body"]))


def pageview(page: str, ip: str) -> dict[str, Any]:
    return rest_event(query={"page": page}, source_ip=ip)


def signup(ip: str) -> dict[str, Any]:
    return rest_event(query={"e": "Signup", "page": "/pricing"}, source_ip=ip)


def by_goal(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int | None, float | None]]:
    return {r["goal"]: (r["completions"], r["unique_converters"], r["conversion_rate"]) for r in rows}


@pytest.fixture
def goals_ingest(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> Ingest:
    ingest.configure(monkeypatch, GOALS=GOALS)
    return ingest


def test_goal_completions_converters_and_rate_today_and_over_a_range(goals_ingest: Ingest) -> None:
    ingest = goals_ingest
    # GIVEN four visitors (four addresses): all view the home page; three sign up (one twice), two
    # reach a thank-you page (one of them twice), one reads a docs page two levels down
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"):
        assert ingest(pageview("/", ip)).status == 200
    for ip in ("198.51.100.1", "198.51.100.1", "198.51.100.2", "198.51.100.3"):
        assert ingest(signup(ip)).body == {"event": "Signup"}
    for page, ip in (("/thanks", "198.51.100.1"), ("/thanks-pro?x=1", "198.51.100.1"), ("/thanks", "198.51.100.2")):
        assert ingest(pageview(page, ip)).status == 200
    # (a page under /thanks/ is not /thanks*: "*" stops at "/"; "**" does not)
    assert ingest(pageview("/thanks/again", "198.51.100.4")).status == 200
    assert ingest(pageview("/docs/api/v1", "198.51.100.4")).status == 200
    # WHEN the writer counts them
    assert ingest.drain() == 9  # pageviews only: events are no visits

    # THEN /status shows each goal, in declared order, with exact completions and unique converters
    body = status()
    assert body["unique_visitors_today"] == 4
    assert [r["goal"] for r in body["goals"]] == ["Signup", "Visit /thanks*", "Visit /docs/**"]
    assert by_goal(body["goals"]) == {
        "Signup": (4, 3, 0.75),
        "Visit /thanks*": (3, 2, 0.5),
        "Visit /docs/**": (1, 1, 0.25),
    }
    assert [(r["kind"], r["target"]) for r in body["goals"]] == [
        ("event", "Signup"),
        ("page", "/thanks*"),
        ("page", "/docs/**"),
    ]
    # AND a range (named or explicit days) merges the same sketches and sums the same counters
    week = status({"range": "7d"})["range"]
    assert week["unique_visitors"] == 4
    assert by_goal(week["goals"]) == by_goal(body["goals"])
    today = body["generated_at"][:10]
    explicit = status({"from": today, "to": today})["range"]
    assert by_goal(explicit["goals"]) == by_goal(body["goals"])


def test_a_redelivered_completion_is_not_counted_twice(goals_ingest: Ingest) -> None:
    ingest = goals_ingest
    # GIVEN a signup taken off the queue, and SQS delivering it again after the writer counted it
    ingest(pageview("/", "198.51.100.9"))
    ingest(signup("198.51.100.9"))
    messages = receive_batch(ingest.resources)
    assert len(messages) == 2
    for _ in range(2):
        for message in messages:
            send_raw(ingest.resources, message["Body"])
        # WHEN the writer sees each copy in its own batch
        assert drain_queue(ingest.resources).failures == []
    # THEN the completion is counted once, the converter once
    assert by_goal(status()["goals"])["Signup"] == (1, 1, 1.0)


@pytest.mark.parametrize("dynamodb_backend", BOTH_BACKENDS, indirect=True)
def test_a_day_that_starts_with_an_event_goal_keeps_its_converters(goals_ingest: Ingest) -> None:
    # GIVEN a day whose first batch is one signup, no pageview yet (a sketch item with no visitors)
    goals_ingest(signup("198.51.100.5"))
    goals_ingest.drain()
    assert by_goal(status()["goals"])["Signup"] == (1, 1, 0.0)  # no visitor yet: a rate of 0, not an error
    # WHEN the same visitor views a page, in a later batch
    goals_ingest(pageview("/", "198.51.100.5"))
    goals_ingest.drain()
    # THEN the sketch item keeps the goal's converter beside the visitor
    body = status()
    assert body["unique_visitors_today"] == 1
    assert by_goal(body["goals"])["Signup"] == (1, 1, 1.0)


def test_automated_traffic_completes_no_goal(goals_ingest: Ingest) -> None:
    # GIVEN a crawler reading the thank-you page and a person who reaches it
    crawler = rest_event(query={"page": "/thanks"}, headers={"User-Agent": "Googlebot/2.1"}, source_ip="66.249.66.1")
    goals_ingest(crawler)
    goals_ingest(pageview("/thanks", "198.51.100.7"))
    goals_ingest.drain()
    # THEN only the person converts
    assert by_goal(status()["goals"])["Visit /thanks*"] == (1, 1, 1.0)


def test_status_without_goals_lists_none(ingest: Ingest) -> None:
    ingest(pageview("/thanks", "198.51.100.7"))
    ingest.drain()
    body = status({"range": "7d"})
    assert body["goals"] == [] and body["range"]["goals"] == []


def test_status_reads_the_same_items_with_goals_whatever_their_traffic(
    goals_ingest: Ingest, aws_calls: CallCounter
) -> None:
    # GIVEN goals completed by a few visitors, then by many more
    def traffic(first: int, count: int) -> None:
        for n in range(first, first + count):
            ip = f"198.51.{n // 250}.{n % 250 + 1}"
            goals_ingest(pageview("/thanks", ip))
            goals_ingest(signup(ip))
        goals_ingest.drain()

    def measured() -> tuple[dict[str, Any], list[str], int]:
        aws_calls.take()
        before = aws_calls.items_read
        body = status()
        return body, aws_calls.take(), aws_calls.items_read - before

    status()  # the owner's token is issued on first use: measure the reads of a warm environment
    traffic(0, 3)
    small, few_calls, few_items = measured()
    traffic(3, 60)
    large, many_calls, many_items = measured()
    # THEN the same calls and the same number of items were read, and the numbers grew
    assert few_calls == many_calls
    assert few_calls.count("Query") == 1
    assert few_items == many_items
    assert by_goal(small["goals"])["Signup"] == (3, 3, 1.0)
    assert by_goal(large["goals"])["Signup"] == (63, 63, 1.0)


# --- the converters' sketches under races (the writer's own interface, one environment per writer) -----


def _converters(table_name: str, goal: str) -> int:
    """A goal's unique converters today, from every sketch item of the day as /status reads them."""
    from functions.model import goals as goal_model
    from functions.model.keys import day_of
    from functions.tables import aggstore

    items = aggstore.read_names(table_name, day_of(datetime.now(UTC)))
    (declared,) = [g for g in parse_goals(GOALS) if g.label == goal]
    return goal_model.converter_sketch(items, declared).estimate()


def _write(table_name: str, sketches: SketchShards, visits: list[Visit]) -> int:
    writer = BatchWriter(table_name, 30, Namers(lambda ua: "Chrome", lambda ua: "bot"), sketches=sketches,
                         goals=parse_goals(GOALS))
    outcome = writer.write([Message(f"m-{v.visit_id}", v.to_json()) for v in visits])
    assert outcome.failed == {}
    return outcome.uniques_deferred


def test_writers_on_the_same_shard_keep_each_others_converters(pipeline_resources: PipelineResources) -> None:
    # GIVEN two execution environments that picked the same sketch shard, taking turns
    first, second = SketchShards(shard=3), SketchShards(shard=3)
    for env, prefix in ((first, "a"), (second, "b"), (first, "c")):
        batch = [make_visit(path="/thanks", visitor=f"{prefix}{i}") for i in range(10)]
        assert _write(pipeline_resources.table_name, env, batch) == 0
    # THEN the shard holds all 30 converters (each write re-read and merged on top of the other's)
    assert _converters(pipeline_resources.table_name, "Visit /thanks*") == 30


def test_converters_that_lose_every_race_wait_for_the_next_batch(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.tables import aggstore

    # GIVEN another writer that wins every race on this environment's sketch shard
    real = aggstore.write_sketch
    monkeypatch.setattr(aggstore, "write_sketch", lambda *a, **k: False)
    env = SketchShards(shard=1)
    signups = [make_visit(path="/", event="Signup", counted=False, visitor=f"s{i}") for i in range(4)]
    # THEN the converters (and the visitors) wait
    assert _write(pipeline_resources.table_name, env, signups) == 4
    assert _converters(pipeline_resources.table_name, "Signup") == 0
    # WHEN the race is over, the next batch merges the waiting converters too
    monkeypatch.setattr(aggstore, "write_sketch", real)
    assert _write(pipeline_resources.table_name, env, [make_visit(path="/thanks", visitor="later")]) == 0
    assert _converters(pipeline_resources.table_name, "Signup") == 4
    assert _converters(pipeline_resources.table_name, "Visit /thanks*") == 1
