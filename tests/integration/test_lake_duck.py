"""Local mode's DuckDB engine keeps days before yesterday as Parquet, and a late batch still counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from functions.lake import sink
from functions.lake.config import LakeConfig
from functions.lake.duck import DuckDBEngine
from tests.support import lake

SITE = "a.example"
DAY = datetime.now(UTC).date() - timedelta(days=5)


def _rows(engine: DuckDBEngine) -> int:
    _, rows = engine.run("SELECT count(*) FROM events", site=SITE, start=DAY.isoformat(), end=DAY.isoformat())
    return int(rows[0][0])


def test_a_cached_day_is_read_from_parquet_and_a_late_batch_renews_it(tmp_path: Path) -> None:
    config = LakeConfig(directory=str(tmp_path))
    records = [v for s in lake.script([SITE], [DAY], 20) for v in s.visits()]
    sink.append(config, records[:-10], "default")
    engine = DuckDBEngine(tmp_path)
    assert _rows(engine) == len(records) - 10
    cached = sorted((tmp_path / "cache").glob("site=*/day=*/*.parquet"))
    assert len(cached) == 1
    sink.append(config, records[-15:], "default")  # a late batch, with 5 visits already there
    assert _rows(engine) == len(records)
    renewed = sorted((tmp_path / "cache").glob("site=*/day=*/*.parquet"))
    assert len(renewed) == 1 and renewed != cached


def test_today_is_read_from_its_objects_beside_the_cached_days(tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    config = LakeConfig(directory=str(tmp_path))
    earlier = [v for s in lake.script([SITE], [DAY], 5) for v in s.visits()]
    current = [v for s in lake.script([SITE], [today], 7) for v in s.visits()]
    sink.append(config, earlier + current, "default")
    _, rows = DuckDBEngine(tmp_path).run(
        "SELECT day, count(*) FROM events GROUP BY day ORDER BY day",
        site=SITE,
        start=DAY.isoformat(),
        end=today.isoformat(),
    )
    assert rows == [(DAY.isoformat(), len(earlier)), (today.isoformat(), len(current))]
    assert [p.parent.name for p in (tmp_path / "cache").glob("site=*/day=*/*.parquet")] == [f"day={DAY}"]
