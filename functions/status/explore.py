"""``GET /status/explore``: the lake's answers (visits, bounce rate, duration, top lists with filters, the
previous period, funnels) as JSON, for the owner (the same access check as ``/status``).

Parameters: ``site`` (default: the deployment's default site), a range as ``/status`` takes it
(``range=today|yesterday|7d|30d|12mo`` or ``from``/``to``; default ``30d``), filters ``f.<dimension>=<value>``
(``functions.model.explore``), ``compare=1`` and ``funnel=step,step,...``. A bad parameter is a 400
naming it; no lake in this deployment a 404; an engine failure a 503. Answers are kept
``LAKE_CACHE_SECONDS`` per environment (``functions.lake.analytics``).
"""

from __future__ import annotations

from functions.core import http
from functions.core.observability import logger
from functions.core.settings import Settings
from functions.lake import analytics, store
from functions.lake.config import LakeConfig, get_config
from functions.lake.duck import DuckDBEngine
from functions.lake.engines import AthenaEngine, Engine, QueryFailed
from functions.model import explore, ranges, sites
from functions.model.visit import utc_now

DEFAULT_RANGE = "30d"
UNAVAILABLE: tuple[type[Exception], ...] = (QueryFailed, *store.STORE_ERRORS)


def engine_of(config: LakeConfig) -> Engine:
    """DuckDB over local mode's directory, Athena over the bucket."""
    if config.directory:
        return DuckDBEngine(config.directory)
    return AthenaEngine(config.workgroup, config.database)


def question_of(settings: Settings, query: dict[str, str]) -> analytics.Question:
    """The question a request asks; raises BadRange or BadExplore for the 400."""
    now = utc_now()
    asked = dict(query)
    if not any(k in asked for k in ("range", "from", "to")):
        asked["range"] = DEFAULT_RANGE
    period = ranges.parse(asked, now)
    assert period is not None  # a range is always asked for above
    # The handler has refused an unknown site (404); the default site's rows of before SITES was set are
    # under its old name, ``default``: they are the default site's too.
    resolved = sites.resolve(settings, query.get(sites.SITE_PARAMETER))
    site, *also = sites.lake_partitions(sites.name_of(settings, resolved), [s.domain for s in settings.sites])
    compare = (query.get("compare") or "").strip().lower()
    if compare not in ("", "0", "1", "true", "false"):
        raise explore.BadExplore("compare must be 1 or 0")
    funnel = explore.parse_funnel(query["funnel"]) if query.get("funnel") else ()
    return analytics.Question(
        site=site,
        start=period.start,
        end=period.end,
        today=now.date(),
        filters=explore.parse_filters(query, settings.goals),
        goals=settings.goals,
        compare=compare in ("1", "true"),
        funnel=funnel,
        also=tuple(also),
    )


def response(settings: Settings, request: http.Request, cors: dict[str, str]) -> http.Response:
    config = get_config()
    if not config.enabled:
        return http.error_response(404, "this deployment keeps no lake (LAKE_BUCKET or LAKE_DIR)", headers=cors)
    try:
        question = question_of(settings, request.query)
    except (ranges.BadRange, explore.BadExplore) as exc:
        return http.error_response(400, str(exc), headers=cors)
    try:
        body, cached = analytics.ask(analytics.Explorer(engine_of(config), config), question, config.cache_seconds)
    except UNAVAILABLE as exc:
        logger.exception("Explore unavailable")
        return http.error_response(503, f"explore temporarily unavailable: {exc}"[:300], headers=cors)
    return http.json_response(200, {**body, "cached": cached}, headers=cors, cache_control=http.NO_STORE)
