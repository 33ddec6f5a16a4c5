"""GET / : count a visit and answer ``{"visitor_count": N}``. OPTIONS: CORS preflight. Others: 405.

Thin: adapts the API Gateway / function URL event to ``functions.ingest.service`` and back. Imports
stay light (no Powertools event handler, no resource layer) because every cold start pays for them.
"""

from __future__ import annotations

from typing import Any

from functions.common.http import (
    BadRequest,
    Request,
    cors_headers,
    error_response,
    json_response,
    method_not_allowed,
    parse_request,
    preflight_response,
)
from functions.common.observability import logger
from functions.common.settings import ConfigError, Settings, get_settings
from functions.ingest import service

ALLOWED_METHODS = ("GET", "OPTIONS")

_cold_start = True


def _log_context(context: Any) -> None:
    """Lambda context keys on every log line (tolerates a missing or fake context, e.g. local mode)."""
    global _cold_start
    logger.append_keys(
        cold_start=_cold_start,
        function_name=getattr(context, "function_name", None),
        function_request_id=getattr(context, "aws_request_id", None),
    )
    _cold_start = False


VISIT_PATHS = ("/", "")


def _answer(request: Request, settings: Settings) -> dict[str, Any]:
    cors = cors_headers(settings, request)
    if request.path not in VISIT_PATHS:
        # A Lambda function URL sends every path here (no gateway routing): /favicon.ico, /robots.txt
        # and scanners' probes are not visits.
        return error_response(404, "not found", headers=cors)
    if request.method == "OPTIONS":
        return preflight_response(settings, request, methods=ALLOWED_METHODS)
    if request.method != "GET":
        return method_not_allowed(ALLOWED_METHODS, headers=cors)
    try:
        recorded = service.record_visit(request, settings)
    except (service.CounterUnavailable, service.VisitNotRecorded):
        return error_response(503, "the visitor counter is unavailable, please retry", headers=cors)
    logger.debug(  # debug: one INFO line per visit would cost more in CloudWatch Logs than the rest
        "visit",
        extra={"counted": recorded.visit.counted, "is_bot": recorded.visit.is_bot, "delivery": recorded.delivery},
    )
    return json_response(200, {"visitor_count": recorded.count}, headers=cors)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point (REST API, HTTP API or function URL payload)."""
    _log_context(context)
    try:
        request = parse_request(event)
    except BadRequest as exc:
        logger.set_correlation_id(None)
        logger.warning("bad request", extra={"reason": str(exc)})
        return error_response(exc.status, str(exc))
    logger.set_correlation_id(request.request_id)
    try:
        settings = get_settings()
    except ConfigError:
        logger.exception("configuration error")
        return error_response(500, "the tracker is misconfigured")
    try:
        return _answer(request, settings)
    finally:
        service.flush_metrics()
