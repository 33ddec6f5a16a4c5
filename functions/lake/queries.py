"""The lake's analytics queries, written once for DuckDB and Athena (``functions.lake.dialect``).

Definitions (docs/lake.md sets them beside Plausible's and Umami's):

- a **visit** is one visitor's rows (pageviews and custom events, automated traffic left out) with no
  gap over 30 minutes, within one UTC day (the visitor id is salted per day) and with at least one
  pageview; duplicates of a row (a redelivered batch) are dropped first, one row per ``visit_id``;
- a visit **bounces** with fewer than 2 pageviews and no custom event;
- its **duration** is its last row's time minus its first's (0 for one pageview alone);
- its **entry** and **exit** pages are its first and last pageviews'; its referrer, channel, campaign,
  country, device, browser, OS, screen and host name are its first row's;
- a page's **time on page** is the average time from its pageview to the next pageview of the visit
  (views without a next pageview are left out, as Plausible's legacy time on page did).

Every row of the panels query is ``(day, dim, value, visits, visitors, pageviews, bounces, entries,
duration_ms, events, top_ms, top_n)``; ``dim`` ``*`` is the whole (filtered) period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from functions.core.goals import EVENT_KIND, Goal
from functions.lake.config import RAW_TABLE
from functions.lake.dialect import literal, materialized, regex_match
from functions.model.explore import NONE, VISIT_DIMENSIONS, Filter, goal_named, page_regex

GAP_MS = 30 * 60 * 1000
TOP = 10
PANEL_COLUMNS = (
    "day", "dim", "value", "visits", "visitors", "pageviews", "bounces", "entries",
    "duration_ms", "events", "top_ms", "top_n",
)  # fmt: skip
_KEY = ("day", "visitor", "sn")


@dataclass(frozen=True)
class Scope:
    """Which rows: a site, a range of days (inclusive, YYYY-MM-DD), AND filters, the declared goals;
    ``also``: other partition values of the same site (the default site's rows of before ``SITES``)."""

    site: str
    start: str
    end: str
    filters: tuple[Filter, ...] = ()
    goals: tuple[Goal, ...] = ()
    also: tuple[str, ...] = ()


def _on(left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in _KEY)


def step_condition(step: Goal, alias: str, dialect: str) -> str:
    """A row completing a goal or funnel step: the named event, or a pageview of the page pattern."""
    if step.kind == EVENT_KIND:
        return f"{alias}.event = {literal(step.target)}"
    return f"{alias}.event IS NULL AND {regex_match(f'{alias}.path', page_regex(step.target), dialect)}"


def _filter_condition(flt: Filter, scope: Scope, dialect: str) -> str:
    if flt.dimension in VISIT_DIMENSIONS:
        column = f"s.{VISIT_DIMENSIONS[flt.dimension]}"
        return f"{column} IS NULL" if flt.value == NONE else f"{column} = {literal(flt.value)}"
    if flt.dimension == "page":
        has = f"x.event IS NULL AND x.path = {literal(flt.value)}"
    elif flt.dimension == "event":
        has = f"x.event = {literal(flt.value)}"
    else:
        goal = goal_named(flt.value, scope.goals)
        has = step_condition(goal, "x", dialect) if goal is not None else "1 = 0"
    return f"EXISTS (SELECT 1 FROM ev x WHERE {_on('x', 's')} AND {has})"


def _row_condition(flt: Filter, scope: Scope, dialect: str) -> str:
    """A row that a visitor of a matching visit must have (a visit's attributes are its rows')."""
    if flt.dimension in ("entry_page", "exit_page", "page"):
        return f"event IS NULL AND path = {literal(flt.value)}"
    if flt.dimension == "event":
        return f"event = {literal(flt.value)}"
    if flt.dimension == "goal":
        goal = goal_named(flt.value, scope.goals)
        return step_condition(goal, RAW_TABLE, dialect) if goal is not None else "1 = 0"
    column = VISIT_DIMENSIONS[flt.dimension]
    if flt.value == NONE:
        return f"{column} IS NULL"
    if flt.dimension == "channel" and flt.value == "Direct":  # a visit whose first row has none is Direct
        return "(channel IS NULL OR channel = 'Direct')"
    return f"{column} = {literal(flt.value)}"


def _scope_where(scope: Scope) -> str:
    return (
        f"site IN ({', '.join(literal(s) for s in (scope.site, *scope.also))}) "
        f"AND day BETWEEN {literal(scope.start)} AND {literal(scope.end)} AND NOT is_bot"
    )


def _candidates(scope: Scope, dialect: str) -> str:
    """With filters, only the visitors that have a row each filter needs are sessionised: a superset of
    the matching visits' visitors (their visits are then filtered exactly), and far fewer rows."""
    return "".join(
        f" AND coalesce(visitor, visit_id) IN (SELECT coalesce(visitor, visit_id) FROM {RAW_TABLE} "
        f"WHERE {_scope_where(scope)} AND {_row_condition(f, scope, dialect)})"
        for f in scope.filters
    )


def visits_ctes(scope: Scope, dialect: str) -> str:
    """The WITH clause every query starts from: ``ev`` (rows numbered into visits) and ``visits``."""
    where = " AND ".join(_filter_condition(f, scope, dialect) for f in scope.filters) or "1 = 1"
    order = "ORDER BY ts_ms, visit_id"
    once = materialized(dialect)
    return f"""WITH raw AS (
  SELECT day, visit_id, ts_ms, coalesce(visitor, visit_id) AS visitor, path, referrer, channel, utm_source,
    utm_medium, utm_campaign, country, browser, os, device, screen, hostname, event,
    row_number() OVER (PARTITION BY visit_id ORDER BY ts_ms) AS copy
  FROM {RAW_TABLE}
  WHERE {_scope_where(scope)}{_candidates(scope, dialect)}
), marked AS (
  SELECT *, CASE WHEN ts_ms - lag(ts_ms) OVER (PARTITION BY day, visitor {order}) <= {GAP_MS} THEN 0 ELSE 1 END
    AS starts
  FROM raw WHERE copy = 1
), ev AS{once} (
  SELECT *, sum(starts) OVER (PARTITION BY day, visitor {order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    AS sn, row_number() OVER (PARTITION BY day, visitor {order}) AS pos
  FROM marked
), pv AS{once} (
  SELECT day, visitor, sn, path, ts_ms,
    row_number() OVER (PARTITION BY day, visitor, sn {order}) AS first_rank,
    row_number() OVER (PARTITION BY day, visitor, sn ORDER BY ts_ms DESC, visit_id DESC) AS last_rank,
    lead(ts_ms) OVER (PARTITION BY day, visitor, sn {order}) AS next_ms
  FROM ev WHERE event IS NULL
), totals AS (
  SELECT day, visitor, sn, min(ts_ms) AS started, max(ts_ms) AS ended,
    sum(CASE WHEN event IS NULL THEN 1 ELSE 0 END) AS pageviews,
    sum(CASE WHEN event IS NULL THEN 0 ELSE 1 END) AS events
  FROM ev GROUP BY day, visitor, sn
), sessions AS (
  SELECT t.day, t.visitor, t.sn, t.started, t.ended, t.pageviews, t.events, f.referrer,
    coalesce(f.channel, 'Direct') AS channel, f.utm_source, f.utm_medium, f.utm_campaign, f.country, f.browser, f.os,
    f.device, f.screen, f.hostname, en.path AS entry_page, ex.path AS exit_page,
    CASE WHEN t.pageviews < 2 AND t.events = 0 THEN 1 ELSE 0 END AS bounced
  FROM totals t
  JOIN ev f ON {_on("f", "t")} AND f.starts = 1
  JOIN pv en ON {_on("en", "t")} AND en.first_rank = 1
  JOIN pv ex ON {_on("ex", "t")} AND ex.last_rank = 1
), visits AS{once} (
  SELECT * FROM sessions s WHERE {where}
)"""


def _measures(table: str = "v") -> str:
    return (
        f"count(*) AS visits, count(DISTINCT {table}.visitor) AS visitors, sum({table}.pageviews) AS pageviews, "
        f"sum({table}.bounced) AS bounces, count(*) AS entries, sum({table}.ended - {table}.started) AS duration_ms, "
        f"sum({table}.events) AS events, 0 AS top_ms, 0 AS top_n"
    )


def panels_sql(scope: Scope, dialect: str, *, summary_only: bool = False, by_day: bool = False, top: int = TOP) -> str:
    """One query for the headline numbers and every top list (or the headline numbers alone)."""
    day = "v.day" if by_day else "'*'"
    group = "GROUP BY v.day" if by_day else ""
    parts = [f"SELECT {day} AS day, '*' AS dim, '*' AS value, {_measures()} FROM visits v {group}"]
    if not summary_only:
        for dim, column in VISIT_DIMENSIONS.items():
            value = f"coalesce(v.{column}, {literal(NONE)})"
            keys = f"{day + ', ' if by_day else ''}{value}"
            parts.append(f"SELECT {day}, {literal(dim)}, {value}, {_measures()} FROM visits v GROUP BY {keys}")
        keys = f"{day + ', ' if by_day else ''}p.path"
        parts.append(
            f"SELECT {day.replace('v.', 'p.')}, 'page', p.path, count(*), count(DISTINCT p.visitor), sum(p.views), "
            "sum(p.bounced), sum(p.entered), 0, 0, sum(p.top_ms), sum(p.top_n) FROM ("
            "SELECT q.day, q.visitor, q.sn, q.path, count(*) AS views, "
            "max(CASE WHEN v.entry_page = q.path THEN v.bounced ELSE 0 END) AS bounced, "
            "max(CASE WHEN v.entry_page = q.path THEN 1 ELSE 0 END) AS entered, "
            "sum(CASE WHEN q.next_ms IS NULL THEN 0 ELSE q.next_ms - q.ts_ms END) AS top_ms, "
            "sum(CASE WHEN q.next_ms IS NULL THEN 0 ELSE 1 END) AS top_n "
            f"FROM pv q JOIN visits v ON {_on('q', 'v')} GROUP BY q.day, q.visitor, q.sn, q.path) p "
            f"GROUP BY {keys.replace('v.', 'p.')}"
        )
        keys = f"{day + ', ' if by_day else ''}e.event"
        parts.append(
            f"SELECT {day.replace('v.', 'e.')}, 'event', e.event, count(*), count(DISTINCT e.visitor), 0, 0, 0, 0, "
            "sum(e.n), 0, 0 FROM (SELECT x.day, x.visitor, x.sn, x.event, count(*) AS n "
            f"FROM ev x JOIN visits v ON {_on('x', 'v')} WHERE x.event IS NOT NULL "
            "GROUP BY x.day, x.visitor, x.sn, x.event) e "
            f"GROUP BY {keys.replace('v.', 'e.')}"
        )
        for goal in scope.goals:
            has = f"EXISTS (SELECT 1 FROM ev x WHERE {_on('x', 'v')} AND {step_condition(goal, 'x', dialect)})"
            label = literal(goal.label)
            parts.append(f"SELECT {day}, 'goal', {label}, {_measures()} FROM visits v WHERE {has} {group}")
    partition = "PARTITION BY day, dim" if by_day else "PARTITION BY dim"
    union = "\nUNION ALL ".join(parts)
    return (
        f"{visits_ctes(scope, dialect)}, panels AS (\n{union}\n)\n"
        f"SELECT {', '.join(PANEL_COLUMNS)} FROM (SELECT *, "
        f"row_number() OVER ({partition} ORDER BY visits DESC, value) AS place FROM panels) ranked "
        f"WHERE place <= {top} ORDER BY day, dim, visits DESC, value"
    )


def funnel_sql(scope: Scope, steps: Sequence[Goal], dialect: str) -> str:
    """Visits that reach each step in order (each step's row after the previous step's), and all visits."""
    ctes = []
    for n, step in enumerate(steps, 1):
        if n == 1:
            source = f"ev e JOIN visits v ON {_on('e', 'v')}"
        else:
            source = f"ev e JOIN step{n - 1} p ON {_on('e', 'p')} AND e.pos > p.pos"
        ctes.append(
            f"step{n} AS (SELECT e.day, e.visitor, e.sn, min(e.pos) AS pos FROM {source} "
            f"WHERE {step_condition(step, 'e', dialect)} GROUP BY e.day, e.visitor, e.sn)"
        )
    counts = ", ".join(f"(SELECT count(*) FROM step{n}) AS step{n}" for n in range(1, len(steps) + 1))
    return f"{visits_ctes(scope, dialect)}, {', '.join(ctes)}\nSELECT (SELECT count(*) FROM visits) AS visits, {counts}"
