"""Status Lambda: ``GET /status`` (JSON summary, ``?range=`` for a period), ``GET /dashboard`` (the
HTML page), ``GET /count?page=`` (a page's visits, JSON) and ``GET /badge.svg?page=&label=`` (the
same as an SVG badge) and ``GET /script.js`` (the site's script tag, public and long-cached). None of
them counts a visit.

Routed on the last path segment, so it answers the same behind a REST API stage (``/prod/status``),
an HTTP API or a function URL. Other methods 405; other paths 404 (CORS preflights are answered by
the API itself). Thin and light to import, like ingest: no Powertools event handler.

Private by default, the same on every ingress: ``/status`` needs the owner's token or a shared link's
(``Authorization: Bearer``) unless PUBLIC_DASHBOARD is set, and ``/dashboard`` answers an anonymous
caller 401 with its sign-in form (the page holds no data; it asks for the token once and sends it
to ``/status``). ``/count`` and ``/badge.svg`` answer anyone for the pages PUBLIC_COUNTERS allows.
"""

from __future__ import annotations

from typing import Any

from functions.core import http, script
from functions.core.handler import http_handler
from functions.core.observability import logger, tracer
from functions.core.settings import Settings
from functions.model import access, ranges, sites
from functions.model.visit import utc_now
from functions.status import badge, explore, page, service
from functions.tables import access as tokens
from functions.tables.store import AWS_ERRORS

ROUTES = ("status", "dashboard", "count", "badge.svg", "script.js", "explore")
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


SIGN_IN = 'Bearer realm="visitor-tracker"'
NOT_SIGNED_IN = "sign in: send the owner's access token or a shared link's as Authorization: Bearer <token>"
COUNTER_NOT_PUBLIC = "this counter is not public: send an access token as Authorization: Bearer <token>"


def signed_in(settings: Settings, request: http.Request) -> bool:
    """Whether the request carries a token the table knows (one GetItem; never cached, so revoking is instant)."""
    presented = access.presented_token(request)
    if presented is None:
        return False
    stored = tokens.stored_secret(settings.table_name, presented.token_id)
    return access.secret_matches(stored, presented.secret)


def refused(status: int, message: str, cors: dict[str, str]) -> http.Response:
    return http.error_response(status, message, headers={**cors, "WWW-Authenticate": SIGN_IN})


def status_response(settings: Settings, request: http.Request, site: str | None) -> http.Response:
    cors = http.cors_headers(settings, request)
    try:
        requested = ranges.parse(request.query, utc_now())
    except ranges.BadRange as exc:
        return http.error_response(400, str(exc), headers=cors)
    try:
        body = service.build_status(settings, requested=requested, site=site)
    except UNAVAILABLE:
        logger.exception("Status unavailable")
        return http.error_response(503, "status temporarily unavailable", headers=cors)
    cache_control = http.NO_STORE
    if settings.status_cache_seconds:  # only the browser may keep a private answer
        scope = "public" if settings.public_dashboard else "private"
        cache_control = f"{scope}, max-age={settings.status_cache_seconds}"
    return http.json_response(200, body, headers=cors, cache_control=cache_control)


def page_count_response(
    settings: Settings, request: http.Request, site: str | None, *, as_badge: bool
) -> http.Response:
    cors = http.cors_headers(settings, request)
    page_path = (request.query.get("page") or "").strip()
    if not page_path.startswith("/"):
        return http.error_response(400, "page must be a path starting with /, e.g. ?page=/blog/post", headers=cors)
    # The same refusal whether the page has visits or not: it tells nothing about the page.
    public = access.counter_is_public(settings, page_path, site)
    cache_control = PAGE_COUNT_CACHE if public else http.NO_STORE  # a private answer stays out of shared caches
    try:
        if not public and not signed_in(settings, request):
            return refused(403, COUNTER_NOT_PUBLIC, cors)
        counts = service.page_count(settings, page_path, site=site)
    except UNAVAILABLE:
        logger.exception("Page count unavailable")
        return http.error_response(503, "page count temporarily unavailable", headers=cors)
    if not as_badge:
        return http.json_response(200, counts, headers=cors, cache_control=cache_control)
    svg = badge.render(request.query.get("label") or "visits", f"{counts['total']:,}")
    headers = {**cors, **PAGE_HEADERS, "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
    return http.text_response(200, svg, http.SVG_CONTENT_TYPE, headers=headers, cache_control=cache_control)


def dashboard_response(status: int = 200) -> http.Response:
    """The page (no data in it); 401 with the same page, which then shows its sign-in form."""
    dashboard = page.load_page()
    if dashboard is None:
        return http.error_response(404, "the dashboard page is not deployed")
    headers = {**PAGE_HEADERS, "Content-Security-Policy": dashboard.content_security_policy}
    if status == 401:
        headers["WWW-Authenticate"] = SIGN_IN
    cache_control = "max-age=60" if status == 200 else http.NO_STORE
    return http.text_response(
        status, dashboard.html, http.HTML_CONTENT_TYPE, headers=headers, cache_control=cache_control
    )


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
    try:  # the page itself is the same for every site: it picks one from /status's list
        site = None if route == "dashboard" else sites.resolve(settings, request.query.get(sites.SITE_PARAMETER))
    except sites.UnknownSite as exc:
        return http.error_response(404, str(exc), headers=cors)
    if route in ("count", "badge.svg"):
        return page_count_response(settings, request, site, as_badge=route == "badge.svg")
    if not settings.public_dashboard:
        try:
            allowed = signed_in(settings, request)
        except UNAVAILABLE:
            logger.exception("Access check unavailable")
            return http.error_response(503, "status temporarily unavailable", headers=cors)
        if not allowed:
            return dashboard_response(401) if route == "dashboard" else refused(401, NOT_SIGNED_IN, cors)
    if route == "dashboard":
        return dashboard_response()
    if route == "explore":  # GET /status/explore: the lake (issue 22), owner-only like /status
        return explore.response(settings, request, cors)
    return status_response(settings, request, site)


_entry = http_handler(answer)


@tracer.capture_lambda_handler
def handler(event: Any, context: Any) -> http.Response:
    """The Lambda entry point (REST API, HTTP API or function URL payload; any context, even None)."""
    return _entry(event, context)
