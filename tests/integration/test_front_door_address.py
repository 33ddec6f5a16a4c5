"""Behind the CloudFront front door the functions see an edge address; the visitor's own comes from
``CloudFront-Viewer-Address``, trusted only on requests carrying the distribution's secret origin header.

Through the real ingest handler with the header shapes CloudFront sends (``ip:port``, IPv6 without
brackets): exclusions, IP modes and unique visitors use the viewer's address; a caller that goes
around CloudFront cannot choose it.
"""

from __future__ import annotations

import json

import pytest

from functions.status.handler import handler as status_handler
from tests.integration.conftest import Ingest
from tests.support.access import signed
from tests.support.events import http_v2_event, rest_event

SECRET = "f2b7c1d0e9a84b6fa3c5d7e9f1a2b3c4"
EDGE = "130.176.12.34"  # a CloudFront edge: what API Gateway sees as the source behind the front door


def through_front_door(viewer: str, **kwargs: object) -> dict[str, object]:
    headers = {"X-Visitor-Tracker-Origin": SECRET, "CloudFront-Viewer-Address": viewer}
    return rest_event(source_ip=EDGE, headers=headers, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def front_door(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> Ingest:
    ingest.configure(monkeypatch, FRONT_DOOR_SECRET=SECRET, IP_MODE="full")
    return ingest


def test_full_ip_mode_logs_the_viewer_not_the_edge(front_door: Ingest) -> None:
    assert front_door(through_front_door("198.51.100.20:53211")).status == 200
    assert front_door(through_front_door("2001:db8:85a3::8a2e:370:7334:46532")).status == 200
    assert [v.ip for v in front_door.queued()] == ["198.51.100.20", "2001:db8:85a3::8a2e:370:7334"]


def test_a_request_around_the_front_door_cannot_choose_its_address(front_door: Ingest) -> None:
    forged = {"CloudFront-Viewer-Address": "192.0.2.1:443"}
    assert front_door(rest_event(source_ip="203.0.113.9", headers=forged)).status == 200
    wrong_secret = {**forged, "X-Visitor-Tracker-Origin": SECRET[:-1] + "0"}
    assert front_door(rest_event(source_ip="203.0.113.9", headers=wrong_secret)).status == 200
    assert [v.ip for v in front_door.queued()] == ["203.0.113.9", "203.0.113.9"]


def test_exclusions_match_the_viewer_address(front_door: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    front_door.configure(monkeypatch, FRONT_DOOR_SECRET=SECRET, EXCLUDE_IPS="198.51.100.0/24")
    assert front_door(through_front_door("198.51.100.20:53211")).status == 200  # the owner's office
    assert front_door(through_front_door("192.0.2.44:1200")).status == 200
    assert [v.ip for v in front_door.queued()] == ["192.0.2.44"]  # the excluded visit is not queued


def test_unique_visitors_are_told_apart_by_viewer_address(front_door: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    front_door.configure(monkeypatch, FRONT_DOOR_SECRET=SECRET, IP_MODE="hashed")
    for viewer in ("198.51.100.1:1000", "198.51.100.2:1000", "198.51.100.3:1000", "198.51.100.1:2000"):
        assert front_door(through_front_door(viewer)).status == 200  # one edge, one User-Agent
    assert front_door.drain() == 4
    body = json.loads(status_handler(signed(http_v2_event("/status", query={"range": "7d"})), None)["body"])
    assert body["range"]["unique_visitors"] == 3
