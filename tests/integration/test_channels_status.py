"""Channels, screen classes and host names through the real handlers (issue 21): ingest records what the
site script sends, the writer tallies it in the visit's transaction, /status answers it over any range."""

from __future__ import annotations

import json
from typing import Any

from functions.status.handler import handler as status_handler
from tests.integration.conftest import Ingest
from tests.support.access import signed
from tests.support.events import http_v2_event, rest_event


def status(query: dict[str, str] | None = None) -> dict[str, Any]:
    response = status_handler(signed(http_v2_event("/status", query=query or {})), None)
    assert response["statusCode"] == 200
    return dict(json.loads(response["body"]))


def rows(body: dict[str, Any], key: str, field: str) -> dict[str, int]:
    return {row[field]: row["visits"] for row in body[key]}


def test_channels_count_entrances_screens_and_hosts_count_pageviews(ingest: Ingest) -> None:
    site = "https://shop.example"
    views = [
        # an arrival from ChatGPT on a phone, then a click inside the site (not an entrance)
        {"page": "/", "ref": "https://chatgpt.com/", "h": "shop.example", "w": "390"},
        {"page": "/pricing", "ref": f"{site}/", "h": "shop.example", "w": "390"},
        # a search on a laptop, a newsletter on a desktop, a direct visit on a tablet of the docs host
        {"page": "/", "ref": "https://www.google.com/", "h": "shop.example", "w": "1280"},
        {"page": "/?utm_source=news&utm_medium=email", "ref": "", "h": "shop.example", "w": "1920"},
        {"page": "/guide", "ref": "", "h": "docs.shop.example", "w": "800"},
    ]
    for query in views:
        assert ingest(rest_event(query=query)).status == 200
    # the inline snippet sends no h: the host comes from the Origin of its call; no w: no screen class
    ingest(rest_event(query={"page": "/", "ref": "https://bsky.app/x"}, headers={"Origin": "https://www.shop.example"}))
    assert ingest.drain() == 6

    for body in (status(), status({"range": "7d"})["range"]):
        assert rows(body, "channels", "channel") == {
            "AI Assistants": 1,
            "Organic Search": 1,
            "Email": 1,
            "Direct": 1,
            "Social": 1,
        }
        assert rows(body, "screens", "screen") == {"phone": 2, "laptop": 1, "desktop": 1, "tablet": 1}
        assert rows(body, "hostnames", "hostname") == {"shop.example": 5, "docs.shop.example": 1}
    (logged,) = [v for v in ingest.items("LOG#") if v["path"]["S"] == "/guide"]
    assert logged["hostname"] == {"S": "docs.shop.example"} and logged["screen"] == {"S": "tablet"}


def test_a_known_host_costs_its_pageviews_no_extra_item(ingest: Ingest) -> None:
    """Host names are day-item counters; the host's own name item is written once, when the day first sees
    it (it registers the host for the cap), so later batches of the same host touch no extra item."""

    def host_item() -> dict[str, Any]:
        (item,) = [i for i in ingest.items("AGG#N#") if i["sk"]["S"].startswith("h#")]
        return item

    def day_counter() -> int:
        (day,) = [i for i in ingest.items("AGG#DAY")]
        return int(day["hn:shop.example"]["N"])

    for _ in range(2):
        ingest(rest_event(query={"page": "/", "h": "shop.example", "w": "390"}))
    ingest.drain()
    registered = host_item()
    assert day_counter() == 2
    # WHEN more pageviews of the same host arrive in a later batch
    for _ in range(3):
        ingest(rest_event(query={"page": "/", "h": "shop.example", "w": "390"}))
    ingest.drain()
    # THEN they are counted in the day item, and the host's name item was not written again
    assert day_counter() == 5
    assert host_item() == registered
    assert rows(status(), "hostnames", "hostname") == {"shop.example": 5}
