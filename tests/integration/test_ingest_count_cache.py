"""COUNT_CACHE_SECONDS: an execution environment reads the counter at most once per interval, and the
count it answers in between is never above the true count (issue 24, figure 10)."""

from __future__ import annotations

import random

import pytest

from functions.core.settings import get_settings
from functions.ingest import service
from tests.integration.conftest import Ingest
from tests.support.calls import CallCounter
from tests.support.events import http_v2_event, rest_event
from tests.support.pipeline import make_visit

BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


class Clock:
    """The count cache's clock, moved on by the test (never the wall clock)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(service, "clock", fake)
    return fake


def test_one_counter_read_per_interval_per_environment(
    ingest: Ingest, aws_calls: CallCounter, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN ingest with a 1 s count cache
    ingest.configure(monkeypatch, COUNT_CACHE_SECONDS="1")
    # WHEN 40 visits arrive within the same second
    answers = [ingest(rest_event(query={"page": "/a"})).body["visitor_count"] for _ in range(40)]
    # THEN the counter is read once, and each visit still gets its own number
    assert aws_calls.operations["GetItem"] == 1
    assert aws_calls.operations["SendMessage"] == 40
    assert answers == list(range(1, 41))
    # AND once the interval has passed, the next visit reads the counter again
    clock.now += 1.0
    ingest(http_v2_event())
    assert aws_calls.operations["GetItem"] == 2


def test_without_the_setting_every_visit_reads_the_counter(ingest: Ingest, aws_calls: CallCounter) -> None:
    for _ in range(5):
        ingest(rest_event())
    assert aws_calls.operations["GetItem"] == 5


def test_a_cached_answer_is_never_above_the_true_count(
    ingest: Ingest, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN one environment with a 2 s cache, among others whose visits the writer counts meanwhile
    ingest.configure(monkeypatch, COUNT_CACHE_SECONDS="2")
    rng = random.Random(24)
    counted = 0  # humans sent so far, through this environment or the others: the true count once written
    answers: list[int] = []
    for step in range(120):
        action = rng.random()
        if action < 0.15:
            clock.now += rng.choice((0.5, 1.0, 2.5))
            continue
        if action < 0.25:
            ingest.drain()  # the writer catches up: the stored count moves past this environment's answer
            continue
        if action < 0.35:
            # another execution environment's visit: on the queue, counted by the writer, never answered here
            service.queue.send_visit(get_settings(), make_visit(visit_id=f"other-{step}"))
            counted += 1
            continue
        bot = action > 0.9
        result = ingest(rest_event(headers={"User-Agent": BOT_UA} if bot else None, request_id=f"v-{step}"))
        counted += 0 if bot else 1
        answers.append(result.body["visitor_count"])
        # THEN no answer is ever above the number of counted visits sent so far, this one included
        assert answers[-1] <= counted
    # AND the answers of this environment never go backwards, and once drained and past the interval
    # the count is exact again
    assert answers == sorted(answers)
    assert ingest.drain() == counted
    clock.now += 2.0
    assert ingest(rest_event()).body["visitor_count"] == counted + 1
