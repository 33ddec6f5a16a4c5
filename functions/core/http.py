"""One HTTP adapter for every Lambda proxy payload: API Gateway REST (v1), HTTP API and function URLs (v2).

Handlers call ``parse_request(event)`` once and then work on a ``Request`` whatever the payload
format, and build answers with ``json_response`` / ``text_response`` / ``error_response`` (a proxy
response dict is the same for v1 and v2). Parsed by hand rather than through Powertools' resolvers:
it costs nothing at cold start and never raises on odd events (only ``BadRequest``, a 400).

The client IP is taken only from the request context (set by API Gateway / Lambda), never from
``X-Forwarded-For``, which any client can forge.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

# Caps on what we keep from an event: API Gateway already bounds requests (10 KB of headers
# for REST); these guard against odd events from other callers (tests, local mode).
MAX_REQUEST_ID_LENGTH = 128
MAX_HEADER_VALUE_LENGTH = 16_384
MAX_QUERY_PARAMS = 64

JSON_CONTENT_TYPE = "application/json"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
NO_STORE = "no-store"
SVG_CONTENT_TYPE = "image/svg+xml"

Response = dict[str, Any]


class BadRequest(ValueError):
    """The event is not an HTTP request we can answer: the handler turns it into a 400 JSON error."""

    status = 400


class OriginPolicy(Protocol):
    """What CORS needs from the settings (``functions.core.settings.Settings`` satisfies it)."""

    def allows_origin(self, origin: str | None) -> str | None: ...


@dataclass(frozen=True)
class Request:
    """An HTTP request, independent of the payload format it arrived in."""

    method: str  # upper case
    path: str
    headers: dict[str, str] = field(hash=False)  # names lower case; repeated headers joined with ","
    query: dict[str, str] = field(hash=False)  # the first value of each parameter
    source_ip: str | None  # a valid IPv4/IPv6 address from the request context, else None
    request_id: str  # API Gateway's request id (a uuid4 when the event has none)
    user_agent: str
    referer: str | None
    origin: str | None
    cookies: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


# --- parsing -------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A header/query value as text: strings as they are, numbers stringified, anything else dropped."""
    if isinstance(value, str):
        return value[:MAX_HEADER_VALUE_LENGTH]
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def _mapping(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    # REST: multiValueHeaders keeps every value; join them like HTTP does for repeated headers.
    for name, values in _mapping(event.get("multiValueHeaders")).items():
        if not isinstance(name, str) or not isinstance(values, list):
            continue
        texts = [t for t in (_text(v) for v in values) if t is not None]
        if texts:
            headers[name.lower()] = ",".join(texts)
    for name, value in _mapping(event.get("headers")).items():
        text = _text(value)
        if isinstance(name, str) and text is not None:
            headers.setdefault(name.lower(), text)
    return headers


def _first_values(pairs: Iterable[tuple[Any, Any]]) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, value in pairs:
        text = _text(value)
        if isinstance(name, str) and text is not None and name not in query and len(query) < MAX_QUERY_PARAMS:
            query[name] = text
    return query


def _query_v1(event: Mapping[str, Any]) -> dict[str, str]:
    pairs: list[tuple[Any, Any]] = []
    for name, values in _mapping(event.get("multiValueQueryStringParameters")).items():
        if isinstance(values, list) and values:
            pairs.append((name, values[0]))
    pairs.extend(_mapping(event.get("queryStringParameters")).items())
    return _first_values(pairs)


def _query_v2(event: Mapping[str, Any]) -> dict[str, str]:
    raw = event.get("rawQueryString")
    if isinstance(raw, str) and raw:
        try:
            return _first_values(parse_qsl(raw, keep_blank_values=True, max_num_fields=None))
        except ValueError:
            pass  # a malformed raw string: fall back to API Gateway's parsed parameters
    # queryStringParameters joins repeated values with commas in v2: keep the first one.
    return _first_values(
        (k, v.split(",", 1)[0] if isinstance(v, str) else v)
        for k, v in _mapping(event.get("queryStringParameters")).items()
    )


def _valid_ip(value: Any) -> str | None:
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _request_id(context: Mapping[str, Any]) -> str:
    value = context.get("requestId")
    if isinstance(value, str) and 0 < len(value) <= MAX_REQUEST_ID_LENGTH and value.isprintable():
        stripped = value.strip()
        if stripped and "#" not in stripped:  # '#' separates key parts in the table
            return stripped
    return str(uuid.uuid4())


def _cookies(headers: Mapping[str, str], event_cookies: Any) -> tuple[str, ...]:
    if isinstance(event_cookies, list):
        return tuple(c.strip() for c in event_cookies if isinstance(c, str) and c.strip())
    raw = headers.get("cookie")
    return tuple(c.strip() for c in raw.split(";") if c.strip()) if raw else ()


def parse_request(event: Any) -> Request:
    """Turn a v1 or v2 proxy event into a ``Request``; raise ``BadRequest`` when it is not one."""
    if not isinstance(event, Mapping):
        raise BadRequest("the event is not an HTTP request")
    context = _mapping(event.get("requestContext"))
    http = _mapping(context.get("http"))
    v2 = event.get("version") == "2.0" or bool(http)
    headers = _headers(event)
    if v2:
        method = http.get("method") or (event.get("routeKey") or "").partition(" ")[0]
        path = http.get("path") or event.get("rawPath")
        source_ip = http.get("sourceIp")
        query = _query_v2(event)
    else:
        method = event.get("httpMethod") or context.get("httpMethod")
        path = event.get("path") or context.get("path")
        source_ip = _mapping(context.get("identity")).get("sourceIp")
        query = _query_v1(event)
    if not isinstance(method, str) or not method.strip() or not method.strip().isalpha():
        raise BadRequest("the request has no valid HTTP method")
    if not isinstance(path, str) or not path:
        path = "/"
    return Request(
        method=method.strip().upper(),
        path=path,
        headers=headers,
        query=query,
        source_ip=_valid_ip(source_ip),
        request_id=_request_id(context),
        user_agent=headers.get("user-agent", ""),
        referer=headers.get("referer") or None,
        origin=headers.get("origin") or None,
        cookies=_cookies(headers, event.get("cookies")),
    )


# --- responses -----------------------------------------------------------------------------


def _response(
    status: int, body: str, content_type: str, headers: Mapping[str, str] | None, cache_control: str | None
) -> Response:
    all_headers = {"Content-Type": content_type}
    if cache_control:
        all_headers["Cache-Control"] = cache_control
    if headers:
        all_headers.update(headers)
    return {"statusCode": status, "headers": all_headers, "body": body, "isBase64Encoded": False}


def json_response(
    status: int,
    body: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    cache_control: str | None = NO_STORE,
) -> Response:
    """A JSON proxy response (the same dict works for REST and v2 payloads)."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)
    return _response(status, text, JSON_CONTENT_TYPE, headers, cache_control)


def text_response(
    status: int,
    text: str,
    content_type: str,
    *,
    headers: Mapping[str, str] | None = None,
    cache_control: str | None = NO_STORE,
) -> Response:
    """A proxy response of text in ``content_type`` (the dashboard's HTML, the badge's SVG)."""
    return _response(status, text, content_type, headers, cache_control)


def error_response(status: int, message: str, *, headers: Mapping[str, str] | None = None) -> Response:
    """``{"error": message}`` with the given status; never cached."""
    return json_response(status, {"error": message}, headers=headers)


def method_not_allowed(allowed: Iterable[str], *, headers: Mapping[str, str] | None = None) -> Response:
    """405 JSON error with the ``Allow`` header listing what the resource does answer."""
    allow = ", ".join(allowed)
    return error_response(405, "method not allowed", headers={**(headers or {}), "Allow": allow})


def cors_headers(settings: OriginPolicy, request: Request | None) -> dict[str, str]:
    """CORS response headers for ``request`` under the ALLOWED_ORIGINS policy.

    With an allow-list the answer depends on the Origin header, so ``Vary: Origin`` keeps shared
    caches from serving one origin's answer to another; a disallowed origin gets no Allow-Origin.
    """
    origin = request.origin if request else None
    allowed = settings.allows_origin(origin)
    headers: dict[str, str] = {}
    if allowed:
        headers["Access-Control-Allow-Origin"] = allowed
    if allowed != "*":
        headers["Vary"] = "Origin"
    return headers

