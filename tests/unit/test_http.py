"""The shared HTTP adapter: one Request whatever the payload format, and proxy responses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.core.http import (
    HTML_CONTENT_TYPE,
    BadRequest,
    cors_headers,
    error_response,
    json_response,
    method_not_allowed,
    parse_request,
    text_response,
)
from functions.core.settings import load_settings
from tests.support.events import DEFAULT_UA, http_v2_event, rest_event

ALL_SHAPES = [
    pytest.param(rest_event, id="rest"),
    pytest.param(http_v2_event, id="http-api"),
    pytest.param(lambda *a, **kw: http_v2_event(*a, function_url=True, **kw), id="function-url"),
]


@pytest.mark.parametrize("make_event", ALL_SHAPES)
def test_every_payload_format_parses_to_the_same_request(make_event: Any) -> None:
    # GIVEN the same request in each payload format
    event = make_event(
        "/page",
        query={"page": "/about", "x": "1"},
        headers={"Referer": "https://example.com/a", "Origin": "https://example.com", "Cookie": "a=1; b=2"},
        source_ip="2001:db8::1",
        request_id="req-123",
    )
    if event.get("version") == "2.0":
        event["cookies"] = ["a=1", "b=2"]
    # WHEN parsed
    request = parse_request(event)
    # THEN every field is the same
    assert request.method == "GET"
    assert request.path == "/page"
    assert request.query == {"page": "/about", "x": "1"}
    assert request.source_ip == "2001:db8::1"
    assert request.request_id == "req-123"
    assert request.user_agent == DEFAULT_UA
    assert request.referer == "https://example.com/a"
    assert request.origin == "https://example.com"
    assert request.cookies == ("a=1", "b=2")
    assert request.header("USER-AGENT") == DEFAULT_UA
    assert all(name == name.lower() for name in request.headers)


def test_query_keeps_the_first_value_of_a_repeated_parameter() -> None:
    rest = rest_event()
    rest["multiValueQueryStringParameters"] = {"page": ["/first", "/second"]}
    rest["queryStringParameters"] = {"page": "/second"}
    assert parse_request(rest).query == {"page": "/first"}

    v2 = http_v2_event()
    v2["rawQueryString"] = "page=%2Ffirst&page=%2Fsecond&empty="
    v2["queryStringParameters"] = {"page": "/first,/second", "empty": ""}
    assert parse_request(v2).query == {"page": "/first", "empty": ""}


def test_client_ip_comes_only_from_the_request_context() -> None:
    event = rest_event(headers={"X-Forwarded-For": "198.51.100.99"}, source_ip="203.0.113.7")
    assert parse_request(event).source_ip == "203.0.113.7"
    event["requestContext"]["identity"]["sourceIp"] = "not-an-ip"
    assert parse_request(event).source_ip is None


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda e: e.pop("requestContext"), id="no-request-context"),
        pytest.param(lambda e: e.update(headers=None, multiValueHeaders=None), id="null-headers"),
        pytest.param(lambda e: e.update(headers={"User-Agent": 5, 7: "x", "X": None}), id="odd-header-types"),
        pytest.param(lambda e: e.update(multiValueHeaders={"a": "not-a-list"}), id="odd-multivalue"),
        pytest.param(lambda e: e.update(queryStringParameters=["x"]), id="query-list"),
        pytest.param(lambda e: e.update(path=None), id="no-path"),
        pytest.param(lambda e: e["requestContext"].update(requestId=None, identity="x"), id="odd-context"),
    ],
)
def test_odd_rest_events_fall_back_sensibly(mutate: Any) -> None:
    event = rest_event()
    mutate(event)
    request = parse_request(event)
    assert request.method == "GET"
    assert request.path.startswith("/")
    assert request.request_id  # a generated uuid when absent


def test_missing_request_id_gets_a_fresh_uuid() -> None:
    event = http_v2_event()
    del event["requestContext"]["requestId"]
    first, second = parse_request(event).request_id, parse_request(event).request_id
    assert len(first) == 36 and first != second


@pytest.mark.parametrize("event", [None, "GET /", [], {}, {"httpMethod": 42}, {"version": "2.0"}])
def test_non_http_events_are_bad_requests(event: Any) -> None:
    with pytest.raises(BadRequest):
        parse_request(event)


def test_malformed_raw_query_string_does_not_crash() -> None:
    event = http_v2_event()
    event["rawQueryString"] = "%zz=%%&=&&page=%E2%82"
    request = parse_request(event)
    assert isinstance(request.query, dict)


def test_json_error_and_html_responses() -> None:
    ok = json_response(200, {"visitor_count": 3}, headers={"X-A": "b"})
    assert ok["statusCode"] == 200
    assert json.loads(ok["body"]) == {"visitor_count": 3}
    assert ok["headers"] == {"Content-Type": "application/json", "Cache-Control": "no-store", "X-A": "b"}
    err = error_response(404, "not found")
    assert (err["statusCode"], json.loads(err["body"])) == (404, {"error": "not found"})
    page = text_response(200, "<p>hi</p>", HTML_CONTENT_TYPE, cache_control="max-age=60")
    assert page["headers"]["Content-Type"].startswith("text/html")
    assert page["headers"]["Cache-Control"] == "max-age=60"
    not_allowed = method_not_allowed(["GET", "OPTIONS"])
    assert not_allowed["statusCode"] == 405 and not_allowed["headers"]["Allow"] == "GET, OPTIONS"


def test_cors_with_a_wildcard_and_with_an_allow_list() -> None:
    request = parse_request(rest_event(headers={"Origin": "https://a.example"}))
    wildcard = load_settings({})
    assert cors_headers(wildcard, request) == {"Access-Control-Allow-Origin": "*"}

    allow_list = load_settings({"ALLOWED_ORIGINS": "https://a.example, https://b.example"})
    assert cors_headers(allow_list, request) == {"Access-Control-Allow-Origin": "https://a.example", "Vary": "Origin"}
    other = parse_request(rest_event(headers={"Origin": "https://evil.example"}))
    assert cors_headers(allow_list, other) == {"Vary": "Origin"}
