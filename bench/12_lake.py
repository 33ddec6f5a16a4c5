"""Figure 12 — the lake (issue 22): DuckDB's answer time, Athena's bytes and cost, the write path's cost.

Data: 1,000,000 rows (pageviews and custom events) of one site over 30 days, in sessions of 1 to 6
rows, written as the writer writes them (gzip JSON lines, one object per batch of ``BATCH`` rows, in
``site=/day=`` folders; the rows come from ``functions.model.lakerow.row_of``'s templates).

Measured in the same run, each next to its baseline:

- the dashboard's filtered 30-day view on DuckDB (``f.country`` and ``f.device``), the query local
  mode's ``/status/explore`` runs (goal < 1 s on this 2-core machine), next to the same query unfiltered
  (the baseline: a full scan of the 30 days) and the unfiltered view as served (rollups of finished days);
- Athena: bytes scanned per dashboard query are the compressed bytes of the partitions read (text formats
  cannot skip columns), taken from the files written here; cost of 1,000 dashboard views at $5 per TB
  scanned with a 10 MB minimum per query (https://aws.amazon.com/athena/pricing/);
- the lake's write path per million visits: S3 PUT $0.005 per 1,000 requests and S3 Standard storage
  $0.023 per GB-month (https://aws.amazon.com/s3/pricing/), and the writer's extra Lambda time
  (arm64 $0.0000133334 per GB-s, https://aws.amazon.com/lambda/pricing/) measured here as the time to
  build and compress a batch's object, at batch sizes 1, 10 and 100 (goal: at most $0.10 at batch 100).
"""

from __future__ import annotations

import gzip
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Result, emit, table  # noqa: E402
from functions.lake.analytics import Explorer, Question  # noqa: E402
from functions.lake.config import LakeConfig  # noqa: E402
from functions.lake.dialect import DUCKDB  # noqa: E402
from functions.lake.engines import DuckDBEngine  # noqa: E402
from functions.lake.queries import panels_sql  # noqa: E402
from functions.model.explore import Filter  # noqa: E402
from functions.model.lakerow import encode_rows, object_key, row_of  # noqa: E402
from functions.model.visit import Visit, format_timestamp  # noqa: E402

SITE = "example.com"
DAYS = 30
BATCH = 100
GOAL_SECONDS = 1.0
ATHENA_PER_TB = 5.0
ATHENA_MIN_BYTES = 10 * 1024**2
PUT_PER_1000 = 0.005
STORAGE_GB_MONTH = 0.023
LAMBDA_GB_S = 0.0000133334
WRITER_GB = 0.5
WRITE_GOAL = 0.10
FILTERS = (Filter("country", "DE"), Filter("device", "mobile"))
UAS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
)
COUNTRIES = ("DE", "US", "FR", "GB", None)
REFERRERS = ("https://www.google.com/", None, "https://news.ycombinator.com/", "https://t.co/x")
PAGES = tuple(f"/blog/post-{n}" for n in range(200)) + ("/", "/pricing", "/docs", "/signup")


@dataclass(frozen=True)
class Lake:
    root: Path
    rows: int
    objects: int
    bytes_by_day: dict[str, int]
    seconds: float


def templates() -> list[dict[str, object]]:
    """Rows of every (browser, country, referrer) mix, built by the writer's own row_of."""
    when = format_timestamp(datetime(2026, 1, 1, tzinfo=UTC))
    found = []
    for ua in UAS:
        for country in COUNTRIES:
            for referrer in REFERRERS:
                visit = Visit("t", when, None, ua, "/", referrer, False, True, visitor="v", country=country)
                found.append(row_of(visit))
    return found


def write_lake(root: Path, rows: int, *, end: date, batch: int = BATCH, seed: int = 22) -> Lake:
    """``rows`` rows over DAYS days ending ``end``: sessions of 1-6 rows, 1-5 minutes apart, an event in 1 of 10."""
    rng = random.Random(seed)
    kinds = templates()
    per_day = rows // DAYS
    objects, bytes_by_day, written = 0, {}, 0
    started = time.perf_counter()
    for d in range(DAYS):
        day = end - timedelta(days=DAYS - 1 - d)
        start_ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
        day_rows: list[dict[str, object]] = []
        visitor = 0
        while len(day_rows) < per_day:
            visitor += 1
            base = kinds[rng.randrange(len(kinds))]
            ts = start_ms + rng.randrange(86_000_000)
            for step in range(rng.randint(1, 6)):
                ts += rng.randint(60_000, 300_000) if step else 0
                event = "Signup" if rng.random() < 0.1 else None
                row = dict(base, visit_id=f"{day}-{len(day_rows)}", ts_ms=ts, visitor=f"{day}-{visitor}",
                           path=rng.choice(PAGES), event=event)  # fmt: skip
                row["ts"] = format_timestamp(datetime.fromtimestamp(ts / 1000, UTC))
                day_rows.append(row)
        size = 0
        for start in range(0, len(day_rows), batch):
            chunk = day_rows[start : start + batch]
            key = object_key(SITE, day.isoformat(), (str(r["visit_id"]) for r in chunk))
            body = gzip.compress(encode_rows(chunk), compresslevel=6, mtime=0)
            path = root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            objects += 1
            size += len(body)
        bytes_by_day[day.isoformat()] = size
        written += len(day_rows)
    return Lake(root, written, objects, bytes_by_day, time.perf_counter() - started)


def timed(fn: object, repeats: int) -> float:
    """Median seconds of ``repeats`` calls (each a fresh DuckDB connection, as a request makes)."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def athena_cost(bytes_scanned: int, queries: int) -> float:
    billed = max(bytes_scanned, ATHENA_MIN_BYTES)
    return queries * billed / 1024**4 * ATHENA_PER_TB


def write_path_per_million(batch: int, bytes_per_row: float, cpu_s_per_row: float) -> dict[str, float]:
    puts = 1_000_000 / batch * PUT_PER_1000 / 1000
    storage = 1_000_000 * bytes_per_row / 1024**3 * STORAGE_GB_MONTH
    compute = 1_000_000 * cpu_s_per_row * WRITER_GB * LAMBDA_GB_S
    return {"puts": puts, "storage_month": storage, "lambda": compute, "total": puts + storage + compute}


def row_cost_seconds(samples: int = 2_000) -> float:
    """Seconds to build and compress one row in the writer's way (row_of + JSON + gzip), per row."""
    when = format_timestamp(datetime.now(UTC))
    visits = [Visit(f"id{i}", when, None, UAS[i % 4], f"/p{i % 50}", REFERRERS[i % 4], False, True, visitor=f"v{i}")
              for i in range(samples)]  # fmt: skip
    start = time.perf_counter()
    for n in range(0, samples, BATCH):
        gzip.compress(encode_rows(row_of(v) for v in visits[n : n + BATCH]), compresslevel=6, mtime=0)
    return (time.perf_counter() - start) / samples


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    rows = 200_000 if quick else 1_000_000
    repeats = 3 if quick else 5
    today = datetime.now(UTC).date()
    root = Path(tempfile.mkdtemp(prefix="bench-lake-"))
    try:
        lake = write_lake(root, rows, end=today)
        engine = DuckDBEngine(root)
        question = Question(SITE, today - timedelta(days=DAYS - 1), today, today)
        scope = question.scope()

        def filtered() -> None:
            engine.run(panels_sql(replace(scope, filters=FILTERS), DUCKDB), site=SITE, start=scope.start, end=scope.end)

        def unfiltered() -> None:
            engine.run(panels_sql(scope, DUCKDB), site=SITE, start=scope.start, end=scope.end)

        explorer = Explorer(engine, LakeConfig(directory=str(root)))
        first_view = timed(lambda: explorer.answer(question), 1)  # computes and stores the finished days' rollups
        t_filtered = timed(filtered, repeats)
        t_full = timed(unfiltered, repeats)
        t_served = timed(lambda: explorer.answer(question), repeats)
        total_bytes = sum(lake.bytes_by_day.values())
        recent = sum(v for k, v in lake.bytes_by_day.items() if k >= (today - timedelta(days=1)).isoformat())
        bytes_per_row = total_bytes / lake.rows
        cpu = row_cost_seconds(400 if quick else 2_000)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    scale = 1_000_000 / lake.rows  # Athena figures at 1,000,000 rows a month whatever the sample
    month_bytes, recent_bytes = int(total_bytes * scale), int(recent * scale)
    views = {
        "unfiltered (rollups + the 2 unfinished days)": athena_cost(recent_bytes, 1000),
        "filtered (30 days)": athena_cost(month_bytes, 1000),
        "filtered + compare (60 days)": athena_cost(month_bytes, 2000),
    }
    writes = {batch: write_path_per_million(batch, bytes_per_row, cpu) for batch in (1, 10, 100)}
    emit(
        f"Lake: {lake.rows:,} rows, {lake.objects:,} objects of {BATCH} rows, {total_bytes / 1024**2:.1f} MB gzip "
        f"({bytes_per_row:.0f} B a row), written in {lake.seconds:.1f} s.\n\n"
        + table(
            "DuckDB, 30 days (median of fresh connections)",
            ["query", "seconds"],
            [
                ["filtered view (country=DE AND device=mobile)", round(t_filtered, 3)],
                ["unfiltered full scan (baseline)", round(t_full, 3)],
                ["unfiltered as served (rollups + 2 days)", round(t_served, 3)],
                ["first view (computes 28 days' rollups once)", round(first_view, 3)],
            ],
        )
        + "\n\n"
        + table(
            "Athena at 1,000,000 rows a month: bytes a query scans and 1,000 dashboard views",
            ["dashboard view", "MB scanned a query", "$ per 1,000 views"],
            [
                [
                    "unfiltered (rollups + the 2 unfinished days)",
                    round(recent_bytes / 1024**2, 2),
                    round(views["unfiltered (rollups + the 2 unfinished days)"], 4),
                ],
                ["filtered (30 days)", round(month_bytes / 1024**2, 2), round(views["filtered (30 days)"], 4)],
                [
                    "filtered + compare (60 days)",
                    round(2 * month_bytes / 1024**2, 2),
                    round(views["filtered + compare (60 days)"], 4),
                ],
            ],  # fmt: skip
        )
        + "\n\n"
        + table(
            "Lake write path per million visits ($)",
            ["batch", "S3 PUTs", "storage a month", "writer Lambda", "total"],
            [
                [b, round(w["puts"], 4), round(w["storage_month"], 4), round(w["lambda"], 4), round(w["total"], 4)]
                for b, w in writes.items()
            ],  # fmt: skip
        )
        + f"\nThe writer's extra CPU: {cpu * 1e6:.0f} µs a row (row_of + JSON + gzip), measured here.\n"
    )
    if measured is not None:
        measured["lake_write_per_million_batch_100"] = writes[100]["total"]
        measured["lake_bytes_per_row"] = bytes_per_row
    return [
        Result("12 lake", "DuckDB filtered 30-day view, s (vs unfiltered full scan)", round(t_filtered, 3),
               round(t_full, 3), f"< {GOAL_SECONDS:.0f} s", t_filtered < GOAL_SECONDS),
        Result("12 lake", "DuckDB unfiltered view as served, s (vs full scan)", round(t_served, 3), round(t_full, 3)),
        Result("12 lake", "Athena $ per 1,000 filtered views (vs unfiltered)", round(views["filtered (30 days)"], 4),
               round(views["unfiltered (rollups + the 2 unfinished days)"], 4)),
        Result("12 lake", "lake write $ per million visits, batch 100 (vs batch 10)", round(writes[100]["total"], 4),
               round(writes[10]["total"], 4), f"<= ${WRITE_GOAL:.2f}", writes[100]["total"] <= WRITE_GOAL),
    ]  # fmt: skip


if __name__ == "__main__":
    run("--quick" in sys.argv)
