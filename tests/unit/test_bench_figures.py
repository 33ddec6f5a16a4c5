"""The figure scripts still measure what they claim against today's functions (small, fast runs).

These keep ``make bench`` from silently breaking when a handler changes: each one runs a figure's
measuring function on a few visits and checks the counts it reports, never a time.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest


def _figure(name: str) -> Any:
    return importlib.import_module(f"bench.{name}")


def test_request_path_counts_two_calls_per_visit_for_both_designs() -> None:
    fig = _figure("1_request_path")
    _, ours = fig.measure_ours(False, 5)
    _, bot = fig.measure_ours(True, 5)
    _, base = fig.measure_baseline(False, 5)
    assert ours.total() == 10 and ours.calls["sqs.SendMessage"] == 5
    assert bot.calls["dynamodb.UpdateItem"] == 0  # a bot is not counted
    assert base.calls == {"dynamodb.UpdateItem": 5, "dynamodb.PutItem": 5}


def test_writer_figure_counts_calls_per_batch_of_100() -> None:
    result = _figure("4_writer").measure(1, copy_once=True)
    assert result["base_calls"] == [100]
    assert 1 <= result["ours_calls"][0] <= 8


def test_status_figure_reads_the_same_items_whatever_the_volume() -> None:
    fig = _figure("5_status")
    small, bigger = fig.measure(50), fig.measure(500)
    assert small["visitor_count"] == 45 and bigger["visitor_count"] == 450
    assert (small["calls"], small["items"]) == (bigger["calls"], bigger["items"])


def test_run_all_rejects_unknown_figures(capsys: pytest.CaptureFixture[str]) -> None:
    run_all = _figure("run_all")
    with pytest.raises(SystemExit) as exc:
        run_all.main(["--only", "9"])
    assert exc.value.code == 2
    assert "figures are numbered 1..8" in capsys.readouterr().err
