"""Figure 5 — /status reads the same whatever the traffic: 1,000 against 100,000 logged visits.

Each dataset (visits over the last 24 hours) is built in a fresh in-process moto table, in bulk:
the aggregates of all the visits folded by ``aggregates.fold`` and applied with one
``store.aggregate_update`` per item and one ``store.sketch_update`` for the uniques sketch (what
the writer's transactions do, minus the per-batch split), the counter, and the log items built by
``logitem.to_log_item`` and loaded straight into moto's table (100,000 BatchWriteItem entries
through botocore cost minutes of emulator time here, and /status never reads them). Then
``GET /status`` goes through ``functions.status.handler`` and every AWS call and every item returned is counted with
botocore hooks. The goal: identical calls and items read at both sizes (and similar CPU time).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness  # noqa: E402
from bench.harness import CallCounter, Result, emit, median, table  # noqa: E402
from visitor_tracker.events import LambdaContext  # noqa: E402

harness.setup_env()

SIZES = (1_000, 100_000)
REQUESTS = 5


def populate(table_name: str, visits: int) -> tuple[float, int]:
    """Log ``visits`` visits over the last 24 hours (log items + aggregates + counter); returns the
    seconds it took and today's true number of distinct (human) visitors."""
    import boto3
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from functions.common import aggregates, keys, store
    from functions.common.bots import browser_of
    from functions.common.hll import Sketch
    from functions.common.logitem import to_log_item

    start = time.perf_counter()
    newest = datetime.now(UTC) - timedelta(seconds=1)
    step_ms = max(1, int(timedelta(hours=24).total_seconds() * 1000) // visits)
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    batch = [
        # newest first, so both sizes have visits in the current and the previous hour (same items exist)
        harness.bench_visit(i, when=newest - timedelta(milliseconds=i * (step_ms + 1)), bot=i % 10 == 0, visitors=2_000)
        for i in range(visits)
    ]
    for visit in batch:
        backend.put_item(table_name, to_log_item(visit, 30))
    # One fold of every visit: one ADD per aggregate item, as a single huge writer batch would do.
    client = boto3.client("dynamodb")
    for delta in aggregates.fold(batch, browser_of).values():
        if aggregates.is_uniques_key(delta.key):
            sketch = Sketch.of(delta.members).to_bytes()
            client.update_item(**store.sketch_update(table_name, delta.key, sketch, 0, delta.expires_at))
        else:
            client.update_item(**store.aggregate_update(table_name, delta))
    client.update_item(
        TableName=table_name,
        Key=keys.counter_key(0),
        UpdateExpression="ADD visits :n",
        ExpressionAttributeValues={":n": {"N": str(sum(1 for v in batch if v.counted))}},
    )
    today = keys.day_of(datetime.now(UTC))
    distinct = len({v.visitor for v in batch if not v.is_bot and v.visitor and keys.day_of(v.when) == today})
    return time.perf_counter() - start, distinct


def aggregate_sizes(table_name: str) -> dict[str, float]:
    """Sizes (KB) of today's day item, this hour's item and today's uniques item, plus the visitors it
    estimates (a HyperLogLog sketch: the same size at any count)."""
    import boto3

    from functions.common import aggregates, keys

    client = boto3.client("dynamodb")
    now = datetime.now(UTC)
    found: dict[str, float] = {}
    for name, key in (
        ("day", keys.day_agg_key(keys.day_of(now))),
        ("hour", keys.hour_agg_key(keys.hour_of(now))),
        ("uniques", keys.uniques_key(keys.day_of(now))),
    ):
        item = client.get_item(TableName=table_name, Key=key).get("Item") or {}
        found[f"{name}_kb"] = harness.item_size(item) / 1024
        if name == "uniques":
            found["visitors"] = aggregates.read_uniques(item).sketch.estimate()
    return found


def measure(visits: int) -> dict[str, Any]:
    from tests.events import rest_event

    with harness.moto_pipeline(prefix=f"status{visits}"):
        from functions.common import aws
        from functions.status import handler as status

        seconds, distinct = populate(os.environ["TABLE_NAME"], visits)
        harness.reset_function_caches()
        clients = [aws.dynamodb(), aws.sqs()] + ([aws.cloudwatch()] if hasattr(aws, "cloudwatch") else [])
        counter = CallCounter().attach(*clients)
        cpu: list[float] = []
        body: dict[str, Any] = {}
        with harness.captured_stdout():
            for _ in range(REQUESTS):
                start = time.process_time()
                response = status.handler(rest_event("/status"), LambdaContext(function_name="status"))
                cpu.append((time.process_time() - start) * 1000)
                if response.get("statusCode") != 200:
                    raise RuntimeError(f"status answered {response.get('statusCode')}: {response.get('body')}")
                body = json.loads(response["body"])
        counter.detach()
        sizes = aggregate_sizes(os.environ["TABLE_NAME"])
    return {
        "sizes": sizes,
        "distinct_visitors": distinct,
        "populate_s": seconds,
        "calls": counter.total() / REQUESTS,
        "breakdown": counter.breakdown(),
        "items": counter.items_read / REQUESTS,
        "cpu_ms": median(cpu),
        "visitor_count": body.get("visitor_count"),
    }


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    sizes = (1_000, 20_000) if quick else SIZES
    results = {n: measure(n) for n in sizes}
    rows = [
        [f"{n:,} visits", r["calls"], r["items"], r["cpu_ms"], r["visitor_count"], r["populate_s"],
         r["breakdown"]]
        for n, r in results.items()
    ]
    small, big = results[sizes[0]], results[sizes[-1]]
    size_rows = [
        [f"{n:,} visits", r["sizes"]["day_kb"], r["sizes"]["hour_kb"], r["sizes"]["uniques_kb"],
         int(r["sizes"]["visitors"]), r["distinct_visitors"]]
        for n, r in results.items()
    ]
    emit(
        table(
            f"Figure 5 — GET /status per request ({REQUESTS} requests each; calls over all of them on the right)",
            ["logged visits", "AWS calls", "items read", "CPU ms (median)", "visitor_count", "populate s",
             f"calls in {REQUESTS} requests"],
            rows,
        )
        + f"\nGoal: the same calls and items read at {sizes[0]:,} and {sizes[-1]:,} visits: "
        + ("met" if (small["calls"], small["items"]) == (big["calls"], big["items"]) else "MISSED")
        + f"; CPU per request {big['cpu_ms'] / small['cpu_ms']:.2f}x.\n\n"
        + table(
            "Aggregate items after loading (DynamoDB item sizes: what each aggregate update pays write units on; "
            "20 pages, 2 browsers)",
            ["logged visits", "day item KB", "hour item KB", "uniques item KB", "visitors (sketch)",
             "visitors (true)"],
            size_rows,
        )
        + "\n"
    )
    if measured is not None:
        measured.update(
            day_item_kb=big["sizes"]["day_kb"],
            hour_item_kb=big["sizes"]["hour_kb"],
            uniques_item_kb=big["sizes"]["uniques_kb"],
        )
    return [
        Result("5 status", f"AWS calls per /status, {sizes[-1]:,} vs {sizes[0]:,} visits", big["calls"],
               small["calls"], "equal", big["calls"] == small["calls"]),
        Result("5 status", f"items read per /status, {sizes[-1]:,} vs {sizes[0]:,} visits", big["items"],
               small["items"], "equal", big["items"] == small["items"]),
        Result("5 status", f"CPU ms per /status, {sizes[-1]:,} vs {sizes[0]:,} visits", round(big["cpu_ms"], 2),
               round(small["cpu_ms"], 2), "", None),
    ]


if __name__ == "__main__":
    run("--quick" in sys.argv)
