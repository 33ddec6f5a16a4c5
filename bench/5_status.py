"""Figure 5 — /status reads the same whatever the traffic: 1,000 against 100,000 visits.

Each dataset (visits over the last 24 hours) is built in a fresh table of AWS's DynamoDB Local, in
bulk: the aggregates of all the visits folded by ``fold.fold`` and applied with one
``aggstore.update_action`` per item (day, hour and per-name tallies: what the writer's
transactions add, minus the per-batch split), the visitors merged into the ``UNIQUES_SHARDS``
sketch shards with ``aggstore.write_sketch``, and the counter. The visits' log items are left out:
they live in partitions no /status read touches (DynamoDB reads a Query's one partition, whatever
the rest of the table holds), and 100,000 BatchWriteItem entries cost minutes of emulator time.
The status function's CPU is this process's CPU time: DynamoDB Local runs in its own JVM, so the
emulator's work is not in the figure (with moto in process, it was most of it). Without Java the
figure falls back to moto in process, log items included, and says its CPU includes moto's. Then
``GET /status`` goes through ``functions.status.handler``: one BatchGetItem (counter shards, 8 day
items, 2 hour items), one Query of today's name partition, GetQueueAttributes for the queue and
the DLQ (and GetMetricData at most once a minute). Every AWS call and every item returned is
counted with botocore hooks. The goal: identical calls at both sizes, and items read bounded by
the keys and the caps, not by the traffic.
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
from bench.harness import Result, emit, median, table  # noqa: E402
from functions.model import attrs, fold, layout  # noqa: E402
from tests.support.calls import CallCounter  # noqa: E402
from visitor_tracker.events import LambdaContext  # noqa: E402

harness.setup_env()

SIZES = (1_000, 10_000, 100_000)  # 2,000 distinct visitors at most: 10,000 and 100,000 have the same
REQUESTS = 5
RANGES = ("30d", "12mo")  # one request each, after the plain ones
GOALS = "page:/page/1*,Signup"  # declared, so /status reads and shows goals (page /page/1x: 11 of 20 pages)
CPU_FLAT = 1.25  # "flat": the bigger dataset's median CPU within a quarter of the smaller one's (run-to-run noise)


def populate(table_name: str, visits: int, *, log_items: bool, shards: int = 1) -> tuple[float, int, int]:
    """Record ``visits`` visits over the last 24 hours (aggregates + sketches + counter, and with
    ``log_items`` their log items, straight into moto's backend); returns the seconds it took and
    today's true numbers of distinct (human) visitors and of human visits. ``shards``: the aggregates spread over that
    many aggregate shards, as that many writers would leave them."""
    import boto3

    from functions.core.goals import parse_goals
    from functions.model import goals, keys
    from functions.model.bots import agent_of
    from functions.model.browsers import browser_of
    from functions.model.sketches import Sketch
    from functions.tables import aggstore
    from functions.tables.visitlog import to_log_item

    declared = parse_goals(GOALS)
    start = time.perf_counter()
    newest = datetime.now(UTC) - timedelta(seconds=1)
    step_ms = max(1, int(timedelta(hours=24).total_seconds() * 1000) // visits)
    batch = [
        # newest first, so both sizes have visits in the current and the previous hour (same items exist)
        harness.bench_visit(i, when=newest - timedelta(milliseconds=i * (step_ms + 1)), bot=i % 10 == 0, visitors=2_000)
        for i in range(visits)
    ]
    if log_items:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        for visit in batch:
            backend.put_item(table_name, to_log_item(visit, 30))
    # One fold of every visit: one ADD per aggregate item, as a single huge writer batch would do.
    client = boto3.client("dynamodb")
    for shard in range(shards):
        deltas = fold.fold(batch[shard::shards], fold.Namers(browser_of, agent_of), declared).values()
        packs: dict[tuple[str, str], int] = {}

        def slot(day: str, dim: str, name: str, packs: dict[tuple[str, str], int] = packs) -> int:
            return packs.setdefault((dim, name), len(packs) // 20)

        for delta in fold.pack(deltas, slot):
            client.update_item(**aggstore.update_action(table_name, delta, shard)["Update"])
    converters = goals.converters(batch, declared)
    for day, members in fold.visitors_by_day(batch).items():
        ordered = sorted(members)
        for shard in range(layout.UNIQUES_SHARDS):  # as many writer environments would spread them
            part = ordered[shard :: layout.UNIQUES_SHARDS]
            if part:
                key, expires = layout.uniques_shard_key(day, shard), layout.uniques_expires_at(day)
                goal_part = {
                    label: Sketch.of(sorted(m)[shard :: layout.UNIQUES_SHARDS]).to_bytes()
                    for (d, label), m in converters.items()
                    if d == day
                }
                aggstore.write_sketch(table_name, key, Sketch.of(part).to_bytes(), 0, expires, goal_part)
    client.update_item(
        TableName=table_name,
        Key=keys.counter_key(0),
        UpdateExpression="ADD visits :n",
        ExpressionAttributeValues={":n": {"N": str(sum(1 for v in batch if v.counted))}},
    )
    today = keys.day_of(datetime.now(UTC))
    distinct = len({v.visitor for v in batch if not v.is_bot and v.visitor and keys.day_of(v.when) == today})
    humans = sum(1 for v in batch if not v.is_bot and keys.day_of(v.when) == today)
    return time.perf_counter() - start, distinct, humans


def aggregate_sizes(table_name: str) -> dict[str, float]:
    """Sizes (KB) of today's day item, this hour's item, the biggest page tally and the biggest uniques
    shard, plus the visitors the shards' union estimates (HyperLogLog: the same size at any count)."""
    import boto3

    from functions.model import keys
    from functions.model.sketches import Sketch
    from functions.tables import aggstore

    client = boto3.client("dynamodb")
    now = datetime.now(UTC)
    day = keys.day_of(now)
    found: dict[str, float] = {}
    for name, key in (("day", keys.day_agg_key(day)), ("hour", keys.hour_agg_key(keys.hour_of(now)))):
        item = client.get_item(TableName=table_name, Key=key).get("Item") or {}
        found[f"{name}_kb"] = harness.item_size(item) / 1024
    names = aggstore.read_names(table_name, day)
    pages = [i for i in names if i[keys.SK]["S"].startswith(layout.PAGE + "#")]
    shards = [i for i in names if i[keys.SK]["S"].startswith(layout.UNIQUES + "#")]
    found["name_kb"] = max((harness.item_size(i) for i in pages), default=0) / 1024
    found["uniques_kb"] = max((harness.item_size(i) for i in shards), default=0) / 1024
    union = Sketch()
    for item in shards:
        union = union.merge(attrs.read_uniques(item).sketch)
    found["visitors"] = union.estimate()
    found["names"] = len(names)
    return found


def measure(visits: int, dynamodb_url: str | None, shards: int = 1) -> dict[str, Any]:
    from tests.support.events import rest_event

    env = {"AGGREGATE_SHARDS": str(shards), "GOALS": GOALS}
    pipeline = (
        harness.local_pipeline(dynamodb_url, prefix=f"status{visits}", extra_env=env)
        if dynamodb_url
        else harness.moto_pipeline(prefix=f"status{visits}", extra_env=env)
    )
    with pipeline:
        from functions.core import aws
        from functions.status import handler as status

        table_name = os.environ["TABLE_NAME"]
        seconds, distinct, humans = populate(table_name, visits, log_items=dynamodb_url is None, shards=shards)
        from functions.model.access import OWNER_ID
        from functions.tables import access

        # /status is private: the owner's token, issued before counting (its check is one GetItem a request)
        owner = {"Authorization": "Bearer " + access.issue(table_name, OWNER_ID, "bench", replace=False).token}
        harness.reset_function_caches()
        clients = [aws.dynamodb(), aws.sqs()] + ([aws.cloudwatch()] if hasattr(aws, "cloudwatch") else [])
        counter = CallCounter().attach(*clients)
        cpu: list[float] = []
        body: dict[str, Any] = {}
        with harness.captured_stdout():
            for _ in range(REQUESTS):
                start = time.process_time()
                response = status.handler(rest_event("/status", headers=owner), LambdaContext(function_name="status"))
                cpu.append((time.process_time() - start) * 1000)
                if response.get("statusCode") != 200:
                    raise RuntimeError(f"status answered {response.get('statusCode')}: {response.get('body')}")
                body = json.loads(response["body"])
        counter.detach()
        ranges: dict[str, dict[str, Any]] = {}
        for name in RANGES:
            ranged = CallCounter().attach(*clients)
            with harness.captured_stdout():
                event = rest_event("/status", query={"range": name}, headers=owner)
                response = status.handler(event, LambdaContext(function_name="status"))
            ranged.detach()
            if response.get("statusCode") != 200:
                raise RuntimeError(f"status?range={name} answered {response.get('statusCode')}: {response.get('body')}")
            ranges[name] = {"calls": ranged.total(), "items": ranged.items_read, "breakdown": ranged.breakdown()}
        sizes = aggregate_sizes(os.environ["TABLE_NAME"])
    return {
        "ranges": ranges,
        "sizes": sizes,
        "distinct_visitors": distinct,
        "human_visits_today": humans,
        "populate_s": seconds,
        "calls": counter.total() / REQUESTS,
        "breakdown": counter.breakdown(),
        "items": counter.items_read / REQUESTS,
        "cpu_ms": median(cpu),
        "visitor_count": body.get("visitor_count"),
        "visits_today": body.get("visits_today"),
        "goals": body.get("goals") or [],
    }


def items_bound(counter_shards: int = 1) -> int:
    """The most items one /status can read: its fixed keys plus a full name partition."""
    return counter_shards + layout.DAYS_READ + 2 + layout.NAMES_READ_MAX


SHARDED = 8  # AGGREGATE_SHARDS of the sharded rows (a stack sized for a few thousand visits/s)


def measure_all(sizes: tuple[int, ...]) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]], str]:
    """Every size on DynamoDB Local (one server), or on moto in process without Java; then the
    smallest and the largest with the aggregates over ``SHARDED`` shards."""
    from visitor_tracker.dynamodb_local import DynamoDBLocalError

    ends = (sizes[0], sizes[-1])
    try:
        with harness.dynamodb_local() as url:
            plain = {n: measure(n, url) for n in sizes}
            return plain, {n: measure(n, url, SHARDED) for n in ends}, "DynamoDB Local"
    except DynamoDBLocalError as exc:
        emit(f"(DynamoDB Local unavailable: {exc}; figure 5 runs on moto in process, its CPU included)")
        return {n: measure(n, None) for n in sizes}, {n: measure(n, None, SHARDED) for n in ends}, "moto"


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    sizes = (1_000, 5_000, 20_000) if quick else SIZES
    results, sharded, engine = measure_all(sizes)
    rows = [
        [f"{n:,} visits", r["calls"], r["items"], r["cpu_ms"], r["visitor_count"], r["populate_s"], r["breakdown"]]
        for n, r in results.items()
    ]
    small, mid, big = results[sizes[0]], results[sizes[1]], results[sizes[-1]]
    size_rows = [
        [
            f"{n:,} visits",
            r["sizes"]["day_kb"],
            r["sizes"]["hour_kb"],
            r["sizes"]["name_kb"],
            r["sizes"]["uniques_kb"],
            int(r["sizes"]["names"]),
            int(r["sizes"]["visitors"]),
            r["distinct_visitors"],
        ]
        for n, r in results.items()
    ]
    bound = items_bound()
    emit(
        table(
            f"Figure 5 — GET /status per request ({REQUESTS} requests each; calls over all of them on the right)",
            [
                "logged visits",
                "AWS calls",
                "items read",
                "CPU ms (median)",
                "visitor_count",
                "populate s",
                f"calls in {REQUESTS} requests",
            ],
            rows,
        )
        + f"\nGoal: the same calls at {sizes[0]:,} and {sizes[-1]:,} visits: "
        + ("met" if small["calls"] == big["calls"] else "MISSED")
        + f"; items read at most {bound:,} (the keys plus one name partition under the caps): "
        + ("met" if max(small["items"], big["items"]) <= bound else "MISSED")
        + f".\nThe status function's CPU per request (on {engine}"
        + f"{', in its own process: not counted' if engine == 'DynamoDB Local' else ', counted'}): "
        + f"{sizes[-1]:,} vs {sizes[1]:,} visits {big['cpu_ms'] / mid['cpu_ms']:.2f}x: "
        + ("flat" if big["cpu_ms"] <= CPU_FLAT * mid["cpu_ms"] else "NOT FLAT")
        + f" (goal: at most {CPU_FLAT}x); {sizes[-1]:,} vs {sizes[0]:,} visits "
        + f"{big['cpu_ms'] / small['cpu_ms']:.2f}x. What grows with the visitors is bounded: the uniques\n"
        "sketches stop growing at 2 KB each (a merge of 8 shards), the name partition at the caps.\n"
        "The first request's calls include GetMetricData (the oldest-message age, at most once a minute).\n"
        + f"Goals declared ({GOALS}): their completions are counters of the day item and their converters\n"
        "attributes of the uniques items, so they add no call and no item: "
        + "; ".join(
            f"{n:,} visits: "
            + ", ".join(f"{g['goal']} {g['completions']:,} / {g['unique_converters']:,} ({g['conversion_rate']:.0%})"
                        for g in r["goals"])
            for n, r in results.items()
        )
        + ".\n\n"
        + table(
            "Aggregate items after loading (DynamoDB item sizes: what each aggregate update pays write units on; "
            "20 pages)",
            [
                "logged visits",
                "day item KB",
                "hour item KB",
                "page tally KB",
                "uniques shard KB",
                "name items today",
                "visitors (sketch)",
                "visitors (true)",
            ],
            size_rows,
        )
        + "\n"
    )
    range_rows = [
        [f"?range={name}", f"{n:,} visits", r["ranges"][name]["calls"], r["ranges"][name]["items"],
         r["ranges"][name]["breakdown"]]
        for name in RANGES
        for n, r in results.items()
    ]
    flat = all(
        small["ranges"][name]["calls"] == big["ranges"][name]["calls"]
        and small["ranges"][name]["items"] == big["ranges"][name]["items"]
        for name in RANGES
    )
    emit(
        table(
            "Figure 5b — GET /status?range= (one request each): one day item and one name partition per day, "
            "finished months from their rollups",
            ["range", "logged visits", "AWS calls", "items read", "calls"],
            range_rows,
        )
        + f"\nGoal: the same calls and items at {sizes[0]:,} and {sizes[-1]:,} visits: {'met' if flat else 'MISSED'}.\n"
    )
    s_small, s_big = sharded[sizes[0]], sharded[sizes[-1]]
    s_bound = SHARDED * (layout.DAYS_READ + 2 + layout.NAMES_READ_MAX) + 1
    s_exact = all(r["visits_today"] == r["human_visits_today"] for r in sharded.values())
    s_flat = s_small["calls"] == s_big["calls"] and max(s_small["items"], s_big["items"]) <= s_bound and s_exact
    emit(
        f"Figure 5c — GET /status with AGGREGATE_SHARDS={SHARDED}: "
        f"{s_small['calls']:.1f} / {s_big['calls']:.1f} calls, "
        f"{s_small['items']:.0f} / {s_big['items']:.0f} items at {sizes[0]:,} / {sizes[-1]:,} visits "
        f"(visits_today summed over the shards: {s_big['visits_today']:,}, loaded "
        f"{s_big['human_visits_today']:,}); goal: equal calls, items at most {s_bound:,}, the same "
        f"visits_today: {'met' if s_flat else 'MISSED'}.\n"
    )
    if measured is not None:
        measured.update(
            day_item_kb=big["sizes"]["day_kb"],
            hour_item_kb=big["sizes"]["hour_kb"],
            uniques_item_kb=big["sizes"]["uniques_kb"],
            name_item_kb=big["sizes"]["name_kb"],
            status_calls=big["calls"],
            status_items_read=big["items"],
        )
    return [
        *(
            Result(
                "5 status",
                f"AWS calls, items per /status?range={name}, {sizes[-1]:,} vs {sizes[0]:,} visits",
                f"{big['ranges'][name]['calls']}, {big['ranges'][name]['items']}",
                f"{small['ranges'][name]['calls']}, {small['ranges'][name]['items']}",
                "equal",
                big["ranges"][name]["calls"] == small["ranges"][name]["calls"]
                and big["ranges"][name]["items"] == small["ranges"][name]["items"],
            )
            for name in RANGES
        ),
        Result(
            "5 status",
            f"AWS calls per /status, {sizes[-1]:,} vs {sizes[0]:,} visits",
            big["calls"],
            small["calls"],
            "equal",
            big["calls"] == small["calls"],
        ),
        Result(
            "5 status",
            f"AWS calls, items per /status with {SHARDED} aggregate shards, {sizes[-1]:,} vs {sizes[0]:,} visits",
            f"{s_big['calls']:.1f}, {s_big['items']:.0f}",
            f"{s_small['calls']:.1f}, {s_small['items']:.0f}",
            f"equal calls, items <= {s_bound:,}, exact",
            s_flat,
        ),
        Result(
            "5 status",
            f"items read per /status, {sizes[-1]:,} vs {sizes[0]:,} visits",
            big["items"],
            small["items"],
            f"<= {bound:,}",
            max(big["items"], small["items"]) <= bound,
        ),
        Result(
            "5 status",
            f"status CPU ms per /status ({engine}), {sizes[-1]:,} vs {sizes[1]:,} visits (same visitors)",
            round(big["cpu_ms"], 2),
            round(mid["cpu_ms"], 2),
            f"<= {CPU_FLAT}x",
            big["cpu_ms"] <= CPU_FLAT * mid["cpu_ms"] if engine == "DynamoDB Local" else None,
        ),
    ]


if __name__ == "__main__":
    run("--quick" in sys.argv)
