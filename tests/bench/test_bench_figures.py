"""The figure scripts still measure what they claim against today's functions (small, fast runs).

These keep ``make bench`` from silently breaking when a handler changes: each one runs a figure's
measuring function on a few visits and checks the counts it reports, never a time.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import Any

import pytest


def _figure(name: str) -> Any:
    return importlib.import_module(f"bench.{name}")


def test_request_path_reads_the_count_and_queues_the_visit() -> None:
    fig = _figure("1_request_path")
    _, ours = fig.measure_ours(False, 5)
    _, bot = fig.measure_ours(True, 5)
    _, sharded = fig.measure_ours(False, 5, shards=4)
    _, base = fig.measure_baseline(False, 5)
    assert ours.calls == {"dynamodb.GetItem": 5, "sqs.SendMessage": 5}  # never a counter write
    assert bot.calls == ours.calls  # a bot reads the count too, and is queued to be logged
    assert sharded.calls == {"dynamodb.BatchGetItem": 5, "sqs.SendMessage": 5}
    assert base.calls == {"dynamodb.UpdateItem": 5, "dynamodb.PutItem": 5}


def test_request_path_first_visit_creates_the_salt_unless_ip_mode_is_none() -> None:
    fig = _figure("1_request_path")
    first, _ = fig.measure_ours(False, 1)
    without, _ = fig.measure_ours(False, 1, ip_mode="none")
    assert first.calls["dynamodb.PutItem"] == 1 and "dynamodb.PutItem" not in without.calls


def test_writer_figure_counts_calls_per_batch_of_100_on_moto() -> None:
    result = _figure("4_writer").measure(1)
    assert result["base_calls"] == [100]
    # cold environment: the day's and the all-time names Queries, 2 transactions, the sketch write
    assert "Query 2, TransactWriteItems 2, UpdateItem 1" in result["breakdowns"][0]
    assert result["ours_calls"][0] == 5


def test_writer_prices_log_items_by_their_real_size() -> None:
    fig = _figure("4_writer")
    sample = fig.visits(10, 0)
    size, wru = fig.log_item_figures(sample)
    assert 200 < size < 1024 and wru == 2.0  # under 1 KB: one transactional write, guard included
    big = [replace(v, user_agent="U" * 900) for v in sample]
    assert fig.log_item_figures(big)[1] == 4.0


def test_writer_first_delivery_failures_on_dynamodb_local(dynamodb_local_url: str) -> None:
    failed, total = _figure("4_writer").concurrent_failures(dynamodb_local_url, 4, 1)
    assert (failed, total) == (0, 400)


def test_writer_units_depend_on_what_the_batch_touches(dynamodb_local_url: str) -> None:
    fig = _figure("4_writer")
    few, many = (fig.write_units(dynamodb_local_url, 10, pages, batches=1) for pages in (30, 3_000))
    assert few["log_wru"] == many["log_wru"] == 2.0
    assert few["log_batch_wru"] == 20.0
    # 10 visits: day, hour, the counter and one pack each of their pages, referrers, browsers,
    # countries, devices, OS and all-time pages in the transaction (2 WRU each: small items), the
    # sketch after it (1 WRU): the same whether the day holds 30 or 3,000 pages
    assert few["updates"] == many["updates"] == 11
    assert few["rest_wru"] == many["rest_wru"] == 10 * 2 + 1


def test_status_figure_makes_the_same_calls_whatever_the_volume(dynamodb_local_url: str) -> None:
    fig = _figure("5_status")
    small, bigger = fig.measure(50, dynamodb_local_url), fig.measure(500, dynamodb_local_url)
    assert small["visitor_count"] == 45 and bigger["visitor_count"] == 450
    assert small["calls"] == bigger["calls"]
    assert "BatchGetItem 5" in small["breakdown"] and "Query 5" in small["breakdown"]
    assert max(small["items"], bigger["items"]) <= fig.items_bound()
    assert small["sizes"]["day_kb"] < 1 and small["sizes"]["name_kb"] < 1  # a pack of 20 names: under 1 KB


def test_status_figure_sums_sharded_aggregates_with_reads_bounded_by_the_shards(dynamodb_local_url: str) -> None:
    fig = _figure("5_status")
    small, bigger = fig.measure(50, dynamodb_local_url, 4), fig.measure(500, dynamodb_local_url, 4)
    assert bigger["visits_today"] == bigger["human_visits_today"] > 0  # the shards summed: exact
    assert small["visits_today"] == small["human_visits_today"]
    assert small["calls"] == bigger["calls"]
    assert "Query 20" in bigger["breakdown"]  # 5 requests, one Query per shard's name partition
    assert max(small["items"], bigger["items"]) <= 4 * fig.items_bound()


def test_run_all_rejects_unknown_figures(capsys: pytest.CaptureFixture[str]) -> None:
    run_all = _figure("run_all")
    with pytest.raises(SystemExit) as exc:
        run_all.main(["--only", "99"])
    assert exc.value.code == 2
    numbers = ", ".join(name.split("_", 1)[0] for name in run_all.FIGURES)
    assert f"figures are numbered {numbers}" in capsys.readouterr().err


def test_handler_overhead_stubs_answer_exactly_the_calls_ingest_makes() -> None:
    # The Stubber raises on a call it has no response for and the figure asserts none is left over:
    # a change in ingest's AWS calls (e.g. counter GetItem instead of UpdateItem) fails here.
    measured: dict[str, float] = {}
    results = _figure("2_handler_overhead").run(quick=True, measured=measured)
    assert results[0].ours > 0 and measured["ours_cpu_ms"] > 0
    assert measured["ours_log_bytes"] == 0  # a normal visit prints no log or metrics line


def test_cold_start_subjects_import_and_build_their_clients() -> None:
    fig = _figure("3_cold_start")
    for name in (fig.FLOOR, "ours: ingest"):
        sample = fig.sample(name)
        assert sample["import_ms"] > 0 and sample["clients_ms"] >= 0


def test_script_size_figure_measures_the_served_builds_against_the_snippet() -> None:
    fig = _figure("11_script_size")
    sizes = fig.measure()
    from functions.core import script

    # the core as served, each extension on top of it, everything, and the inline snippet as baseline
    assert sizes["core"][0] == len(script.assemble(()).text.encode())
    assert set(sizes) == {"core", "core + all", "baseline: inline snippet"} | {
        f"core + {e}" for e in script.EXTENSIONS
    }
    assert all(sizes[f"core + {e}"][2] > sizes["core"][2] for e in script.EXTENSIONS)
    results = fig.run(quick=True, measured={})
    assert [r.metric for r in results][0] == "core script, gzip bytes"
    assert all(r.met for r in results)
