"""The cost model (bench/8_cost.py) adds up list prices the way AWS bills them."""

from __future__ import annotations

import importlib.util
import math
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_8_cost", ROOT / "bench" / "8_cost.py")
assert _spec and _spec.loader
cost = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = cost
_spec.loader.exec_module(cost)


def test_write_units_are_per_started_kilobyte_and_doubled_in_transactions() -> None:
    assert cost.wru(0.1) == 1
    assert cost.wru(1.0) == 1
    assert cost.wru(1.01) == 2
    assert cost.wru(18.75, transactional=True) == 38


def test_lambda_duration_is_billed_in_whole_milliseconds() -> None:
    assert cost.billed_ms(12.01) == 13
    assert cost.billed_ms(0.2) == 1


def test_baseline_is_ingress_plus_invoke_plus_two_writes_plus_logs() -> None:
    # GIVEN a workload with easy numbers
    w = replace(
        cost.Workload(), dynamodb_call_ms=5.0, baseline_cpu_ms=0.5, platform_log_bytes=1000, baseline_log_bytes=0
    )
    # WHEN the baseline is priced behind an HTTP API
    total = cost.per_million(cost.baseline_per_visit(w, ingress="HTTP API"))
    # THEN it is the sum of the list prices, by hand: 11 ms at 0.25 GB, 2 WRU, 1 KB of logs per visit
    expected = 1.00 + 0.20 + 0.25 * 0.011 * 0.0000133334 * 1e6 + 2 * 0.625 + 1000 / 1e9 * 0.50 * 1e6
    assert total == pytest.approx(expected)


def test_ours_pays_sqs_and_the_writer_share_once_per_batch() -> None:
    w = cost.Workload()
    ours = cost.ours_per_visit(w)
    # one SendMessage per visit, plus 20 receive/delete calls per batch of 100
    assert ours["SQS send + receive + delete"] * 1e6 == pytest.approx(1.2 * 0.40)
    # figure 4's measured write units of a whole batch, shared by its visits
    measured = cost.ours_per_visit(replace(w, batch_wru=342.75))
    assert measured["DynamoDB writes"] * 1e6 == pytest.approx(342.75 / 100 * 0.625)
    # without them: a transactional Put per log item (2 WRU under 1 KB) plus small aggregate items
    assert cost.assumed_batch_wru(w) >= 100 * cost.wru(w.log_item_kb, True)
    smaller = cost.ours_per_visit(replace(w, batch_size=10, receives_per_batch=1, deletes_per_batch=1))
    assert cost.per_million(smaller) > cost.per_million(ours)


def test_ingress_choice_changes_both_designs_by_the_same_amount() -> None:
    w = cost.Workload()
    rest = cost.per_million(cost.ours_per_visit(w, ingress="REST API"))
    url = cost.per_million(cost.ours_per_visit(w, ingress="function URL"))
    assert rest - url == pytest.approx(3.50)
    base_gap = cost.per_million(cost.baseline_per_visit(w, ingress="REST API")) - cost.per_million(
        cost.baseline_per_visit(w, ingress="function URL")
    )
    assert base_gap == pytest.approx(3.50)


def test_break_even_needs_a_lower_per_visit_cost() -> None:
    assert math.isinf(cost.break_even_visits(1.0, ours_per_m=5.0, baseline_per_m=4.0))
    assert cost.break_even_visits(1.0, ours_per_m=4.0, baseline_per_m=5.0) == pytest.approx(1_000_000)


def test_fixed_cost_counts_idle_long_polls_and_alarms() -> None:
    w = replace(cost.Workload(), idle_pollers=1, long_poll_seconds=20, alarms=0)
    assert cost.ours_fixed_per_month(w) == pytest.approx(30 * 86400 / 20 * 0.40 / 1e6)


def test_run_uses_measured_handler_figures(capsys: pytest.CaptureFixture[str]) -> None:
    results = cost.run(measured={"ours_cpu_ms": 0.4, "ours_log_bytes": 321})
    out = capsys.readouterr().out
    assert "measured: ours_cpu_ms, ours_log_bytes" in out and "321" in out
    assert any(r.metric.startswith("$ per million visits, REST API") for r in results)
