"""Realistic API Gateway events: REST (v1) proxy, and v2 (HTTP API / Lambda function URL)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

DEFAULT_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def rest_event(
    path: str = "/",
    *,
    method: str = "GET",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    source_ip: str = "203.0.113.7",
    request_id: str | None = None,
    resource: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event, shaped as API Gateway sends it."""
    hdrs = {"User-Agent": DEFAULT_UA, "Accept": "application/json"}
    if headers is not None:
        hdrs.update(headers)
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": request_id or str(uuid.uuid4()),
            "requestTimeEpoch": 1764162309000,
            "identity": {"sourceIp": source_ip, "userAgent": hdrs.get("User-Agent")},
            "accountId": "123456789012",
            "apiId": "abcdef1234",
        },
        "body": None,
        "isBase64Encoded": False,
    }


def http_v2_event(
    path: str = "/",
    *,
    method: str = "GET",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    source_ip: str = "203.0.113.7",
    request_id: str | None = None,
    cookies: list[str] | None = None,
    function_url: bool = False,
) -> dict[str, Any]:
    """A v2 payload: HTTP API (routeKey "GET /path") or Lambda function URL (routeKey "$default")."""
    hdrs = {"user-agent": DEFAULT_UA, "accept": "application/json"}
    if headers is not None:
        hdrs.update({k.lower(): v for k, v in headers.items()})
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default" if function_url else f"{method} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(query) if query else "",
        "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.lambda-url.us-east-1.on.aws" if function_url else "api.example.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": hdrs.get("user-agent", ""),
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": "$default" if function_url else f"{method} {path}",
            "stage": "$default",
            "time": "26/Nov/2026:13:05:09 +0000",
            "timeEpoch": 1764162309000,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if cookies:
        event["cookies"] = cookies
    return event
