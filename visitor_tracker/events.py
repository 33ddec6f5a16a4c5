"""Pure converters between plain HTTP and the Lambda proxy integration of an API Gateway REST API (v1).

Local mode's HTTP server hands each request to ``to_rest_event`` and the handler's answer to
``from_proxy_response``; nothing here touches sockets, threads or AWS, so the event shape and the
response rules are unit-tested on their own (the same split as chalice's ``LambdaEventConverter``).

Shapes follow what API Gateway sends and accepts:

- ``headers`` / ``queryStringParameters`` keep the LAST value of a repeated name, the
  ``multiValue*`` maps keep all of them; both query maps are ``None`` when there is no query string.
- ``requestContext.identity.sourceIp`` is the TCP peer given by the caller (never X-Forwarded-For).
- A body that is not UTF-8 is passed base64-encoded with ``isBase64Encoded: true``.
- OPTIONS is answered by the API itself, as the REST API's CORS preflight does (``rest_api_preflight``).
- A response that is not a valid proxy result, or a handler that raised, becomes API Gateway's
  ``502 {"message": "Internal server error"}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

LOCAL_STAGE = "local"
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_API_ID = "local"

# aws-cdk-lib's ``apigateway.Cors.DEFAULT_HEADERS``: what the REST API's CORS preflight allows.
REST_API_DEFAULT_CORS_HEADERS = (
    "Content-Type",
    "X-Amz-Date",
    "Authorization",
    "X-Api-Key",
    "X-Amz-Security-Token",
    "X-Amz-User-Agent",
)

INTERNAL_ERROR_STATUS = 502
INTERNAL_ERROR_BODY = b'{"message": "Internal server error"}'


@dataclass(frozen=True)
class ProxyResult:
    """What goes back on the wire: status, header pairs (repeats allowed) and the raw body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _multi(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return multi


def _request_time(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def to_rest_event(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Iterable[tuple[str, str]],
    body: bytes | None,
    source_ip: str,
    resource: str,
    stage: str = LOCAL_STAGE,
    request_id: str | None = None,
    now: datetime | None = None,
    domain_name: str = "localhost",
) -> dict[str, Any]:
    """The REST API (v1) Lambda proxy event API Gateway would send for this HTTP request."""
    header_multi = _multi(headers)
    query_pairs = parse_qsl(query_string, keep_blank_values=True) if query_string else []
    query_multi = _multi(query_pairs)
    when = now or datetime.now(UTC)
    user_agent = header_multi.get("User-Agent", header_multi.get("user-agent", [None]))[-1]
    event_body: str | None = None
    is_base64 = False
    if body:
        try:
            event_body = body.decode("utf-8")
        except UnicodeDecodeError:
            event_body = base64.b64encode(body).decode("ascii")
            is_base64 = True
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": {name: values[-1] for name, values in header_multi.items()},
        "multiValueHeaders": header_multi,
        "queryStringParameters": {k: v[-1] for k, v in query_multi.items()} or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method.upper(),
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id or str(uuid.uuid4()),
            "requestTime": _request_time(when),
            "requestTimeEpoch": int(when.timestamp() * 1000),
            "protocol": "HTTP/1.1",
            "domainName": domain_name,
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": LOCAL_API_ID,
            "identity": {"sourceIp": source_ip, "userAgent": user_agent},
        },
        "body": event_body,
        "isBase64Encoded": is_base64,
    }


def internal_error() -> ProxyResult:
    """API Gateway's answer when the integration fails (handler raised, malformed response)."""
    return ProxyResult(INTERNAL_ERROR_STATUS, [("Content-Type", "application/json")], INTERNAL_ERROR_BODY)


def _header_pairs(response: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    """Merge ``headers`` and ``multiValueHeaders`` as API Gateway does: a name present in
    ``multiValueHeaders`` takes only those values."""
    single = response.get("headers") or {}
    multi = response.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        return None
    pairs: list[tuple[str, str]] = []
    multi_names = {str(name).lower() for name in multi}
    for name, value in single.items():
        if str(name).lower() not in multi_names and value is not None:
            pairs.append((str(name), str(value)))
    for name, values in multi.items():
        if not isinstance(values, list):
            return None
        pairs.extend((str(name), str(v)) for v in values if v is not None)
    return pairs


def from_proxy_response(response: Any) -> ProxyResult:
    """The HTTP answer for a Lambda proxy response dict; a malformed one is a 502 like API Gateway's."""
    if not isinstance(response, Mapping):
        return internal_error()
    status = response.get("statusCode", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return internal_error()
    headers = _header_pairs(response)
    if headers is None:
        return internal_error()
    body = response.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        return internal_error()
    elif response.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return internal_error()
    else:
        raw = body.encode("utf-8")
    return ProxyResult(status, headers, raw)


def json_result(status: int, body: Mapping[str, Any]) -> ProxyResult:
    """A JSON answer produced by the local gateway itself (unknown path), shaped like the handlers'."""
    return ProxyResult(
        status,
        [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
        json.dumps(body, separators=(",", ":")).encode(),
    )


def rest_api_preflight(
    allowed_origins: Sequence[str],
    origin: str | None,
    *,
    methods: Sequence[str],
    max_age_seconds: int,
    allowed_headers: Sequence[str] = REST_API_DEFAULT_CORS_HEADERS,
) -> ProxyResult:
    """The answer of the REST API's CORS preflight (the mock integration CDK's ``addCorsPreflight``
    builds): 204; the first allowed origin, or the request's Origin when it is one of the others."""
    allow_origin = allowed_origins[0] if allowed_origins else "*"
    if origin and origin in allowed_origins[1:]:
        allow_origin = origin
    headers = [
        ("Access-Control-Allow-Headers", ",".join(allowed_headers)),
        ("Access-Control-Allow-Origin", allow_origin),
    ]
    if allow_origin != "*":
        headers.append(("Vary", "Origin"))
    headers += [
        ("Access-Control-Allow-Methods", ",".join(methods)),
        ("Access-Control-Max-Age", str(max_age_seconds)),
    ]
    return ProxyResult(204, headers, b"")


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read (local mode,
    the tests and the benches all use this one)."""

    function_name: str = "visitor-tracker"
    timeout_seconds: int = 30
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
