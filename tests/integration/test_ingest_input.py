"""Hostile and odd requests: always a 200 or a 4xx JSON answer, never a 5xx, and a valid queued record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from functions.core.definitions import MAX_PATH_LENGTH, MAX_REFERRER_LENGTH, MAX_USER_AGENT_LENGTH
from tests.integration.conftest import Ingest
from tests.support.events import http_v2_event, rest_event

Mutation = Callable[[dict[str, Any]], Any]


def _drop(key: str) -> Mutation:
    return lambda e: e.pop(key, None)


ODD_REST_EVENTS: dict[str, Mutation] = {
    "no-headers": lambda e: e.update(headers=None, multiValueHeaders=None),
    "no-request-context": _drop("requestContext"),
    "no-identity": lambda e: e["requestContext"].pop("identity"),
    "no-request-id": lambda e: e["requestContext"].pop("requestId"),
    "request-id-with-hash": lambda e: e["requestContext"].update(requestId="a#b"),
    "huge-user-agent": lambda e: e["headers"].update({"User-Agent": "Mozilla/5.0 " + "A" * 100_000}),
    "non-ascii": lambda e: e["headers"].update(
        {"User-Agent": "Mozílla/5.0 (日本語) 🦊", "Referer": "https://ex.com/ñ"}
    ),
    "null-bytes": lambda e: e["headers"].update({"User-Agent": "Moz\x00illa\x00", "Referer": "https://a\x00b/c\x00d"}),
    "lone-surrogate": lambda e: e["headers"].update({"User-Agent": "bad \ud800 ua \uffff"}),
    "ipv6": lambda e: e["requestContext"]["identity"].update(sourceIp="2001:db8:85a3::8a2e:370:7334"),
    "bogus-ip": lambda e: e["requestContext"]["identity"].update(sourceIp="999.1.1.1; DROP TABLE"),
    "page-10kb": lambda e: e.update(queryStringParameters={"page": "/" + "p" * 10_240}),
    "page-control-chars": lambda e: e.update(queryStringParameters={"page": "/a\r\nSet-Cookie: x\x00\t/b"}),
    "page-traversal": lambda e: e.update(queryStringParameters={"page": "/../../etc//passwd/./"}),
    "page-full-url": lambda e: e.update(queryStringParameters={"page": "https://example.com/x/y?q=1#f"}),
    "page-empty": lambda e: e.update(queryStringParameters={"page": ""}),
    "query-not-a-dict": lambda e: e.update(queryStringParameters="page=/x", multiValueQueryStringParameters=7),
    "query-non-string-values": lambda e: e.update(queryStringParameters={"page": None, "x": {"a": 1}}),
    "referer-garbage": lambda e: e["headers"].update({"Referer": "http://[::1/%%%"}),
    "referer-huge": lambda e: e["headers"].update({"Referer": "https://example.com/" + "r" * 20_000}),
    "header-values-not-strings": lambda e: e.update(headers={"User-Agent": ["x"], "Referer": 12}),
    "method-lowercase": lambda e: e.update(httpMethod="get"),
}


@pytest.mark.parametrize("mutate", ODD_REST_EVENTS.values(), ids=ODD_REST_EVENTS.keys())
def test_odd_requests_are_answered_and_recorded_safely(ingest: Ingest, mutate: Mutation) -> None:
    # GIVEN a request with something odd in it
    event = rest_event()
    mutate(event)
    without_user_agent = not (event.get("headers") or {}).get("User-Agent")
    # WHEN it reaches the function
    result = ingest(event)
    # THEN it is answered like any other visit (one without a User-Agent is automated: not counted)
    assert result.status == 200, result.body
    assert result.body == {"visitor_count": 0 if without_user_agent else 1}
    # AND its queued record is valid (the writer would accept it) and bounded
    (visit,) = ingest.queued()
    assert visit.bot_class == ("other" if without_user_agent else None)
    assert visit.path.startswith("/") and len(visit.path) <= MAX_PATH_LENGTH
    assert len(visit.user_agent) <= MAX_USER_AGENT_LENGTH
    assert visit.referrer is None or len(visit.referrer) <= MAX_REFERRER_LENGTH
    for text in (visit.path, visit.user_agent, visit.referrer or "", visit.visit_id):
        assert not any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF or c in "\ufffe\uffff" for c in text)


def test_cleaning_keeps_what_matters(ingest: Ingest) -> None:
    ingest(rest_event(query={"page": "/a\r\n/b/../c//d/?x=1"}, headers={"User-Agent": "Moz\x00illa/5.0 🦊"}))
    ingest(http_v2_event(query={"page": "/" + "p" * 10_240}, source_ip="2001:db8::1"))
    first, second = sorted(ingest.queued(), key=lambda v: len(v.path))
    assert first.path == "/a/c/d"
    assert first.user_agent == "Mozilla/5.0 🦊"
    assert second.path == ("/" + "p" * 10_240)[:MAX_PATH_LENGTH]
    assert second.ip == "2001:db8::1"


def test_path_falls_back_to_the_referer_then_to_root(ingest: Ingest) -> None:
    ingest(rest_event(headers={"Referer": "https://blog.example/posts/1?utm_source=x"}, request_id="from-referer"))
    ingest(rest_event(request_id="no-referer"))
    paths = {v.visit_id: v.path for v in ingest.queued()}
    assert paths == {"from-referer": "/posts/1", "no-referer": "/"}


def test_huge_user_agent_is_truncated_and_still_classified(ingest: Ingest) -> None:
    ingest(rest_event(headers={"User-Agent": "Googlebot/2.1 " + "x" * 100_000}))
    (visit,) = ingest.queued()
    assert len(visit.user_agent) == MAX_USER_AGENT_LENGTH
    assert visit.is_bot is True


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(None, id="null"),
        pytest.param("GET /", id="string"),
        pytest.param({}, id="empty"),
        pytest.param({"httpMethod": None, "path": "/"}, id="no-method"),
        pytest.param({"httpMethod": "G E T"}, id="bad-method"),
        pytest.param({"version": "2.0", "requestContext": {"http": {}}}, id="v2-no-method"),
    ],
)
def test_non_http_events_are_400_json(ingest: Ingest, event: Any) -> None:
    result = ingest(event)
    assert result.status == 400
    assert result.headers["Content-Type"] == "application/json"
    assert set(result.body) == {"error"}
    assert ingest.queued() == []


def test_v2_odd_events(ingest: Ingest) -> None:
    event = http_v2_event(function_url=True)
    event["rawQueryString"] = "page=%zz&page=%E2%82&&=&x"
    event["headers"] = {"user-agent": None}
    event["cookies"] = "not-a-list"
    del event["requestContext"]["http"]["sourceIp"]
    result = ingest(event)
    assert result.status == 200
    (visit,) = ingest.queued()
    assert visit.ip is None
    assert visit.path.startswith("/")


def test_ref_parameter_is_the_referrer_and_an_empty_one_means_direct(ingest: Ingest) -> None:
    # GIVEN the snippet's call: the site's own page as Referer, document.referrer as ?ref=
    site = {"Referer": "https://my.site/blog/post?utm=x"}
    ingest(rest_event(query={"page": "/blog/post", "ref": "https://news.example/item?id=1#c"}, headers=site))
    ingest(rest_event(query={"page": "/blog/post", "ref": ""}, headers=site))
    ingest(rest_event(headers=site))
    # THEN the external referrer is kept (no query or fragment), an empty ref is a direct visit,
    # and without ?ref= the Referer header is the referrer
    referrers = [visit.referrer for visit in ingest.queued()]
    expected = ["https://news.example/item", None, "https://my.site/blog/post"]
    assert sorted(referrers, key=str) == sorted(expected, key=str)


@pytest.mark.parametrize("path", ["/favicon.ico", "/robots.txt", "/wp-login.php", "/status"])
def test_a_function_url_path_other_than_the_root_is_404_and_not_counted(ingest: Ingest, path: str) -> None:
    # GIVEN a Lambda function URL, which sends every path to ingest (no gateway routing)
    result = ingest(http_v2_event(path, function_url=True))
    # THEN only / is a visit: the rest is a 404 JSON error, nothing counted or queued
    assert result.status == 404
    assert "error" in result.body
    assert ingest(http_v2_event("/", function_url=True)).body == {"visitor_count": 1}
    assert len(ingest.queued()) == 1
