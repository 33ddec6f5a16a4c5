"""Status Lambda: ``GET /status`` (JSON summary, ``?range=`` for a period), ``GET /dashboard`` (the
HTML page), ``GET /count?page=`` (a page's visits, JSON) and ``GET /badge.svg?page=&label=`` (the
same as an SVG badge) and ``GET /script.js`` (the site's script tag, public and long-cached). None of
them counts a visit.

Routed on the last path segment, so it answers the same behind a REST API stage (``/prod/status``),
an HTTP API or a function URL. Other methods 405; other paths 404 (CORS preflights are answered by
the API itself). Thin and light to import, like ingest: no Powertools event handler.
"""

from __future__ import annotations

from typing import Any

from functions.core import http, script
from functions.core.handler import http_handler
from functions.core.observability import logger, tracer
from functions.core.settings import Settings
from functions.model import ranges
from functions.model.visit import utc_now
from functions.status import badge, page, service
from functions.tables.store import AWS_ERRORS

ROUTES = ("status", "dashboard", "count", "badge.svg", "script.js")
PAGE_COUNT_CACHE = "max-age=60"  # a badge on a busy page is fetched often; seconds behind is fine
ALLOWED_METHODS = ("GET",)
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
UNAVAILABLE = (*AWS_ERRORS, RuntimeError)


def route_of(path: str) -> str | None:
    segment = path.rstrip("/").rsplit("/", 1)[-1].lower()
    return segment if segment in ROUTES else None


def status_response(settings: Settings, request: http.Request) -> http.Response:
    cors = http.cors_headers(settings, request)
    try:
        requested = ranges.parse(request.query, utc_now())
    except ranges.BadRange as exc:
        return http.error_response(400, str(exc), headers=cors)
    try:
        body = service.build_status(settings, requested=requested)
    except UNAVAILABLE:
        logger.exception("Status unavailable")
        return http.error_response(503, "status temporarily unavailable", headers=cors)
    cache_control = f"max-age={settings.status_cache_seconds}" if settings.status_cache_seconds else http.NO_STORE
    return http.json_response(200, body, headers=cors, cache_control=cache_control)


def page_count_response(settings: Settings, request: http.Request, *, as_badge: bool) -> http.Response:
    cors = http.cors_headers(settings, request)
    page_path = (request.query.get("page") or "").strip()
    if not page_path.startswith("/"):
        return http.error_response(400, "page must be a path starting with /, e.g. ?page=/blog/post", headers=cors)
    try:
        counts = service.page_count(settings, page_path)
    except UNAVAILABLE:
        logger.exception("Page count unavailable")
        return http.error_response(503, "page count temporarily unavailable", headers=cors)
    if not as_badge:
        return http.json_response(200, counts, headers=cors, cache_control=PAGE_COUNT_CACHE)
    svg = badge.render(request.query.get("label") or "visits", f"{counts['total']:,}")
    headers = {**cors, **PAGE_HEADERS, "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
    return http.text_response(200, svg, http.SVG_CONTENT_TYPE, headers=headers, cache_control=PAGE_COUNT_CACHE)


def dashboard_response() -> http.Response:
    dashboard = page.load_page()
    if dashboard is None:
        return http.error_response(404, "the dashboard page is not deployed")
    headers = {**PAGE_HEADERS, "Content-Security-Policy": dashboard.content_security_policy}
    return http.text_response(200, dashboard.html, http.HTML_CONTENT_TYPE, headers=headers, cache_control="max-age=60")


def answer(request: http.Request, settings: Settings) -> http.Response:
    """Route a read request: the summary, the dashboard page, or a page's count."""
    route = route_of(request.path)
    cors = http.cors_headers(settings, request)
    if route is None:
        return http.error_response(404, "not found", headers=cors)
    if route == "script.js":
        return script.response(request)
    if request.method != "GET":
        return http.method_not_allowed(ALLOWED_METHODS, headers=cors)
    if route == "dashboard":
        return dashboard_response()
    if route in ("count", "badge.svg"):
        return page_count_response(settings, request, as_badge=route == "badge.svg")
    return status_response(settings, request)


_entry = http_handler(answer)


@tracer.capture_lambda_handler
def handler(event: Any, context: Any) -> http.Response:
    """The Lambda entry point (REST API, HTTP API or function URL payload; any context, even None)."""
    return _entry(event, context)
