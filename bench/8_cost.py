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
    writer_memory_gb: float = 0.5  # pipeline/functions.py: writer 512 MB
    writer_ms_per_batch: float = 150.0
    transactions_per_batch: int = 2  # 100 actions per transaction: flags + 3 aggregate updates
    aggregate_updates_per_transaction: int = 3  # day, hour, uniques
    # Item sizes in KB (write units are per started KB): log item, and the aggregate items.
    log_item_kb: float = 0.6
    day_item_kb: float = 4.0  # visits, bots, h00..h23, page / referrer / browser tallies
    hour_item_kb: float = 0.8  # visits, bots, m00..m59
    # The uniques item is a HyperLogLog sketch (functions/common/hll.py): 2,048 one-byte registers
    # plus keys, version and TTL, whatever the number of visitors (figure 5 measures it).
    uniques_item_kb: float = 2.05
    # SQS consumption by Lambda's event source mapping: receives return at most 10 messages.
    receives_per_batch: float = 10.0
    deletes_per_batch: float = 10.0  # DeleteMessageBatch, 10 entries per call
    # CloudWatch Logs bytes: platform START/END/REPORT lines + what the handler prints (figure 2).
    platform_log_bytes: int = 350
    ours_log_bytes: int = 700
    baseline_log_bytes: int = 0
    writer_log_bytes_per_batch: int = 900
    xray: bool = False
    xray_sampled: float = 0.05  # the default rule: 1 request/s, then 5 %
    # Fixed monthly costs of ours: idle long polls of the event source mapping, alarms.
    idle_pollers: int = 5
    long_poll_seconds: int = 20
    alarms: int = 6


# The sketch keeps up to 255 visitors' 8-byte hashes exactly (sparse), then 2,048 registers; the
# rest of the item (keys, version, TTL) is about 51 bytes (figure 5 measured 2.05 KB when dense).
SKETCH_OVERHEAD_BYTES = 51
SKETCH_SPARSE_MAX = 255


def sketch_item_kb(daily_unique_visitors: int) -> float:
    data = 8 * daily_unique_visitors if daily_unique_visitors <= SKETCH_SPARSE_MAX else 2048
    return (data + SKETCH_OVERHEAD_BYTES) / 1024


# The layout before the sketch, for comparison: a string set of 16 hex characters per visitor.
SET_BYTES_PER_VISITOR = 16.0


def string_set_item_kb(daily_unique_visitors: int) -> float:
    return (daily_unique_visitors * SET_BYTES_PER_VISITOR + 200) / 1024


def wru(kb: float, transactional: bool = False) -> float:
    """Write request units of one write of an item of ``kb`` KB (per started KB, x2 in a transaction)."""
    return max(1, math.ceil(kb)) * (2 if transactional else 1)


def billed_ms(ms: float) -> int:
    """Lambda bills duration in 1 ms steps, rounded up."""
    return max(1, math.ceil(ms))


def ours_per_visit(w: Workload, p: Prices = PRICES, ingress: str = "REST API") -> dict[str, float]:
    """Dollars per visit, by line item, for our pipeline (one counter shard)."""
    ingest_ms = billed_ms(w.dynamodb_call_ms + w.sqs_send_ms + w.ours_cpu_ms)
    aggregates_wru = w.transactions_per_batch * (
        wru(w.day_item_kb, True) + wru(w.hour_item_kb, True) + wru(w.uniques_item_kb, True)
    ) * w.aggregate_updates_per_transaction / 3
    writes_per_visit = (
        wru(0.1)  # counter UpdateItem
        + wru(0.1, True)  # the visit's "aggregated" flag in the writer's transaction
        + wru(w.log_item_kb)  # the log item (BatchWriteItem)
        + aggregates_wru / w.batch_size
    )
    writer_log_bytes = (w.platform_log_bytes + w.writer_log_bytes_per_batch) / w.batch_size
    log_bytes = w.platform_log_bytes + w.ours_log_bytes + writer_log_bytes
    sqs_requests = 1 + (w.receives_per_batch + w.deletes_per_batch) / w.batch_size
    items = {
        "ingress": getattr(p, INGRESS[ingress]) / MILLION,
        "ingest Lambda requests": p.lambda_request_per_m / MILLION,
        "ingest Lambda GB-s": w.ingest_memory_gb * ingest_ms / 1000 * p.lambda_gb_s,
        "SQS send + receive + delete": sqs_requests * p.sqs_per_m / MILLION,
        "writer Lambda (requests + GB-s)": (
            p.lambda_request_per_m / MILLION + w.writer_memory_gb * w.writer_ms_per_batch / 1000 * p.lambda_gb_s
        ) / w.batch_size,
        "DynamoDB writes": writes_per_visit * p.wru_per_m / MILLION,
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


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    m = measured or {}
    w = Workload()
    names = ("ours_cpu_ms", "baseline_cpu_ms", "ours_log_bytes", "baseline_log_bytes", "day_item_kb", "hour_item_kb",
             "uniques_item_kb")
    overrides = [k for k in names if k in m]
    for key in overrides:
        w = replace(w, **{key: int(m[key]) if key.endswith("bytes") else float(m[key])})  # type: ignore[arg-type]
    source = (
        f"measured: {', '.join(overrides)} (figures 2 and 5)"
        if overrides
        else "assumed; bench/run_all.py uses figure 2's and 5's measurements"
    )
    emit(
        "Figure 8 — cost per million visits, us-east-1 list prices (free tiers ignored), one counter shard.\n"
        f"Assumptions: DynamoDB call {w.dynamodb_call_ms} ms, SendMessage {w.sqs_send_ms} ms, handler CPU ours "
        f"{w.ours_cpu_ms:.2f} ms / baseline {w.baseline_cpu_ms:.2f} ms,\nstdout bytes per visit ours "
        f"{w.ours_log_bytes} / baseline {w.baseline_log_bytes}; ingest 256 MB arm64 for both; writer "
        f"{w.writer_ms_per_batch:.0f} ms at 512 MB per batch of {w.batch_size};\nitems: log {w.log_item_kb} KB, day "
        f"{w.day_item_kb:.1f} KB, hour {w.hour_item_kb:.1f} KB, uniques {w.uniques_item_kb:.2f} KB "
        "(a fixed-size sketch at any number of visitors).\n"
        f"Source of the handler, log and item figures: {source}.\n"
    )
    ours = ours_per_visit(w)
    base = baseline_per_visit(w)
    emit(
        table(
            "Line items, $ per million visits (REST API ingress)",
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
    headers = ["ingress", "ours", "baseline", "ours/base"]
    emit("\n" + table("Total $ per million visits, by ingress", headers, ingress_rows))

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
    b_rest = totals[("baseline", "REST API")]
    batch_rows = []
    for batch in (1, 10, 25, 50, 100):
        wb = replace(w, batch_size=batch, transactions_per_batch=max(1, math.ceil(batch / 97)),
                     receives_per_batch=math.ceil(batch / 10), deletes_per_batch=math.ceil(batch / 10),
                     writer_ms_per_batch=w.writer_ms_per_batch * max(batch, 10) / 100)
        batch_rows.append([batch, per_million(ours_per_visit(wb)), b_rest])
    uniq_rows = []
    for visitors in (100, 1_000, 5_000, 20_000):
        new = replace(w, uniques_item_kb=sketch_item_kb(visitors))
        old = replace(w, uniques_item_kb=string_set_item_kb(visitors))
        uniq_rows.append([visitors, new.uniques_item_kb, per_million(ours_per_visit(new)),
                          old.uniques_item_kb, per_million(ours_per_visit(old)), b_rest])
    emit(
        "\n" + table("Writer batch size (REST API): ours $/M visits", ["batch size", "ours", "baseline"], batch_rows)
        + "\n\n" + table(
            "Daily unique visitors: each transaction rewrites the whole uniques item (2 WRU per started KB): "
            "the sketch against the earlier string set",
            ["visitors/day", "sketch KB", "ours $/M", "string set KB", "with the set $/M", "baseline $/M"],
            uniq_rows,
        )
        + "\n"
    )
    o_rest = totals[("ours", "REST API")]
    return [
        Result("8 cost", "$ per million visits, REST API", round(o_rest, 3), round(b_rest, 3), "", None),
        Result("8 cost", "$ per million visits, HTTP API", round(totals[("ours", "HTTP API")], 3),
               round(totals[("baseline", "HTTP API")], 3), "", None),
        Result("8 cost", "$ per million visits, function URL", round(totals[("ours", "function URL")], 3),
               round(totals[("baseline", "function URL")], 3), "", None),
        Result("8 cost", "ours on HTTP API vs baseline on REST API", round(totals[("ours", "HTTP API")], 3),
               round(b_rest, 3), "", None),
    ]


if __name__ == "__main__":
    run("--quick" in sys.argv)
