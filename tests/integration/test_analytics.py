"""Issue 13's analytics through the real handlers: countries, devices, OS, campaigns, live visitors,
date ranges, the per-page counter and badge, and the owner's exclusions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.model import layout
from functions.status.handler import handler as status_handler
from tests.integration.conftest import Ingest
from tests.support.access import signed
from tests.support.events import http_v2_event, rest_event
from tests.support.pipeline import drain_queue, make_visit, send_visits
from visitor_tracker.resources import PipelineResources

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def status(query: dict[str, str] | None = None, path: str = "/status") -> tuple[int, dict[str, str], Any]:
    response = status_handler(signed(http_v2_event(path, query=query or {})), None)
    body = response["body"]
    ctype = response["headers"]["Content-Type"]
    return response["statusCode"], response["headers"], json.loads(body) if "json" in ctype else body


def as_dict(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    return {row[key]: row["visits"] for row in rows}


def test_countries_devices_os_campaigns_and_live_visitors(ingest: Ingest) -> None:
    # GIVEN visits from two countries (one front door without the header), two devices, a campaign
    for _ in range(3):
        ingest(
            rest_event(
                query={"page": "/post?utm_source=Newsletter&utm_medium=email&utm_campaign=launch"},
                headers={"User-Agent": IPHONE, "CloudFront-Viewer-Country": "de"},
            )
        )
    ingest(rest_event(query={"page": "/post"}, headers={"User-Agent": WINDOWS, "CloudFront-Viewer-Country": "FR"}))
    ingest(rest_event(query={"page": "/"}, headers={"User-Agent": WINDOWS}))
    assert ingest.drain() == 5

    code, _, body = status()

    assert code == 200
    assert as_dict(body["countries"], "country") == {"DE": 3, "FR": 1, "unknown": 1}
    assert as_dict(body["devices"], "device") == {"mobile": 3, "desktop": 2}
    assert as_dict(body["os"], "os") == {"iOS": 3, "Windows": 2}
    assert as_dict(body["sources"], "source") == {"newsletter": 3}
    assert as_dict(body["mediums"], "medium") == {"email": 3}
    assert as_dict(body["campaigns"], "campaign") == {"launch": 3}
    # the stored path drops the campaign query string
    assert as_dict(body["top_pages"], "path") == {"/post": 4, "/": 1}
    assert body["live_visitors"] == 5


def test_ranges_read_a_daily_or_monthly_series_and_top_lists(pipeline_resources: PipelineResources) -> None:
    now = datetime.now(UTC)
    days = [now - timedelta(days=d) for d in (0, 1, 1, 3, 10)]
    send_visits(pipeline_resources, [make_visit(when=w, path=f"/d{(now - w).days}") for w in days])
    assert drain_queue(pipeline_resources).failures == []

    _, _, week = status({"range": "7d"})
    series = {s["period"]: s["visits"] for s in week["range"]["series"]}
    assert len(series) == 7 and week["range"]["granularity"] == "day"
    assert series[(now - timedelta(days=1)).date().isoformat()] == 2 and sum(series.values()) == 4
    assert week["range"]["visits"] == 4
    assert as_dict(week["range"]["top_pages"], "path") == {"/d1": 2, "/d0": 1, "/d3": 1}
    assert week["range"]["unique_visitors"] == 1  # make_visit's visits share one visitor
    # backward compatible: the plain fields are all still there
    assert {"visitor_count", "visits_today", "top_pages", "hourly"} <= set(week)

    _, _, year = status({"range": "12mo"})
    months = year["range"]["series"]
    assert len(months) == 12 and year["range"]["granularity"] == "month"
    assert sum(m["visits"] for m in months) == 5 and year["range"]["unique_visitors"] is None

    _, _, yesterday = status({"range": "yesterday"})
    assert yesterday["range"]["visits"] == 2

    custom_from = (now - timedelta(days=3)).date().isoformat()
    _, _, custom = status({"from": custom_from, "to": now.date().isoformat()})
    assert custom["range"]["visits"] == 4 and len(custom["range"]["series"]) == 4


@pytest.mark.parametrize(
    "query",
    [{"range": "forever"}, {"from": "2026-13-01"}, {"from": "2026-01-01", "to": "2026-12-31"}, {"from": "2999-01-01"}],
)
def test_bad_ranges_are_400_json(pipeline_resources: PipelineResources, query: dict[str, str]) -> None:
    code, headers, body = status(query)
    assert code == 400 and set(body) == {"error"} and headers["Content-Type"].startswith("application/json")


def test_page_count_and_badge(ingest: Ingest) -> None:
    for page in ("/post", "/post", "/post", "/other"):
        ingest(rest_event(query={"page": page}))
    assert ingest.drain() == 4

    code, headers, body = status({"page": "/post"}, path="/count")
    assert (code, body) == (200, {"page": "/post", "today": 3, "total": 3})
    assert headers["Cache-Control"] == "max-age=60"

    code, headers, svg = status({"page": "/post", "label": '<script>alert("x")</script>'}, path="/badge.svg")
    assert code == 200 and headers["Content-Type"] == "image/svg+xml"
    assert ">3</text>" in svg and "<script>" not in svg and "&lt;script&gt;" in svg

    assert status({}, path="/count")[0] == 400
    assert status({"page": "no-slash"}, path="/badge.svg")[0] == 400
    # neither route counts a visit
    assert ingest.stored_count() == 4


def test_excluded_visits_are_neither_counted_nor_logged(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest.configure(
        monkeypatch, EXCLUDE_IPS="10.0.0.0/8, 2001:db8::/32", EXCLUDE_PATHS="/admin/*,/preview", RESPECT_DNT="true"
    )
    ingest(rest_event(query={"page": "/kept"}))
    answers = [
        ingest(rest_event(source_ip="10.1.2.3")).body,
        ingest(http_v2_event(source_ip="2001:db8::7")).body,
        ingest(rest_event(query={"page": "/admin/users"})).body,
        ingest(rest_event(query={"page": "/preview"})).body,
        ingest(rest_event(headers={"User-Agent": WINDOWS, "DNT": "1"})).body,
        ingest(rest_event(headers={"User-Agent": WINDOWS, "Sec-GPC": "1"})).body,
    ]
    # they are answered with the count, which they do not raise
    assert answers == [{"visitor_count": 1}] * 6
    assert [v.path for v in ingest.queued()] == ["/kept"]


def test_bad_exclusion_settings_are_a_clear_configuration_error(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest.configure(monkeypatch, EXCLUDE_IPS="not-a-network")
    result = ingest(rest_event())
    assert result.status == 500 and result.body == {"error": "the tracker is misconfigured"}


def test_a_finished_month_is_rolled_up_once_then_read_from_its_rollup(
    pipeline_resources: PipelineResources,
) -> None:
    import boto3

    from functions.model import keys

    # GIVEN a day of a month that ended weeks ago, as the writer left it (day item + a page pack)
    old = (datetime.now(UTC).replace(day=1) - timedelta(days=40)).date().isoformat()
    client = boto3.client("dynamodb")
    table = pipeline_resources.table_name
    client.put_item(TableName=table, Item={**keys.day_agg_key(old), "visits": {"N": "7"}, "bots": {"N": "2"}})
    client.put_item(
        TableName=table, Item={**keys.name_key(old, layout.PAGE, "0"), "n:/old": {"N": "5"}, "n:/older": {"N": "2"}}
    )
    queries: list[str] = []
    from functions.core import aws as aws_clients

    aws_clients.dynamodb().meta.events.register("before-call.dynamodb.Query", lambda **_: queries.append("q"))

    # WHEN the 12-month range is asked twice
    _, _, first = status({"range": "12mo"})
    first_queries = len(queries)
    _, _, second = status({"range": "12mo"})

    # THEN the month shows the day's numbers, rolled up into one item by the first request
    month = old[:7]
    assert {s["period"]: s["visits"] for s in first["range"]["series"]}[month] == 7
    assert as_dict(first["range"]["top_pages"], "path") == {"/old": 5, "/older": 2}
    rollup = client.get_item(TableName=table, Key=keys.rollup_key(month))["Item"]
    assert rollup["visits"] == {"N": "7"} and rollup["t:p:/old"] == {"N": "5"}
    # AND the second request reads the rollup instead of the month's days
    assert second["range"] == first["range"]
    assert len(queries) - first_queries < first_queries
