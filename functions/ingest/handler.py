"""GET / : count a visit and answer ``{"visitor_count": N}``; with ``?e=`` record a custom event instead and
answer ``{"event": name}`` (a 400 over the limits of ``functions.model.events``); GET /script.js (function
URLs): the site's script. Other methods: 405; other paths: 404.

Thin: adapts the API Gateway / function URL request to ``functions.ingest.service`` and back. Imports
stay light (no Powertools event handler, no resource layer) because every cold start pays for them.
CORS preflights never reach a function: the API answers them (``definitions.CORS_ALLOW_METHODS``).
"""

from __future__ import annotations

from functions.core import http
from functions.core.handler import http_handler
from functions.core.observability import logger
from functions.core.settings import Settings
from functions.ingest import service
from functions.model import events, sites

ALLOWED_METHODS = ("GET",)
VISIT_PATHS = ("/", "")
SCRIPT_PATH = "/script.js"


def answer(request: http.Request, settings: Settings) -> http.Response:
    """Count the visit of a ``GET /`` and answer the count."""
    cors = http.cors_headers(settings, request)
    if request.path == SCRIPT_PATH:
        # Behind a function URL ingest serves the site's script too: imported then, not on every cold start.
        from functions.core import script

        return script.response(request)
    if request.path not in VISIT_PATHS:
        # A Lambda function URL sends every path here (no gateway routing): /favicon.ico, /robots.txt
        # and scanners' probes are not visits.
        return http.error_response(404, "not found", headers=cors)
    if request.method != "GET":
        return http.method_not_allowed(ALLOWED_METHODS, headers=cors)
    try:
        site = sites.resolve(settings, request.query.get(sites.SITE_PARAMETER))
    except sites.UnknownSite as exc:
        return http.error_response(404, str(exc), headers=cors)
    if not sites.origin_allowed(settings, site, request.origin, request.referer):
        return http.error_response(403, "this page's origin may not count visits for this site", headers=cors)
    try:
        event = events.event_of(request.query)
    except events.BadEvent as exc:
        return http.error_response(400, str(exc), headers=cors)
    if event is not None:
        return event_response(request, settings, event, cors, site)
    try:
        recorded = service.record_visit(request, settings, site)
    except (service.CounterUnavailable, service.VisitNotRecorded):
        return http.error_response(503, "the visitor counter is unavailable, please retry", headers=cors)
    logger.debug(  # debug: one INFO line per visit would cost more in CloudWatch Logs than the rest
        "visit",
        extra={"counted": recorded.visit.counted, "is_bot": recorded.visit.is_bot, "delivery": recorded.delivery},
    )
    return http.json_response(200, {"visitor_count": recorded.count}, headers=cors)


def event_response(
    request: http.Request,
    settings: Settings,
    event: tuple[str, dict[str, str]],
    cors: dict[str, str],
    site: str | None,
) -> http.Response:
    """A custom event: queued for the writer (counted once there, never as a visit); answers its name."""
    try:
        service.record_event(request, settings, *event, site)
    except service.VisitNotRecorded:
        return http.error_response(503, "the event could not be recorded, please retry", headers=cors)
    return http.json_response(200, {"event": event[0]}, headers=cors)


handler = http_handler(answer)
