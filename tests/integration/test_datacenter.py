"""Issue 23: data centres and AI crawlers through the real ingest and writer handlers.

The events are shaped as the CloudFront front door forwards them to the REST API: CloudFront's own
headers (``Via``, ``X-Amz-Cf-Id``) and the viewer headers of its origin request policy
(pipeline/front_door.py), ``CloudFront-Viewer-ASN`` among them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.status.handler import handler as status_handler
from tests.integration.conftest import Ingest
from tests.support.access import signed
from tests.support.accesslogs import CHROME, GPTBOT
from tests.support.events import http_v2_event, rest_event

AMAZON = "16509"  # AWS: a cloud network of functions/model/asn_data.json
COMCAST = "7922"  # a residential network: not in the list


def front_door_event(page: str, asn: str | None, user_agent: str = CHROME) -> dict[str, Any]:
    headers = {
        "User-Agent": user_agent,
        "Via": "2.0 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "u0kT3rSLyQ3-_ByR2cdG4eTfhCHgSWw8w9nFxw9gHXCnhYfQqXb4Fg==",
        "CloudFront-Viewer-Country": "US",
        "CloudFront-Viewer-Address": "198.51.100.23:50123",
    }
    if asn is not None:
        headers["CloudFront-Viewer-ASN"] = asn
    return rest_event(query={"page": page}, headers=headers, source_ip="130.176.0.10")


def status(query: dict[str, str] | None = None) -> dict[str, Any]:
    response = status_handler(signed(http_v2_event("/status", query=query or {})), None)
    assert response["statusCode"] == 200
    return json.loads(response["body"])


def test_a_browser_from_a_cloud_network_is_classed_datacenter_not_counted(ingest: Ingest) -> None:
    assert ingest(front_door_event("/pricing", AMAZON)).status == 200
    assert ingest(front_door_event("/pricing", COMCAST)).status == 200
    assert ingest(front_door_event("/pricing", None)).status == 200  # a front door without the header

    visits = sorted(ingest.queued(), key=lambda v: v.bot_class or "")
    assert [(v.is_bot, v.bot_class, v.counted) for v in visits] == [
        (False, None, True),
        (False, None, True),
        (True, "datacenter", False),
    ]


def test_datacenter_visits_reach_the_automated_aggregates(ingest: Ingest) -> None:
    ingest(front_door_event("/pricing", AMAZON))
    ingest(front_door_event("/pricing", COMCAST))
    assert ingest.drain() == 1  # only the residential visitor counts

    body = status()
    assert body["visits_today"] == 1 and body["bots_today"] == 1
    assert body["bots_by_class"] == {"datacenter": 1}
    assert {r["agent"]: r["visits"] for r in body["top_bots"]} == {"Chrome (datacenter)": 1}


def test_the_owner_can_count_datacenters(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest.configure(monkeypatch, COUNT_DATACENTERS="true")
    ingest(front_door_event("/pricing", AMAZON))
    [visit] = ingest.queued()
    assert (visit.is_bot, visit.bot_class, visit.counted) == (False, None, True)


@pytest.mark.parametrize("value", ["", "AS16509", "-1", "0", "99999999999", "16509, 16509"])
def test_a_malformed_asn_header_is_ignored(ingest: Ingest, value: str) -> None:
    assert ingest(front_door_event("/", value)).status == 200
    [visit] = ingest.queued()
    assert visit.bot_class is None and visit.counted is True


def test_ai_crawlers_are_their_own_class_and_tallied_by_page(ingest: Ingest) -> None:
    for page in ("/blog/a", "/blog/a", "/blog/b"):
        ingest(front_door_event(page, None, GPTBOT))
    ingest.drain()

    body = status({"range": "7d"})
    assert body["bots_by_class"] == {"ai-crawler": 3}
    assert body["range"]["ai_pages"] == [
        {"page": "/blog/a", "agent": "GPTBot", "visits": 2},
        {"page": "/blog/b", "agent": "GPTBot", "visits": 1},
    ]
