"""Figure 2 — handler overhead: CPU time per ingest request with every AWS call stubbed out.

``botocore.stub.Stubber`` answers the calls from queued responses (no network, no moto), so what
remains is the handler's own work: event parsing, bot check, visit record, JSON, logging and
botocore's request building. Ingest reads the counter (one GetItem; the writer increments it) and
sends the visit to SQS; it prints no metrics line for a normal visit (only on its recovery paths).
Measured with ``time.process_time`` around each request, ours and the baseline interleaved in
rounds (so drift hits both), median per request. Also counts the bytes each request writes to
stdout, which Lambda ships to CloudWatch Logs (an input of figure 8).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from botocore.stub import Stubber  # noqa: E402

from bench import harness  # noqa: E402
from bench.harness import Result, emit, median, percentile, table  # noqa: E402
from functions.core.environment import ENVIRONMENT  # noqa: E402
from visitor_tracker.events import LambdaContext  # noqa: E402

harness.setup_env()

STUB_ENV = {
    "TABLE_NAME": "bench-table",
    "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-queue",
    "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-dlq",
}
GET_RESPONSE = {"Item": {"visits": {"N": "12345"}}}  # ours: ingest reads the counter
UPDATE_RESPONSE = {"Attributes": {"visits": {"N": "12345"}}}  # the baseline increments it
SEND_RESPONSE = {"MessageId": "5fea7756-0ea4-451a-a703-a558b933e274"}
GOAL_MS = 1.0


def _events(n: int) -> list[dict[str, Any]]:
    module = importlib.import_module("bench.1_request_path")  # the same events as figure 1
    return [module.visit_event(False, i) for i in range(n)]


def _time_requests(handler: Callable[[Any, Any], Any], events: list[dict[str, Any]]) -> tuple[list[float], int]:
    """CPU milliseconds of each request, and the bytes written to stdout by all of them."""
    context = LambdaContext()
    times = []
    with harness.captured_stdout() as written:
        for event in events:
            start = time.process_time()
            response = handler(event, context)
            times.append((time.process_time() - start) * 1000)
            if response.get("statusCode") != 200:
                raise RuntimeError(f"handler answered {response.get('statusCode')}: {response.get('body')}")
    return times, written[0]


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    rounds, per_round = (3, 200) if quick else (6, 500)
    saved = dict(os.environ)
    os.environ.update(STUB_ENV)
    harness.reset_function_caches()
    try:
        from functions.core import aws
        from functions.ingest import handler as ingest

        baseline = importlib.reload(importlib.import_module("bench.baseline_handler"))
        ENVIRONMENT.reset()
        events = _events(per_round)
        ours_ms: list[float] = []
        base_ms: list[float] = []
        ours_bytes = base_bytes = 0
        with (
            Stubber(aws.dynamodb()) as ours_ddb,
            Stubber(aws.sqs()) as ours_sqs,
            Stubber(baseline.dynamodb) as base_ddb,
        ):
            # Warm-up (not timed): ours creates the day's salt on its first visit.
            ours_ddb.add_response("get_item", GET_RESPONSE)
            ours_ddb.add_response("put_item", {})
            ours_sqs.add_response("send_message", SEND_RESPONSE)
            base_ddb.add_response("update_item", UPDATE_RESPONSE)
            base_ddb.add_response("put_item", {})
            _time_requests(ingest.handler, events[:1])
            _time_requests(baseline.handler, events[:1])
            for _ in range(rounds):
                for _ in events:
                    ours_ddb.add_response("get_item", GET_RESPONSE)
                    ours_sqs.add_response("send_message", SEND_RESPONSE)
                    base_ddb.add_response("update_item", UPDATE_RESPONSE)
                    base_ddb.add_response("put_item", {})
                times, written = _time_requests(ingest.handler, events)
                ours_ms += times
                ours_bytes += written
                times, written = _time_requests(baseline.handler, events)
                base_ms += times
                base_bytes += written
            ours_ddb.assert_no_pending_responses()
            ours_sqs.assert_no_pending_responses()
            base_ddb.assert_no_pending_responses()
        ENVIRONMENT.reset()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        harness.reset_function_caches()

    n = len(ours_ms)
    ours_med, base_med = median(ours_ms), median(base_ms)
    rows: list[list[object]] = [
        ["ours (functions.ingest)", ours_med, percentile(ours_ms, 90), percentile(ours_ms, 99), round(ours_bytes / n)],
        ["baseline", base_med, percentile(base_ms, 90), percentile(base_ms, 99), round(base_bytes / n)],
        ["ours / baseline", f"{ours_med / base_med:.2f}x", "", "", ""],
    ]
    emit(
        table(
            f"Figure 2 — handler CPU per ingest request, AWS calls stubbed (botocore Stubber), "
            f"{rounds} interleaved rounds x {per_round} requests",
            ["handler", "median ms", "p90 ms", "p99 ms", "stdout bytes/request"],
            rows,
        )
        + f"\nGoal: ours < {GOAL_MS} ms median CPU per request: {'met' if ours_med < GOAL_MS else 'MISSED'}.\n"
    )
    if measured is not None:
        measured.update(
            ours_cpu_ms=ours_med,
            baseline_cpu_ms=base_med,
            ours_log_bytes=ours_bytes / n,
            baseline_log_bytes=base_bytes / n,
        )
    return [
        Result("2 handler CPU", "median CPU ms per request (stubbed AWS)", round(ours_med, 3), round(base_med, 3),
               f"< {GOAL_MS} ms", ours_med < GOAL_MS),
        Result("2 handler CPU", "stdout bytes per request (-> CloudWatch Logs)", round(ours_bytes / n),
               round(base_bytes / n), "", None),
    ]


if __name__ == "__main__":
    run("--quick" in sys.argv)
