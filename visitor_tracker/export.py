"""``visitor-tracker export``: the visit log, or one aggregated row a day, as CSV or JSON lines.

Streaming with bounded memory: a day's log lives in ``keys.LOG_BUCKETS`` partitions
(``LOG#<day>#<bucket>``), each read with a paginated Query of ``page_items`` items a page, and the
partitions' pages are merged with ``heapq.merge`` on the sort key (``<iso ts>#<visit_id>``), so a
day comes out sorted by timestamp while at most one page per partition is held. Each row is
written as soon as it is merged: nothing accumulates, whatever the traffic.

``--daily`` reads the day aggregate items (``AGG#DAY/<day>``: ``visits``, ``bots``) with
BatchGetItem, at most 100 keys a call, and each day's name partition (``AGG#N#<day>``: the
uniques sketches ``u#<shard>`` merged into the day's unique visitors estimate, and the top page
from the ``p#<path>`` tallies). Every day of the range gets a row, zeros included.

No typer or rich here: the CLI parses the options and shows the progress; this module takes a
DynamoDB client, a table name, the days and a writer.
"""

from __future__ import annotations

import csv
import heapq
import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, timedelta
from typing import IO, Any, Protocol

from functions.model import keys
from functions.model.attrs import number, read_uniques, top_names
from functions.model.layout import BOTS, NAMES_READ_MAX, OTHER, PAGE, UNIQUES, VISITS, merge_shards, sharded
from functions.model.sketches import Sketch
from functions.tables import store
from functions.tables.visitlog import Item, from_log_item

FORMATS = ("csv", "jsonl")
LOG_COLUMNS = (
    "visit_id",
    "timestamp",
    "path",
    "referrer",
    "user_agent",
    "is_bot",
    "bot_class",
    "counted",
    "ip",
    "visitor",
    "hostname",  # issue 21: what the site script adds (screen class, custom events)
    "screen",
    "event",
    "props",
)
DAILY_COLUMNS = ("day", "visits", "bots", "unique_visitors", "top_page", "top_page_visits")
MAX_DAYS = 400  # the day aggregates' retention (aggregates.DAY_TTL_DAYS)
DEFAULT_DAYS = 30  # --since defaults to the 30 days ending with --until (the log's default retention)
PAGE_ITEMS = 100  # items per Query page: at most LOG_BUCKETS pages are held while a day is merged
BATCH_GET_MAX = 100  # BatchGetItem's limit
UNPROCESSED_ATTEMPTS = 8
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Row = dict[str, Any]
OnRow = Callable[[], None]


class ExportError(ValueError):
    """Bad input or an export that cannot go on: the CLI prints it as one line, exit code 2."""


# --- input ------------------------------------------------------------------------------------


def parse_day(text: str, option: str) -> date:
    """A ``YYYY-MM-DD`` day, strictly (no other ISO forms)."""
    try:
        if not _DAY_RE.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ExportError(f"{option} {text!r} is not a day: use YYYY-MM-DD (UTC), e.g. 2026-11-26") from None


def day_range(since: str | None, until: str | None, today: date) -> list[str]:
    """The days from ``since`` to ``until`` inclusive, oldest first, as ``YYYY-MM-DD``.

    ``until`` defaults to ``today`` (UTC); ``since`` to the ``DEFAULT_DAYS`` days ending with ``until``.
    """
    last = parse_day(until, "--until") if until is not None else today
    first = parse_day(since, "--since") if since is not None else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ExportError(f"--since {first.isoformat()} is after --until {last.isoformat()}")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise ExportError(
            f"{first.isoformat()}..{last.isoformat()} is {count} days: export at most {MAX_DAYS} days at a time"
        )
    return [(first + timedelta(days=i)).isoformat() for i in range(count)]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return fmt


# --- writers ----------------------------------------------------------------------------------


class RowWriter(Protocol):
    def write(self, row: Row) -> None: ...


class CsvWriter:
    """CSV with a header line; booleans as ``true``/``false``, missing values empty, text that would start a
    spreadsheet formula prefixed with ``'`` (JSON lines keep every value verbatim)."""

    def __init__(self, stream: IO[str], columns: Sequence[str]) -> None:
        # RFC 4180 line ends: a field holding either \r or \n is then quoted (with "\n" alone, a bare \r is not).
        self._writer = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\r\n")
        self._writer.writeheader()

    def write(self, row: Row) -> None:
        self._writer.writerow({k: _csv_value(v) for k, v in row.items()})


# Cells a spreadsheet would read as a formula (OWASP, CSV injection): neutralised with a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value: Any) -> Any:
    """A CSV cell: text a visitor sent (page, referrer, User-Agent, campaign) never starts a formula."""
    if value is None:
        return ""
    if isinstance(value, dict):  # an event's properties: one JSON cell
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class JsonLinesWriter:
    """One JSON object a line, the same keys as the CSV columns (``null`` for missing values)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, row: Row) -> None:
        self._stream.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def make_writer(fmt: str, stream: IO[str], *, daily: bool, columns: Sequence[str] | None = None) -> RowWriter:
    """A writer of daily rows, log rows or the given ``columns`` (the lake's rows)."""
    chosen = columns or (DAILY_COLUMNS if daily else LOG_COLUMNS)
    return CsvWriter(stream, chosen) if check_format(fmt) == "csv" else JsonLinesWriter(stream)


# --- the log ----------------------------------------------------------------------------------


def _query_pages(client: Any, table_name: str, pk: str, page_items: int) -> Iterator[list[Item]]:
    """The items of one partition in sort-key order, a page at a time (``Limit`` items a page)."""
    start: dict[str, Any] | None = None
    while True:
        request: dict[str, Any] = {
            "TableName": table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": keys.PK},
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "Limit": page_items,
        }
        if start:
            request["ExclusiveStartKey"] = start
        response = client.query(**request)
        items, start = response.get("Items", []), response.get("LastEvaluatedKey")
        del response
        yield items
        if not start:
            return


def _row(item: Item) -> Row:
    visit = from_log_item(item)
    return {
        "visit_id": visit.visit_id,
        "timestamp": visit.timestamp,
        "path": visit.path,
        "referrer": visit.referrer,
        "user_agent": visit.user_agent,
        "is_bot": visit.is_bot,
        "bot_class": visit.bot_class,
        "counted": visit.counted,
        "ip": visit.ip,
        "visitor": visit.visitor,
        "hostname": visit.hostname,
        "screen": visit.screen,
        "event": visit.event,
        "props": visit.props,
    }


def _partition_stream(client: Any, table_name: str, pk: str, page_items: int) -> Iterator[tuple[str, Row]]:
    """One partition's rows in sort-key order. A page is turned into rows at once (far smaller than
    botocore's items) and each row is let go as soon as it is handed on."""
    for page in _query_pages(client, table_name, pk, page_items):
        rows = deque((item[keys.SK]["S"], _row(item)) for item in page if "visit_id" in item)
        del page
        while rows:
            yield rows.popleft()


def log_rows(
    client: Any, table_name: str, day: str, *, page_items: int | None = None, site: str | None = None
) -> Iterator[Row]:
    """A day's logged visits sorted by timestamp (then visit id), as export rows, streamed.

    At most ``LOG_BUCKETS`` pages of ``page_items`` rows are held, whatever the day holds.
    """
    size = page_items or PAGE_ITEMS
    streams = [
        _partition_stream(client, table_name, keys.in_site((keys.log_pk(day, bucket), ""), site)[0], size)
        for bucket in range(keys.LOG_BUCKETS)
    ]
    for _, row in heapq.merge(*streams, key=lambda pair: pair[0]):
        yield row


# --- daily rows -------------------------------------------------------------------------------


def _day_items(
    client: Any,
    table_name: str,
    days: Sequence[str],
    sleep: Callable[[float], None],
    shards: int = 1,
    site: str | None = None,
) -> dict[str, Item]:
    """The day aggregate items of ``days`` (every shard's, summed), by day; a missing day is absent."""
    try:
        items = store.get_items(
            table_name,
            [
                keys.key_dict(keys.in_site(sharded(keys.key_tuple(keys.day_agg_key(day)), n), site))
                for n in range(shards)
                for day in days
            ],
            store.Backoff(attempts=UNPROCESSED_ATTEMPTS, sleep=sleep),
            projection=[keys.PK, keys.SK, VISITS, BOTS],
            client=client,
        )
    except RuntimeError as exc:
        raise ExportError(f"{exc} (day aggregates)") from exc
    found = {keys.out_of_site(k): item for k, item in items.items()}
    return {item[keys.SK]["S"]: item for item in merge_shards(found).values()}


def _names_summary(
    client: Any, table_name: str, day: str, shards: int = 1, site: str | None = None
) -> tuple[int, str | None, int]:
    """(unique visitors estimate, top page, its visits) from the day's name partitions (one per shard).

    The partition is bounded by the caps (``aggregates.NAMES_READ_MAX`` items), so it is read whole;
    ``aggregates.top_names`` reads the page tallies whatever their layout.
    """
    items: list[Item] = []
    for n in range(shards):
        partition = keys.in_site(sharded((keys.names_pk(day), ""), n), site)[0]
        for page in _query_pages(client, table_name, partition, NAMES_READ_MAX):
            items.extend(page)
    sketch = Sketch()
    for item in items:
        if item.get(keys.SK, {}).get("S", "").startswith(UNIQUES + "#"):
            sketch = sketch.merge(read_uniques(item).sketch)
    pages = [(name, visits) for name, visits in top_names(items, PAGE, n=2) if name != OTHER]
    top_page, top_visits = pages[0] if pages else (None, 0)
    return sketch.estimate(), top_page, top_visits


def daily_rows(
    client: Any,
    table_name: str,
    days: Sequence[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
    shards: int = 1,
    site: str | None = None,
) -> Iterator[Row]:
    """One row per day of ``days``, in order: human visits, bots, unique visitors, top page
    (``shards``: the stack's ``AGGREGATE_SHARDS``, summed)."""
    for start in range(0, len(days), BATCH_GET_MAX):
        chunk = days[start : start + BATCH_GET_MAX]
        items = _day_items(client, table_name, chunk, sleep, shards, site)
        for day in chunk:
            uniques, top_page, top_visits = _names_summary(client, table_name, day, shards, site)
            yield {
                "day": day,
                "visits": number(items.get(day), VISITS),
                "bots": number(items.get(day), BOTS),
                "unique_visitors": uniques,
                "top_page": top_page,
                "top_page_visits": top_visits,
            }


# --- the export -------------------------------------------------------------------------------


def export(
    client: Any,
    table_name: str,
    days: Sequence[str],
    writer: RowWriter,
    *,
    daily: bool = False,
    on_day: Callable[[str, int], None] | None = None,
    on_row: OnRow | None = None,
    page_items: int | None = None,
    shards: int = 1,
    site: str | None = None,
    day_rows: Callable[[str], Iterable[Row]] | None = None,
) -> int:
    """Write the log rows (or, ``daily``, one row per day; or ``day_rows(day)``, another source's rows) of
    ``days``; returns the rows written.

    ``on_row`` is called after each row, ``on_day(day, rows_of_the_day)`` after each day (progress).
    """
    total = 0
    if daily:
        for row in daily_rows(client, table_name, days, shards=shards, site=site):
            writer.write(row)
            total += 1
            if on_row:
                on_row()
            if on_day:
                on_day(row["day"], 1)
        return total
    for day in days:
        count = 0
        rows = day_rows(day) if day_rows else log_rows(client, table_name, day, page_items=page_items, site=site)
        for row in rows:
            writer.write(row)
            count += 1
            if on_row:
                on_row()
        total += count
        if on_day:
            on_day(day, count)
    return total
