"""Figure 12's own code (bench/12_lake.py) on a small sample: the lake it writes and the prices it adds up."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_12_lake", ROOT / "bench" / "12_lake.py")
assert _spec and _spec.loader
lake = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = lake
_spec.loader.exec_module(lake)


def test_the_sample_lake_has_the_rows_and_objects_it_reports(tmp_path: Path) -> None:
    written = lake.write_lake(tmp_path, 3_000, end=date(2026, 11, 30), batch=100)
    files = sorted(tmp_path.glob("events/site=example.com/day=*/*.json.gz"))
    rows = [json.loads(line) for f in files for line in gzip.decompress(f.read_bytes()).splitlines()]
    assert len(files) == written.objects and len(rows) == written.rows >= 3_000
    assert len({r["visit_id"] for r in rows}) == len(rows)
    assert len(written.bytes_by_day) == lake.DAYS and sum(written.bytes_by_day.values()) == sum(
        f.stat().st_size for f in files
    )


@pytest.mark.parametrize(
    ("scanned", "queries", "expected"),
    [(1, 1000, 1000 * 10 * 1024**2 / 1024**4 * 5.0), (50 * 1024**2, 2, 2 * 50 * 1024**2 / 1024**4 * 5.0)],
)
def test_athena_bills_at_least_10_mb_a_query(scanned: int, queries: int, expected: float) -> None:
    assert lake.athena_cost(scanned, queries) == pytest.approx(expected)


def test_the_write_path_is_puts_plus_storage_plus_lambda_time() -> None:
    cost = lake.write_path_per_million(100, bytes_per_row=30.0, cpu_s_per_row=20e-6)
    assert cost["puts"] == pytest.approx(10_000 * 0.005 / 1000)
    assert cost["storage_month"] == pytest.approx(30e6 / 1024**3 * 0.023)
    assert cost["lambda"] == pytest.approx(1e6 * 20e-6 * 0.5 * 0.0000133334)
    assert cost["total"] == pytest.approx(cost["puts"] + cost["storage_month"] + cost["lambda"])
