"""`visitor-tracker export`: the visit log of a range of days (or one row a day) as CSV or JSON lines."""

from __future__ import annotations

import csv
import gc
import io
import json
import random
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from functions.core.environment import ENVIRONMENT
from functions.model.visit import Visit, format_timestamp
from functions.tables.visitlog import to_log_item
from tests.cli.conftest import Env, clients, make_visit, serve_status, write_local_state
from visitor_tracker import cli, cli_base, export, export_lake
from visitor_tracker.discovery import find_pipeline
from visitor_tracker.export import DAILY_COLUMNS, LOG_COLUMNS
from visitor_tracker.resources import create_resources
from visitor_tracker.state import STATE_ENV

BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def day(back: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=back)).isoformat()


def at(back: int, hour: int, minute: int = 0) -> str:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=back)
    return format_timestamp(start + timedelta(hours=hour, minutes=minute))


def row_of(visit: Visit) -> dict[str, object]:
    data = asdict(visit)
    return {column: data[column] for column in LOG_COLUMNS}


@pytest.fixture
def three_days(env: Env, monkeypatch: pytest.MonkeyPatch) -> dict[int, list[Visit]]:
    """Visits on the days 3, 2 and 1 days ago, written by the real writer, by day (sorted by time)."""
    by_day = {
        3: [
            make_visit(timestamp=at(3, 9), path="/a", visitor="v1"),
            make_visit(timestamp=at(3, 9, 30), path="/a", visitor="v2", referrer="https://news.example.org/x"),
            make_visit(timestamp=at(3, 17), path="/b", visitor="v1"),
        ],
        2: [
            make_visit(timestamp=at(2, 8), path="/b", visitor="v3"),
            make_visit(
                timestamp=at(2, 8, 5),
                path="/robots.txt",
                user_agent=BOT_UA,
                is_bot=True,
                counted=False,
                bot_class="crawler",
                visitor=None,
                ip=None,
            ),
            make_visit(timestamp=at(2, 23, 59), path="/b", visitor="v4"),
        ],
        1: [make_visit(timestamp=at(1, 12), path="/c", visitor="v5")],
    }
    everything = [v for visits in by_day.values() for v in visits]
    ENVIRONMENT.reset()  # a fresh table: the writer's sketch versions of earlier tests do not apply
    for visit in reversed(everything):  # queued out of order: the export sorts
        env.sqs.send_message(QueueUrl=env.resources.queue_url, MessageBody=visit.to_json())
    assert env.run_writer(monkeypatch) == len(everything)
    return by_day


def test_each_site_exports_its_own_visits(env: Env, monkeypatch: pytest.MonkeyPatch, http_stub: Any) -> None:
    # GIVEN a deployment of two sites, with visits to each, counted by the real writer
    serve_status(env, http_stub, monkeypatch, SITES="blog.example,shop.example")
    blog = [make_visit(timestamp=at(1, 9), path="/post"), make_visit(timestamp=at(1, 10), path="/about")]
    shop = [make_visit(timestamp=at(1, 11), path="/cart", site="shop.example")]
    for visit in blog + shop:
        env.sqs.send_message(QueueUrl=env.resources.queue_url, MessageBody=visit.to_json())
    assert env.run_writer(monkeypatch) == 3
    monkeypatch.setenv("AWS_ENDPOINT_URL", env.endpoint)

    # WHEN each site is exported (the default site by its name or by none)
    def paths(*site: str) -> list[str]:
        result = env.cli("export", "--since", day(1), "--until", day(1), "--format", "jsonl", *site)
        assert result.exit_code == 0, result.output
        return [json.loads(line)["path"] for line in result.stdout.splitlines()]

    # THEN each has its own visits, and an unknown site exports nothing but an error
    assert paths("--site", "shop.example") == ["/cart"]
    assert paths("--site", "blog.example") == paths() == ["/post", "/about"]
    refused = env.cli("export", "--site", "evil.example")
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert "unknown site 'evil.example'" in refused.stderr


def test_the_lake_exports_the_days_the_log_no_longer_has(
    env: Env, monkeypatch: pytest.MonkeyPatch, http_stub: Any, tmp_path: Path
) -> None:
    from functions.lake import sink
    from functions.lake.config import LakeConfig

    # GIVEN rows the writer put in the lake 45 days ago (the log's items expired after 30 days): the blog's
    # from before SITES listed it (site=default), the blog's since, twice (a redelivered batch), the shop's
    lake_dir = tmp_path / "lake"
    serve_status(env, http_stub, monkeypatch, SITES="blog.example,shop.example", LAKE_DIR=str(lake_dir))
    config = LakeConfig(directory=str(lake_dir))
    sink.append(config, [make_visit(timestamp=at(45, 9), path="/old", visitor="v1")], "default")
    blog = [make_visit(timestamp=at(45, 10), path="/post", visitor="v2", referrer="https://news.example.org/x")]
    sink.append(config, blog, "blog.example")
    sink.append(config, blog, "blog.example")
    sink.append(config, [make_visit(timestamp=at(45, 11), path="/cart", site="shop.example")], "default")

    def export(*args: str) -> list[dict[str, Any]]:
        result = env.cli("export", "--since", day(45), "--until", day(45), "--format", "jsonl", *args)
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]

    # WHEN each site is exported from the lake, and from the table
    blog_rows = export("--source", "lake", "--lake-dir", str(lake_dir))
    shop_rows = export("--source", "lake", "--lake-dir", str(lake_dir), "--site", "shop.example")

    # THEN the lake has each visit once, in time order, with what the lake keeps (no address, no User-Agent)
    assert [(r["timestamp"], r["path"]) for r in blog_rows] == [(at(45, 9), "/old"), (at(45, 10), "/post")]
    assert blog_rows[1]["referrer"] == "news.example.org" and blog_rows[1]["browser"] == "Firefox"
    assert set(blog_rows[0]) == set(export_lake.LAKE_COLUMNS)
    assert [r["path"] for r in shop_rows] == ["/cart"]
    assert export() == []  # the visit log has nothing that old
    refused = env.cli("export", "--source", "lake", "--daily")
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert "--daily reads the day aggregates" in refused.stderr


def test_csv_export_of_a_two_day_range_has_exactly_its_visits_sorted(
    env: Env, three_days: dict[int, list[Visit]]
) -> None:
    result = env.cli("export", "--since", day(3), "--until", day(2), "--format", "csv")

    assert result.exit_code == 0, result.output
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert tuple(reader.fieldnames or ()) == LOG_COLUMNS
    rows = list(reader)
    expected = three_days[3] + three_days[2]
    assert [r["visit_id"] for r in rows] == [v.visit_id for v in expected]
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    first, bot = rows[1], rows[4]
    assert first["path"] == "/a" and first["referrer"] == "https://news.example.org/x"
    assert first["is_bot"] == "false" and first["counted"] == "true" and first["ip"] == "203.0.113.7"
    assert bot["is_bot"] == "true" and bot["bot_class"] == "crawler" and bot["counted"] == "false"
    assert bot["ip"] == "" and bot["visitor"] == "" and bot["user_agent"] == BOT_UA
    assert result.stderr == ""  # no terminal: no progress, no summary


def test_jsonl_export_rows_are_the_visit_records(env: Env, three_days: dict[int, list[Visit]]) -> None:
    result = env.cli("export", "--since", day(2), "--until", day(1), "--format", "jsonl")

    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows == [row_of(v) for v in three_days[2] + three_days[1]]
    assert list(rows[0]) == list(LOG_COLUMNS)


def test_until_defaults_to_today_and_since_to_30_days(env: Env, three_days: dict[int, list[Visit]]) -> None:
    result = env.cli("export", "--format", "jsonl")

    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 7


def test_daily_rows(env: Env, three_days: dict[int, list[Visit]]) -> None:
    result = env.cli("export", "--daily", "--since", day(4), "--until", day(1), "--format", "csv")

    assert result.exit_code == 0, result.output
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert tuple(reader.fieldnames or ()) == DAILY_COLUMNS
    assert list(reader) == [
        {"day": day(4), "visits": "0", "bots": "0", "unique_visitors": "0", "top_page": "", "top_page_visits": "0"},
        {"day": day(3), "visits": "3", "bots": "0", "unique_visitors": "2", "top_page": "/a", "top_page_visits": "2"},
        {"day": day(2), "visits": "2", "bots": "1", "unique_visitors": "2", "top_page": "/b", "top_page_visits": "2"},
        {"day": day(1), "visits": "1", "bots": "0", "unique_visitors": "1", "top_page": "/c", "top_page_visits": "1"},
    ]

    jsonl = env.cli("export", "--daily", "--since", day(2), "--until", day(2), "--format", "jsonl")
    assert jsonl.exit_code == 0, jsonl.output
    assert [json.loads(line) for line in jsonl.stdout.splitlines()] == [
        {"day": day(2), "visits": 2, "bots": 1, "unique_visitors": 2, "top_page": "/b", "top_page_visits": 2}
    ]


def test_out_writes_the_file_and_refuses_to_overwrite_it(
    env: Env, three_days: dict[int, list[Visit]], tmp_path: Path
) -> None:
    target = tmp_path / "visits.jsonl"
    args = ("export", "--since", day(3), "--until", day(3), "--format", "jsonl", "--out", str(target))

    first = env.cli(*args)
    assert first.exit_code == 0, first.output
    assert first.stdout == ""
    assert f"Exported 3 visit(s) of {day(3)}..{day(3)} to {target}" in first.stderr
    assert [json.loads(line)["visit_id"] for line in target.read_text().splitlines()] == [
        v.visit_id for v in three_days[3]
    ]

    target.write_text("mine\n")
    refused = env.cli(*args)
    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines() == [
        f"error: {target} already exists: pass --force to overwrite it, or choose another --out"
    ]
    assert target.read_text() == "mine\n"

    forced = env.cli(*args, "--force")
    assert forced.exit_code == 0, forced.output
    assert len(target.read_text().splitlines()) == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("visits")) == ["visits.jsonl"]


def test_progress_on_a_terminal_goes_to_stderr_never_into_the_data(
    env: Env, three_days: dict[int, list[Visit]], monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(cli_base, "err", lambda: Console(file=stderr, force_terminal=True, width=100))

    result = env.cli("export", "--since", day(3), "--until", day(1), "--format", "csv")

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 7 and all(len(r["visit_id"]) == 36 for r in rows)
    shown = stderr.getvalue()
    assert f"exported {day(1)}" in shown and "3/3" in shown
    assert f"Exported 7 visit(s) of {day(3)}..{day(1)} (local)." in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-13-01"], "--since '2026-13-01' is not a day: use YYYY-MM-DD"),
        (["--since", "yesterday"], "--since 'yesterday' is not a day"),
        (["--since", "20261101"], "--since '20261101' is not a day"),
        (["--until", "2026-02-30"], "--until '2026-02-30' is not a day"),
        (["--since", "2026-11-02", "--until", "2026-11-01"], "--since 2026-11-02 is after --until 2026-11-01"),
        (["--since", "2025-01-01", "--until", "2026-02-05"], "is 401 days: export at most 400 days at a time"),
        (["--since", "2026-11-01", "--until", "2026-11-02", "--format", "xml"], "unknown format 'xml'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STATE_ENV, str(tmp_path / "no-local-mode.json"))  # the input is checked first

    result = CliRunner().invoke(cli.app, ["export", *args])

    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_400_days_is_accepted(env: Env) -> None:
    result = env.cli("export", "--daily", "--since", day(399), "--format", "jsonl")

    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 400


@pytest.fixture
def env_out_of_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dynamodb_local_url: str) -> Iterator[Env]:
    """Like ``env``, on the project's local endpoint in its own process (its DynamoDB: DynamoDB Local):
    tracemalloc then sees the CLI's memory only."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    serve = (
        "import sys, time; from visitor_tracker.emulator import EmbeddedEmulator; "
        "EmbeddedEmulator(port=int(sys.argv[1]), forward_dynamodb=sys.argv[2]).start(); time.sleep(3600)"
    )
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", serve, str(port), dynamodb_local_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the local endpoint did not start"
                time.sleep(0.1)
        dynamodb, sqs = clients(endpoint)
        resources = create_resources(dynamodb, sqs, prefix=f"export-memory-{port}", visibility_timeout=0)
        state_file = tmp_path / "local.json"
        monkeypatch.setenv(STATE_ENV, str(state_file))
        write_local_state(state_file, endpoint, resources, api_url="http://127.0.0.1:9")
        yield Env(endpoint, resources, state_file, sqs, dynamodb)
    finally:
        server.terminate()
        server.wait(10)


def test_memory_stays_bounded_whatever_the_day_holds(
    env_out_of_process: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_out_of_process
    # GIVEN 5,000 log items on one day (written directly: the writer is not what is measured), and
    # Query pages of 20 items: what a day's merge holds (16 pages) is then a small part of the day
    count, small = 5000, 1000
    monkeypatch.setattr(export, "PAGE_ITEMS", 20)
    big_day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    small_day = big_day - timedelta(days=1)
    requests = []
    for i in range(count + small):
        when = big_day + timedelta(seconds=i * 17) if i < count else small_day + timedelta(seconds=i)
        visit = make_visit(
            timestamp=format_timestamp(when),
            path=f"/articles/{i:05d}/" + "x" * 60,
            referrer=f"https://search.example.com/?q={'y' * 80}&n={i}",
            visitor=f"{i:032x}",
        )
        requests.append({"PutRequest": {"Item": to_log_item(visit, 30)}})
    for start in range(0, count + small, 25):
        env.dynamodb.batch_write_item(RequestItems={env.resources.table_name: requests[start : start + 25]})
    del requests
    pipeline = find_pipeline()  # as the command does: the local mode's table, through its client
    client = pipeline.client("dynamodb")

    def traced_export(day_: str, target: Path) -> int:
        """The export's peak of Python memory (the export module: the command adds only constant costs)."""
        with target.open("w", encoding="utf-8") as stream:
            gc.collect()
            tracemalloc.start()
            try:
                export.export(client, pipeline.table_name, [day_], export.make_writer("jsonl", stream, daily=False))
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        return peak

    # WHEN a day of 1,000 visits (the merge's pages full), then the day of 5,000, are exported, heap traced
    traced_export(day(2), tmp_path / "warm-up.jsonl")  # first-use costs: imports, botocore's caches
    fixed = traced_export(day(2), tmp_path / "small.jsonl")  # what any day costs: the merge's pages, the client
    target = tmp_path / "big.jsonl"
    peak = traced_export(day(1), target)

    # THEN every row is there, in order, and 5 times the rows added a small part of them to the peak
    with target.open() as stream:
        timestamps = [json.loads(line)["timestamp"] for line in stream]
    assert len(timestamps) == count and timestamps == sorted(timestamps)
    size = target.stat().st_size
    assert size > 2_000_000
    assert peak - fixed < size / 5, f"peak {peak:,} bytes ({fixed:,} for {small} visits) for {size:,} bytes of data"


FORMULAS = (
    '=HYPERLINK("http://evil.example/","x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd",
    "@SUM(1+1)*cmd",
    "\t=1+1",
    "\r=1+1",
)


def test_csv_cells_never_start_a_spreadsheet_formula(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN visits carrying formula payloads in the exported text fields a visitor controls (the page
    # always starts with "/": ingest normalises it)
    visits = [make_visit(path=f"/f{i}", referrer=formula, user_agent=formula) for i, formula in enumerate(FORMULAS)]
    ENVIRONMENT.reset()
    for visit in visits:
        env.sqs.send_message(QueueUrl=env.resources.queue_url, MessageBody=visit.to_json())
    assert env.run_writer(monkeypatch) == len(visits)

    # WHEN they are exported as CSV and as JSON lines
    as_csv = env.cli("export", "--format", "csv")
    as_jsonl = env.cli("export", "--format", "jsonl")

    # THEN no CSV cell starts a formula: each payload comes out behind a quote, otherwise unchanged
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout, newline="")))
    cells = [cell for row in rows for cell in row.values()]
    assert [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))] == []
    by_path = {row["path"]: row for row in rows}
    for i, formula in enumerate(FORMULAS):
        for column in ("referrer", "user_agent"):
            assert by_path[f"/f{i}"][column] == "'" + formula
    # AND the JSON lines keep every value verbatim
    records = {r["path"]: r for r in map(json.loads, as_jsonl.stdout.splitlines())}
    assert all(records[f"/f{i}"]["referrer"] == formula for i, formula in enumerate(FORMULAS))


def test_daily_rows_sum_every_aggregate_shard(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a stack with 4 aggregate shards: each writer environment (a fresh one per visit here)
    # adds its visit to its own shard
    monkeypatch.setenv("AGGREGATE_SHARDS", "4")
    monkeypatch.setenv("COUNTER_SHARDS", "4")
    random.seed(24)
    visits = [make_visit(timestamp=at(2, 9, i), path="/a" if i % 3 else "/b", visitor=f"v{i}") for i in range(6)]
    for visit in visits:
        env.sqs.send_message(QueueUrl=env.resources.queue_url, MessageBody=visit.to_json())
        assert env.run_writer(monkeypatch) == 1
    shards = {item["pk"]["S"] for item in clients(env.endpoint)[0].scan(TableName=env.resources.table_name)["Items"]}
    assert {"AGG#DAY~1", "AGG#DAY~2", "AGG#DAY~3"} & shards  # some visits are outside shard 0

    # WHEN the daily export reads the stack's shards (the option, or AGGREGATE_SHARDS as the stack sets it)
    result = env.cli("export", "--daily", "--since", day(2), "--until", day(2), "--format", "jsonl")

    # THEN it is every visit, exactly
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"day": day(2), "visits": 6, "bots": 0, "unique_visitors": 6, "top_page": "/a", "top_page_visits": 4}
    ]


def test_events_and_the_scripts_fields_are_exported(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a pageview with a host and screen class and a custom event with properties (issue 21)
    view = make_visit(timestamp=at(1, 10), path="/p", hostname="shop.example", screen="phone")
    signup = make_visit(timestamp=at(1, 11), path="/p", event="Signup", props={"plan": "=pro"}, counted=False)
    ENVIRONMENT.reset()
    for visit in (view, signup):
        env.sqs.send_message(QueueUrl=env.resources.queue_url, MessageBody=visit.to_json())
    assert env.run_writer(monkeypatch) == 2  # both logged (the event is not counted as a visit)
    # WHEN exported as CSV and as JSON lines
    as_csv = env.cli("export", "--since", day(1), "--until", day(1), "--format", "csv")
    as_jsonl = env.cli("export", "--since", day(1), "--until", day(1), "--format", "jsonl")
    # THEN the CSV has the host, screen and event columns, the properties as one JSON cell
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["hostname"], r["screen"], r["event"], r["props"]) for r in rows] == [
        ("shop.example", "phone", "", ""),
        ("", "", "Signup", '{"plan":"=pro"}'),
    ]
    # AND the JSON lines have them as the record has them
    assert [json.loads(line)["props"] for line in as_jsonl.stdout.splitlines()] == [None, {"plan": "=pro"}]
