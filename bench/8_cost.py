"""Figure 8 — cost per million visits: ours (ingest -> SQS -> batched writer) against the baseline.

Pure arithmetic from AWS list prices (us-east-1, on-demand, free tiers ignored), so the comparison
holds for any volume above the free tiers. Durations are assumptions (we have no AWS account to
measure billed durations): each AWS call in the request path costs network time, the handler's own
CPU and log bytes come from figure 2 and the aggregate item sizes from figure 5 when run_all passes
them in. Every assumption is printed next to the result.

Prices, checked on 2026-11-26 with the search tool (``verified``) or taken from the brief (``brief``):
- API Gateway REST $3.50/M (first 333M), HTTP API $1.00/M (first 300M), function URL no extra
  charge: https://aws.amazon.com/api-gateway/pricing/ , https://aws.amazon.com/lambda/pricing/
  (verified: AWS whitepaper "Best Practices for Designing Amazon API Gateway Private APIs", table 4).
- Lambda $0.20/M requests, arm64 $0.0000133334/GB-s (first 7.5 billion GB-s):
  https://aws.amazon.com/lambda/pricing/ (verified: Lambda pricing page copy and two guides).
- SQS standard $0.40/M requests, each 64 KB chunk of a payload is one request:
  https://aws.amazon.com/sqs/pricing/ (verified: two 2026 guides quoting the pricing page).
- DynamoDB on-demand $0.625/M write request units, $0.125/M read request units (since the
  November 2024 50 % cut); transactional writes 2 WRU per KB, standard 1 WRU per KB of the item
  (an update is charged on the larger of the item before and after):
  https://aws.amazon.com/dynamodb/pricing/on-demand/ (verified: pricing guides dated 2025).
- CloudWatch Logs ingestion $0.50/GB: https://aws.amazon.com/cloudwatch/pricing/ (brief; one 2026
  guide agrees).
- X-Ray $5.00/M traces recorded: https://aws.amazon.com/xray/pricing/ (verified: the pricing page).
- CloudWatch standard alarm $0.10/alarm-month: https://aws.amazon.com/cloudwatch/pricing/ (not verified).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.front_door_cost import front_door_total_per_million  # noqa: E402
from bench.harness import Result, emit, table  # noqa: E402

MILLION = 1_000_000
SECONDS_PER_MONTH = 30 * 86_400


@dataclass(frozen=True)
class Prices:
    rest_per_m: float = 3.50
    http_per_m: float = 1.00
    url_per_m: float = 0.0
    lambda_request_per_m: float = 0.20
    lambda_gb_s: float = 0.0000133334  # arm64
    sqs_per_m: float = 0.40
    wru_per_m: float = 0.625
    rru_per_m: float = 0.125
    logs_per_gb: float = 0.50
    xray_per_m_traces: float = 5.00
    alarm_per_month: float = 0.10


PRICES = Prices()
INGRESS = {"REST API": "rest_per_m", "HTTP API": "http_per_m", "function URL": "url_per_m"}


@dataclass(frozen=True)
class Workload:
    """What one visit costs in units; defaults are assumptions, printed with the results."""

    # Request path (both designs): network time per call, plus the handler's CPU (figure 2).
    dynamodb_call_ms: float = 6.0
    sqs_send_ms: float = 10.0
    ours_cpu_ms: float = 1.0
    baseline_cpu_ms: float = 1.0
    ingest_memory_gb: float = 0.25  # pipeline/functions.py: ingest 256 MB (the baseline gets the same)
    # Writer (ours): one invocation per batch.
    batch_size: int = 100
    distinct_pages: int = 30
    writer_memory_gb: float = 0.5  # pipeline/functions.py: writer 512 MB
    writer_ms_per_batch: float = 150.0
    # Log item size (the seed writes the same item, once, with a plain PutItem).
    log_item_kb: float = 0.6
    # Write units of one whole writer batch: log items (one transactional Put each, 2 WRU per KB),
    # the small aggregate, name and counter items it touches (2 WRU each per transaction) and the
    # sketch write. None: estimated by ``assumed_batch_wru``; bench/run_all.py passes figure 4's
    # measurement on the real items instead.
    batch_wru: float | None = None
    # Ingest reads the count (GetItem, eventually consistent: 0.5 RRU); the seed's UpdateItem returns it.
    ours_counter_rru: float = 0.5
    # SQS consumption by Lambda's event source mapping: receives return at most 10 messages.
    receives_per_batch: float = 10.0
    deletes_per_batch: float = 10.0  # DeleteMessageBatch, 10 entries per call
    # CloudWatch Logs bytes: platform START/END/REPORT lines + what the handler prints (figure 2).
    platform_log_bytes: int = 350
    # Ours: ingest's system log level is WARN (pipeline/functions.py), so Lambda sends no START/REPORT
    # lines for it ("By default, Lambda sets the system log level to INFO. With this setting, Lambda
    # automatically sends start and report log messages": docs.aws.amazon.com/lambda/latest/dg/
    # monitoring-cloudwatchlogs-log-level.html). The writer keeps them, once per batch.
    ours_ingest_platform_log_bytes: int = 0
    ours_log_bytes: int = 0  # ingest prints no metrics line per visit (the writer does, per batch)
    baseline_log_bytes: int = 0
    writer_log_bytes_per_batch: int = 1500  # the batch line + one EMF document
    xray: bool = False
    xray_sampled: float = 0.05  # the default rule: 1 request/s, then 5 %
    # Fixed monthly costs of ours: idle long polls of the event source mapping, alarms.
    idle_pollers: int = 5
    long_poll_seconds: int = 20
    alarms: int = 9


def wru(kb: float, transactional: bool = False) -> float:
    """Write request units of one write of an item of ``kb`` KB (per started KB, x2 in a transaction)."""
    return max(1, math.ceil(kb)) * (2 if transactional else 1)


def billed_ms(ms: float) -> int:
    """Lambda bills duration in 1 ms steps, rounded up."""
    return max(1, math.ceil(ms))


def assumed_batch_wru(w: Workload) -> float:
    """Without figure 4: log Puts + (day, hour, counter + the name packs the batch touches: its
    distinct pages 20 to a pack, one referrer and one browser pack) per transaction of 100 actions,
    2 WRU each, + a 3 WRU sketch write."""
    packs = math.ceil(min(w.batch_size, w.distinct_pages) / 20) + 2
    transactions = max(1, math.ceil((w.batch_size + packs + 3) / 100))
    return w.batch_size * wru(w.log_item_kb, True) + 2 * (3 * transactions + packs) + 3


def ours_per_visit(w: Workload, p: Prices = PRICES, ingress: str = "REST API") -> dict[str, float]:
    """Dollars per visit, by line item, for our pipeline (one counter shard)."""
    ingest_ms = billed_ms(w.dynamodb_call_ms + w.sqs_send_ms + w.ours_cpu_ms)
    batch_wru = w.batch_wru if w.batch_wru is not None else assumed_batch_wru(w)
    writer_log_bytes = (w.platform_log_bytes + w.writer_log_bytes_per_batch) / w.batch_size
    log_bytes = w.ours_ingest_platform_log_bytes + w.ours_log_bytes + writer_log_bytes
    sqs_requests = 1 + (w.receives_per_batch + w.deletes_per_batch) / w.batch_size
    items = {
        "ingress": getattr(p, INGRESS[ingress]) / MILLION,
        "ingest Lambda requests": p.lambda_request_per_m / MILLION,
        "ingest Lambda GB-s": w.ingest_memory_gb * ingest_ms / 1000 * p.lambda_gb_s,
        "SQS send + receive + delete": sqs_requests * p.sqs_per_m / MILLION,
        "writer Lambda (requests + GB-s)": (
            p.lambda_request_per_m / MILLION + w.writer_memory_gb * w.writer_ms_per_batch / 1000 * p.lambda_gb_s
        ) / w.batch_size,
        "DynamoDB writes": batch_wru / w.batch_size * p.wru_per_m / MILLION,
        "DynamoDB reads": w.ours_counter_rru * p.rru_per_m / MILLION,
        "CloudWatch Logs": log_bytes / 1e9 * p.logs_per_gb,
    }
    if w.xray:
        items["X-Ray"] = (w.xray_sampled * (1 + 1 / w.batch_size)) * p.xray_per_m_traces / MILLION
    return items


def baseline_per_visit(w: Workload, p: Prices = PRICES, ingress: str = "REST API") -> dict[str, float]:
    """Dollars per visit, by line item, for the seed's synchronous design."""
    ms = billed_ms(2 * w.dynamodb_call_ms + w.baseline_cpu_ms)
    items = {
        "ingress": getattr(p, INGRESS[ingress]) / MILLION,
        "ingest Lambda requests": p.lambda_request_per_m / MILLION,
        "ingest Lambda GB-s": w.ingest_memory_gb * ms / 1000 * p.lambda_gb_s,
        "SQS send + receive + delete": 0.0,
        "writer Lambda (requests + GB-s)": 0.0,
        "DynamoDB writes": (wru(0.1) + wru(w.log_item_kb)) * p.wru_per_m / MILLION,
        "DynamoDB reads": 0.0,
        "CloudWatch Logs": (w.platform_log_bytes + w.baseline_log_bytes) / 1e9 * p.logs_per_gb,
    }
    if w.xray:
        items["X-Ray"] = w.xray_sampled * p.xray_per_m_traces / MILLION
    return items


def ours_fixed_per_month(w: Workload, p: Prices = PRICES) -> float:
    """Costs that do not depend on traffic: the writer's idle long polls and the alarms."""
    idle_receives = w.idle_pollers * SECONDS_PER_MONTH / w.long_poll_seconds
    return idle_receives * p.sqs_per_m / MILLION + w.alarms * p.alarm_per_month


def per_million(items: dict[str, float]) -> float:
    return sum(items.values()) * MILLION


def break_even_visits(fixed: float, ours_per_m: float, baseline_per_m: float) -> float:
    """Monthly visits above which ours costs less (inf: never, its per-visit cost is not lower)."""
    saving = baseline_per_m - ours_per_m
    return math.inf if saving <= 0 else fixed / saving * MILLION


def _batch_workload(w: Workload, batch: int, pages: int, m: dict[str, float]) -> Workload:
    return replace(
        w,
        batch_size=batch,
        distinct_pages=pages,
        batch_wru=m.get(f"writer_wru_per_batch_b{batch}_p{pages}"),
        receives_per_batch=math.ceil(batch / 10),
        deletes_per_batch=math.ceil(batch / 10),
        writer_ms_per_batch=w.writer_ms_per_batch * max(batch, 10) / 100,
    )


def _script_mix(w: Workload, m: dict[str, float], base_rest: float) -> list[Result]:
    """Issue 21's site script: pageviews with host name and screen class, one request in five a custom event
    (its tallies in the same transaction), priced per request against the seed's REST visit; the write
    units come from figure 4 (``writer_wru_per_batch_mix``) or, run alone, from the assumption plus the
    event, property, host, screen and channel packs a batch touches."""
    measured_wru = m.get("writer_wru_per_batch_mix")
    extra_packs = 5  # event names, property values, hosts, screens, channels: one pack each at these sizes
    wru = measured_wru if measured_wru is not None else assumed_batch_wru(w) + 2 * extra_packs
    wm = replace(w, batch_wru=wru)
    rest = per_million(ours_per_visit(wm, ingress="REST API"))
    url = per_million(ours_per_visit(wm, ingress="function URL"))
    emit(
        f"\nScript mix (pageviews + one event in five, two sites with 3 records in 10 the second's, batch 100, "
        f"30 pages/day; write units "
        f"{'measured (figure 4)' if measured_wru is not None else 'assumed'}: {wru:.1f} per batch): "
        f"REST ${rest:.3f}/M requests ({rest / base_rest:.2f}x the seed on REST, goal <= 1.15x), "
        f"function URL ${url:.3f}/M ({url / base_rest:.2f}x the seed on REST, goal <= 0.5x).\n"
    )
    lake = _lake_write_per_million(w.batch_size)
    emit(
        f"Lake write path (issue 22: every counted visit's row in S3, one gzip object per batch and site-day): "
        f"${lake:.3f}/M visits at batch {w.batch_size} (S3 PUTs, storage of a month, the writer's CPU; goal <= $0.10). "
        f"The script mix with it: REST ${rest + lake:.3f}/M ({(rest + lake) / base_rest:.3f}x the seed), "
        f"function URL ${url + lake:.3f}/M ({(url + lake) / base_rest:.3f}x the seed on REST).\n"
    )
    return [
        Result("8 cost", "script mix (1 event in 5, 2 sites): REST, batch 100", round(rest, 3), round(base_rest, 3),
               "<= 1.15x", rest / base_rest <= 1.15),
        Result("8 cost", "script mix: function URL vs seed on REST", round(url, 3), round(base_rest, 3),
               "<= 0.5x", url / base_rest <= 0.5),
        Result("8 cost", "lake write path $ per million visits, batch 100 (vs seed on REST)", round(lake, 4),
               round(base_rest, 3), "<= $0.10", lake <= 0.10),
        Result("8 cost", "script mix + lake: REST, batch 100", round(rest + lake, 3), round(base_rest, 3)),
    ]


def _lake_write_per_million(batch: int) -> float:
    """Figure 12's price of the lake's write path (its PUT, storage and CPU prices), with its row size and
    CPU as measured there on 2026-12-04 (30 B a gzip row, 25 µs a row), so figure 8 runs alone."""
    import importlib

    lake_figure = importlib.import_module("bench.12_lake")
    return float(lake_figure.write_path_per_million(batch, bytes_per_row=30.0, cpu_s_per_row=25e-6)["total"])


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    m = measured or {}
    w = Workload()
    names = ("ours_cpu_ms", "baseline_cpu_ms", "ours_log_bytes", "baseline_log_bytes", "log_item_kb")
    overrides = [k for k in names if k in m]
    for key in overrides:
        w = replace(w, **{key: int(m[key]) if key.endswith("bytes") else float(m[key])})  # type: ignore[arg-type]
    w = _batch_workload(w, 100, 30, m)
    wru_source = "measured on the real items (figure 4b)" if w.batch_wru is not None else "assumed (assumed_batch_wru)"
    source = (
        f"measured: {', '.join(overrides)} (figures 2 and 4)"
        if overrides
        else "assumed; bench/run_all.py uses figure 2's and 4's measurements"
    )
    emit(
        "Figure 8 — cost per million visits, us-east-1 list prices (free tiers ignored), one counter shard.\n"
        f"Assumptions: DynamoDB call {w.dynamodb_call_ms} ms, SendMessage {w.sqs_send_ms} ms, handler CPU ours "
        f"{w.ours_cpu_ms:.2f} ms / baseline {w.baseline_cpu_ms:.2f} ms,\nstdout bytes per visit ours "
        f"{w.ours_log_bytes} / baseline {w.baseline_log_bytes}; ingest 256 MB arm64 for both; writer "
        f"{w.writer_ms_per_batch:.0f} ms at 512 MB per batch of {w.batch_size};\nlog item {w.log_item_kb:.2f} KB; "
        f"writer write units per batch of 100 at 30 pages/day: {wru_source}.\n"
        f"Source of the handler and log figures: {source}.\n"
    )
    ours = ours_per_visit(w)
    base = baseline_per_visit(w)
    emit(
        table(
            "Line items, $ per million visits (REST API ingress, batch 100, 30 pages/day)",
            ["line item", "ours", "baseline"],
            [[name, ours[name] * MILLION, base.get(name, 0.0) * MILLION] for name in ours],
        )
    )
    ingress_rows = []
    totals: dict[tuple[str, str], float] = {}
    for ingress in INGRESS:
        for xray in (False, True):
            wx = replace(w, xray=xray)
            o = per_million(ours_per_visit(wx, ingress=ingress))
            b = per_million(baseline_per_visit(wx, ingress=ingress))
            if not xray:
                totals[("ours", ingress)], totals[("baseline", ingress)] = o, b
            ingress_rows.append([f"{ingress}{' + X-Ray' if xray else ''}", o, b, f"{o / b:.2f}x"])
    front_door = front_door_total_per_million()
    for ingress in INGRESS:
        o, b = totals[("ours", ingress)] + front_door, totals[("baseline", ingress)] + front_door
        ingress_rows.append([f"{ingress} behind the CloudFront front door", o, b, f"{o / b:.2f}x"])
    headers = ["ingress", "ours", "baseline", "ours/base"]
    emit(
        "\n"
        + table("Total $ per million visits, by ingress (batch 100, 30 pages/day)", headers, ingress_rows)
        + f"\n(front_door=cloudfront adds ${front_door:.2f} per million visits: bench/front_door_cost.py)\n"
    )

    fixed = ours_fixed_per_month(w)
    rows = []
    for ours_ingress in INGRESS:
        for base_ingress in INGRESS:
            v = break_even_visits(fixed, totals[("ours", ours_ingress)], totals[("baseline", base_ingress)])
            rows.append([f"ours {ours_ingress} vs baseline {base_ingress}", "never" if math.isinf(v) else v])
    emit(
        f"\nFixed monthly cost of ours: ${fixed:.2f} (idle long polls of {w.idle_pollers} pollers, "
        f"{w.alarms} alarms); the baseline has none.\n"
        + table("Break-even: monthly visits above which ours costs less", ["comparison", "visits/month"], rows)
    )
    ratios: dict[tuple[int, int, str], float] = {}
    batch_rows = []
    for pages in (30, 3_000):
        for batch in (1, 10, 100):
            wb = _batch_workload(w, batch, pages, m)
            row: list[object] = [batch, pages, "measured" if wb.batch_wru is not None else "assumed"]
            for ingress in INGRESS:
                o = per_million(ours_per_visit(wb, ingress=ingress))
                b = per_million(baseline_per_visit(wb, ingress=ingress))
                ratios[(batch, pages, ingress)] = o / b
                row += [o, f"{o / b:.2f}x"]
            batch_rows.append(row)
    url_vs_rest = totals[("ours", "function URL")] / totals[("baseline", "REST API")]
    # What any design with a queue pays on top of the seed: one SendMessage per visit plus the
    # batch's receives and deletes. Where that alone exceeds a goal, no layout of ours can meet it.
    sqs = ours["SQS send + receive + delete"] * MILLION
    floors = {ingress: (totals[("baseline", ingress)] + sqs) / totals[("baseline", ingress)] for ingress in INGRESS}
    worst = {
        (batch, ingress): max(ratios[(batch, p, ingress)] for p in (30, 3_000))
        for batch in (10, 100)
        for ingress in INGRESS
    }
    def verdict(ratio: float, goal: float, floor: float) -> str:
        if ratio <= goal:
            return "met"
        return "missed: the queue alone exceeds it" if floor > goal else "MISSED"

    goal_rows = [
        [ingress, f"{floors[ingress]:.2f}x", f"{worst[(100, ingress)]:.2f}x",
         verdict(worst[(100, ingress)], 1.15, floors[ingress]), f"{worst[(10, ingress)]:.2f}x",
         verdict(worst[(10, ingress)], 1.5, floors[ingress])]
        for ingress in INGRESS
    ]
    emit(
        "\n"
        + table(
            "Writer batch size and distinct pages a day: ours $/M visits and ours/seed on the same front door",
            ["batch", "pages/day", "write units", "REST", "ratio", "HTTP API", "ratio", "function URL", "ratio"],
            batch_rows,
        )
        + "\n\n"
        + table(
            "Goals, worst of 30 and 3,000 pages/day (the queue's floor: the seed + SQS alone, batch 100)",
            ["front door", "queue's floor", "batch 100", "<= 1.15x", "batch 10", "<= 1.5x"],
            goal_rows,
        )
        + f"\nOurs on function URLs against the seed on REST: {url_vs_rest:.2f}x (goal <= 0.5x: "
        f"{'met' if url_vs_rest <= 0.5 else 'MISSED'}).\n"
    )
    b_rest = totals[("baseline", "REST API")]
    mix = _script_mix(w, m, b_rest)
    return mix + [
        Result("8 cost", "$ per million visits, REST API, batch 100 (worst of 30/3,000 pages)",
               round(worst[(100, "REST API")] * b_rest, 3), round(b_rest, 3), "<= 1.15x",
               worst[(100, "REST API")] <= 1.15),
        Result("8 cost", "REST API, batch 10 (worst of 30/3,000 pages)", round(worst[(10, "REST API")] * b_rest, 3),
               round(b_rest, 3), "<= 1.5x", worst[(10, "REST API")] <= 1.5),
        Result("8 cost", "$ per million visits, HTTP API", round(totals[("ours", "HTTP API")], 3),
               round(totals[("baseline", "HTTP API")], 3), f"floor {floors['HTTP API']:.2f}x", None),
        Result("8 cost", "$ per million visits, function URL", round(totals[("ours", "function URL")], 3),
               round(totals[("baseline", "function URL")], 3), f"floor {floors['function URL']:.2f}x", None),
        Result("8 cost", "ours on function URLs vs seed on REST", round(totals[("ours", "function URL")], 3),
               round(b_rest, 3), "<= 0.5x", url_vs_rest <= 0.5),
    ]


if __name__ == "__main__":
    run("--quick" in sys.argv)
