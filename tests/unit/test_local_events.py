"""Local mode's pure parts: HTTP <-> REST proxy event, SQS messages -> Lambda SQS event, the ESM loop
against moto, and the local gateway's routing (with stub handlers, through werkzeug's test client)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from werkzeug.test import Client

from functions.core.http import parse_request
from visitor_tracker.events import LambdaContext, from_proxy_response, rest_api_preflight, to_rest_event
from visitor_tracker.local.esm import failed_message_ids
from visitor_tracker.local.gateway import LocalGateway

# --- HTTP request -> REST (v1) proxy event --------------------------------------------------------


def _event(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "method": "get",
        "path": "/",
        "query_string": "page=%2Fblog&page=%2Fhome&ref=",
        "headers": [("User-Agent", "UA/1"), ("Accept", "a"), ("Accept", "b"), ("X-Forwarded-For", "6.6.6.6")],
        "body": None,
        "source_ip": "192.0.2.10",
        "resource": "/",
        "request_id": "req-1",
    }
    args.update(overrides)
    return to_rest_event(**args)


def test_rest_event_has_api_gateway_shape() -> None:
    event = _event()

    assert event["httpMethod"] == "GET"
    assert event["resource"] == "/" and event["path"] == "/"
    # repeated names: the single-value maps keep the last value, the multi-value maps keep all
    assert event["headers"]["Accept"] == "b"
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"]
    assert event["queryStringParameters"] == {"page": "/home", "ref": ""}
    assert event["multiValueQueryStringParameters"] == {"page": ["/blog", "/home"], "ref": [""]}
    context = event["requestContext"]
    assert context["identity"]["sourceIp"] == "192.0.2.10"
    assert context["identity"]["userAgent"] == "UA/1"
    assert context["stage"] == "local" and context["path"] == "/local/"
    assert context["requestId"] == "req-1"
    assert isinstance(context["requestTimeEpoch"], int)
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert event["pathParameters"] is None and event["stageVariables"] is None


def test_rest_event_without_query_has_null_query_maps_and_fresh_request_ids() -> None:
    first, second = _event(query_string="", request_id=None), _event(query_string="", request_id=None)

    assert first["queryStringParameters"] is None
    assert first["multiValueQueryStringParameters"] is None
    assert first["requestContext"]["requestId"] != second["requestContext"]["requestId"]


def test_shared_http_adapter_reads_the_event_and_ignores_forwarded_for() -> None:
    request = parse_request(_event())

    assert request.method == "GET"
    assert request.source_ip == "192.0.2.10"  # the TCP peer, not X-Forwarded-For
    assert request.query["page"] == "/blog"  # a repeated parameter: its first value, on every ingress
    assert request.user_agent == "UA/1"
    assert request.request_id == "req-1"


def test_text_body_is_passed_as_text_and_binary_body_as_base64() -> None:
    assert _event(body=b'{"a": 1}')["body"] == '{"a": 1}'
    binary = _event(body=b"\xff\x00\xfe")
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\xff\x00\xfe"


# --- proxy response -> HTTP -------------------------------------------------------------------------


def test_proxy_response_merges_single_and_multi_value_headers() -> None:
    result = from_proxy_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "Set-Cookie": "ignored=1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": '{"ok":true}',
        }
    )

    assert result.status == 201
    assert ("Content-Type", "application/json") in result.headers
    assert [v for k, v in result.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert result.body == b'{"ok":true}'


def test_proxy_response_base64_body_is_decoded() -> None:
    body = base64.b64encode(b"\x89PNG").decode()
    assert from_proxy_response({"statusCode": 200, "body": body, "isBase64Encoded": True}).body == b"\x89PNG"


@pytest.mark.parametrize(
    "response",
    [
        None,
        "text",
        {"statusCode": "abc"},
        {"statusCode": 42},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
    ],
)
def test_malformed_proxy_response_is_api_gateways_502(response: Any) -> None:
    result = from_proxy_response(response)

    assert result.status == 502
    assert json.loads(result.body) == {"message": "Internal server error"}


def test_rest_api_preflight_with_any_origin() -> None:
    result = rest_api_preflight(("*",), "https://a.example", methods=("GET", "OPTIONS"), max_age_seconds=3600)

    assert result.status == 204 and result.body == b""
    headers = dict(result.headers)
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in headers
    assert headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"
    assert headers["Access-Control-Max-Age"] == "3600"
    assert "X-Api-Key" in headers["Access-Control-Allow-Headers"].split(",")


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("https://b.example", "https://b.example"),
        ("https://a.example", "https://a.example"),
        ("https://evil.example", "https://a.example"),
        (None, "https://a.example"),
    ],
)
def test_rest_api_preflight_with_an_allow_list_echoes_listed_origins(origin: str | None, expected: str) -> None:
    allowed = ("https://a.example", "https://b.example")
    headers = dict(rest_api_preflight(allowed, origin, methods=("GET",), max_age_seconds=60).headers)

    assert headers["Access-Control-Allow-Origin"] == expected
    assert headers["Vary"] == "Origin"


def test_lambda_context_looks_like_lambdas() -> None:
    context = LambdaContext("visitor-tracker-writer", timeout_seconds=30)

    assert context.invoked_function_arn.endswith(":function:visitor-tracker-writer")
    assert 0 < context.get_remaining_time_in_millis() <= 30_000
    assert context.aws_request_id != LambdaContext("x").aws_request_id


# --- the event source mapping's answer, read as Lambda reads it ------------------------------------


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ({"batchItemFailures": "b"}, {"a", "b"}),
        ("garbage", {"a", "b"}),
    ],
)
def test_failed_message_ids_read_like_lambda(result: Any, expected: set[str]) -> None:
    assert failed_message_ids(result, ["a", "b"]) == expected


def _gateway(handlers: dict[str, Any]) -> Client:
    return Client(LocalGateway(handlers))


def test_gateway_routes_paths_to_functions_with_the_peer_address() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def stub(name: str) -> Any:
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            calls.append((name, event))
            return {
                "statusCode": 200,
                "headers": {"Content-Type": "application/json"},
                "multiValueHeaders": {"X-Multi": ["1", "2"]},
                "body": json.dumps({"fn": name}),
            }

        return handler

    client = _gateway({"ingest": stub("ingest"), "status": stub("status")})

    response = client.get(
        "/?page=/a", headers={"X-Forwarded-For": "6.6.6.6"}, environ_base={"REMOTE_ADDR": "198.51.100.4"}
    )
    assert response.status_code == 200 and response.json == {"fn": "ingest"}
    assert response.headers.getlist("X-Multi") == ["1", "2"]
    assert client.get("/status").json == {"fn": "status"}
    assert client.get("/dashboard").json == {"fn": "status"}
    assert client.options("/").status_code == 200  # every method reaches the function

    name, event = calls[0]
    assert event["requestContext"]["identity"]["sourceIp"] == "198.51.100.4"
    assert event["queryStringParameters"] == {"page": "/a"}
    assert [c[0] for c in calls] == ["ingest", "status", "status", "ingest"]
    assert calls[-1][1]["httpMethod"] == "OPTIONS"


def test_gateway_routes_the_per_page_counters_to_status_and_validates_page_as_the_rest_api() -> None:
    calls: list[dict[str, Any]] = []

    def status(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    client = _gateway({"status": status})

    assert client.get("/count?page=/post").status_code == 200
    assert client.get("/badge.svg?page=/post&label=views").status_code == 200
    assert [e["path"] for e in calls] == ["/count", "/badge.svg"]
    assert calls[1]["queryStringParameters"] == {"page": "/post", "label": "views"}
    # a missing or blank page is the validator's 400, before any function runs (pipeline/api.py)
    for path in ("/count", "/count?page=", "/badge.svg?label=views"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert response.json == {"error": "Missing required request parameters: [page]"}
    assert len(calls) == 2
    assert client.get("/count/extra").status_code == 404


def test_gateway_answers_preflights_itself_when_given_the_allowed_origins() -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise AssertionError("a preflight must not reach the function")

    client = Client(LocalGateway({"ingest": handler, "status": handler}, cors_origins=("https://a.example",)))

    for path in ("/", "/status", "/dashboard"):
        response = client.options(path, headers={"Origin": "https://a.example"})
        assert response.status_code == 204
        assert response.headers["Access-Control-Allow-Origin"] == "https://a.example"
    assert client.options("/elsewhere").status_code == 404


def test_gateway_unknown_path_is_404_json_and_a_raising_function_is_502() -> None:
    def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    errors: list[str] = []
    client = Client(LocalGateway({"ingest": broken}, on_error=lambda fn, exc: errors.append(fn)))

    missing = client.get("/nope")
    assert missing.status_code == 404
    assert missing.json == {"error": "not found"}
    assert client.post("/").status_code == 404
    failed = client.get("/")
    assert failed.status_code == 502
    assert failed.json == {"message": "Internal server error"}
    assert b"boom" not in failed.data and errors == ["ingest"]
