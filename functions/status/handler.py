"""Status Lambda: ``GET /status`` (JSON summary) and ``GET /dashboard`` (the HTML page).

Routed on the last path segment, so it answers the same behind a REST API stage (``/prod/status``),
an HTTP API or a function URL. OPTIONS gets the CORS preflight; other methods 405; other paths 404.
Thin and light to import, like ingest: no Powertools event handler.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.common import http
from functions.common.observability import logger, tracer
from functions.common.settings import ConfigError, Settings, get_settings
from functions.status import page, service

ROUTES = ("status", "dashboard")
ALLOWED_METHODS = ("GET", "OPTIONS")
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def route_of(path: str) -> str | None:
    segment = path.rstrip("/").rsplit("/", 1)[-1].lower()
    return segment if segment in ROUTES else None


def status_response(settings: Settings, request: http.Request) -> http.Response:
    cors = http.cors_headers(settings, request)
    try:
        body = service.build_status(settings)
    except (ClientError, BotoCoreError, RuntimeError):
        logger.exception("Status unavailable")
        return http.error_response(503, "status temporarily unavailable", headers=cors)
    cache_control = f"max-age={settings.status_cache_seconds}" if settings.status_cache_seconds else http.NO_STORE
    return http.json_response(200, body, headers=cors, cache_control=cache_control)


def dashboard_response() -> http.Response:
    dashboard = page.load_page()
    if dashboard is None:
        return http.error_response(404, "the dashboard page is not deployed")
    headers = {**PAGE_HEADERS, "Content-Security-Policy": dashboard.content_security_policy}
    return http.html_response(200, dashboard.html, headers=headers, cache_control="max-age=60")


@tracer.capture_lambda_handler
def handler(event: Any, context: Any) -> http.Response:
    """The Lambda entry point (REST API, HTTP API or function URL payload; any context, even None)."""
    logger.append_keys(
        function_name=getattr(context, "function_name", None),
        function_request_id=getattr(context, "aws_request_id", None),
    )
    try:
        request = http.parse_request(event)
    except http.BadRequest as exc:
        logger.set_correlation_id(None)
        logger.warning("Bad request", extra={"reason": str(exc)})
        return http.error_response(exc.status, str(exc))
    logger.set_correlation_id(request.request_id)
    try:
        settings = get_settings()
    except ConfigError:
        logger.exception("Configuration error")
        return http.error_response(500, "the tracker is misconfigured")
    route = route_of(request.path)
    cors = http.cors_headers(settings, request)
    if route is None:
        return http.error_response(404, "not found", headers=cors)
    if request.method == "OPTIONS":
        return http.preflight_response(settings, request, methods=ALLOWED_METHODS)
    if request.method != "GET":
        return http.method_not_allowed(ALLOWED_METHODS, headers=cors)
    if route == "dashboard":
        return dashboard_response()
    return status_response(settings, request)
