"""1,000 visits from 16 concurrent clients through local mode: every visit answered, counted once, logged once."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from functions.model.visit import utc_now
from tests.e2e.localmode import LocalMode, count_log_items, pages_today, queue_depth, wait_for
from tests.support.events import DEFAULT_UA

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-processes")]

VISITS = 1000
CLIENTS = 16
PAGES = ("/", "/blog", "/about", "/pricing")


def test_thousand_concurrent_visits_are_counted_logged_and_reported(local_mode: LocalMode) -> None:
    # GIVEN local mode (shared: what its other tests did is read first) and 16 clients sharing a pool of
    # 16 connections
    dynamodb, sqs = local_mode.client("dynamodb"), local_mode.client("sqs")
    table = local_mode.state.table_name
    assert wait_for(
        lambda: count_log_items(dynamodb, table, counted_only=True) == local_mode.status()["visitor_count"], timeout=30
    ), "the shared local mode still has counted visits to write"
    before, pages_before = local_mode.status(), pages_today(local_mode, PAGES)
    logged_before = count_log_items(dynamodb, table)
    counted_before = count_log_items(dynamodb, table, counted_only=True)
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    headers = {"User-Agent": DEFAULT_UA, "Referer": "https://news.example.com/post"}

    with httpx.Client(base_url=local_mode.url, limits=limits, headers=headers, timeout=30) as http:

        def visit(i: int) -> tuple[int, float, int | None]:
            started = time.perf_counter()
            response = http.get("/", params={"page": PAGES[i % len(PAGES)]})
            elapsed = time.perf_counter() - started
            count = response.json().get("visitor_count") if response.status_code == 200 else None
            return response.status_code, elapsed, count

        # WHEN 1,000 visits are made concurrently
        day = utc_now().date()
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(visit, range(VISITS)))
        duration = time.perf_counter() - started

    latencies = sorted(r[1] for r in results)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"\n{VISITS} visits, {CLIENTS} clients: {VISITS / duration:.0f} visits/s, "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    )

    # THEN every visit was answered 200 with its own count: the atomic counter gave out the next 1,000 numbers
    start = before["visitor_count"]
    assert [r[0] for r in results if r[0] != 200] == []
    assert sorted(r[2] for r in results if r[2] is not None) == list(range(start + 1, start + VISITS + 1))

    # ... the writer logged each visit exactly once, and the queue is empty
    drain_started = time.perf_counter()
    logged = wait_for(
        lambda: (
            count_log_items(dynamodb, table) >= logged_before + VISITS
            and queue_depth(sqs, local_mode.state.queue_url) == 0
        ),
        timeout=180,
        interval=1,
    )
    print(f"queue drained {time.perf_counter() - drain_started:.1f} s after the last answer")
    assert logged, local_mode.output()[-3000:]
    assert count_log_items(dynamodb, table) == logged_before + VISITS
    assert count_log_items(dynamodb, table, counted_only=True) == counted_before + VISITS

    # ... and /status agrees with both
    status = local_mode.status()
    assert status["visitor_count"] == start + VISITS
    assert status["visits_last_24h"] == before["visits_last_24h"] + VISITS
    assert sum(h["visits"] for h in status["hourly"]) == sum(h["visits"] for h in before["hourly"]) + VISITS
    assert status["queue_depth"] == 0 and status["dlq_depth"] == 0
    if utc_now().date() == day:  # the tallies are today's: skip them if the run crossed midnight UTC
        grown = Counter(pages_today(local_mode, PAGES)) - Counter(pages_before)
        assert grown == Counter(dict.fromkeys(PAGES, VISITS // len(PAGES)))
        assert _referrers(status) - _referrers(before) == Counter({"news.example.com": VISITS})


def _referrers(body: dict[str, Any]) -> Counter[str]:
    return Counter({row["referrer"]: row["visits"] for row in body["top_referrers"]})
