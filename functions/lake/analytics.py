"""The explorer's answers: headline numbers, top lists, the previous period and funnels, from the lake.

Fast where it matters: a finished day's panels (the unfiltered headline numbers and top lists) are
computed once, in one query for every day missing, and kept as a small JSON object per site and
day (``rollups/site=<site>/day=<day>/<goals>.json``, beside the events); an unfiltered range reads
those and queries only the days not finished yet. Filtered views, funnels and unfinished days are
queried on demand, and every answer is kept ``LAKE_CACHE_SECONDS`` per environment.

Visits, bounces, durations and pageviews add up across days because a visit never spans two days
(the visitor id is salted per day), and so do unique visitors: a visitor's id changes every day.
A rollup keeps a dimension's top ``ROLLUP_TOP`` values of its day, so a range's top 10 is exact
unless a value outside every day's top 1,000 would have made it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from functions.core.environment import ENVIRONMENT
from functions.core.goals import Goal
from functions.lake import store
from functions.lake.config import LakeConfig
from functions.lake.engines import Engine
from functions.lake.queries import PANEL_COLUMNS, TOP, Scope, funnel_sql, panels_sql
from functions.model.explore import Filter
from functions.model.lakerow import FINISHED_AFTER_DAYS, rollup_key

ROLLUP_TOP = 1000
SUMS = ("visits", "visitors", "pageviews", "bounces", "entries", "duration_ms", "events", "top_ms", "top_n")
HEADLINES = ("visits", "visitors", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events")


@dataclass(frozen=True)
class Question:
    site: str
    start: date
    end: date
    today: date
    filters: tuple[Filter, ...] = ()
    goals: tuple[Goal, ...] = ()
    compare: bool = False
    funnel: tuple[Goal, ...] = ()
    also: tuple[str, ...] = ()  # the site's other partition values (Scope.also)

    def scope(self, start: date | None = None, end: date | None = None) -> Scope:
        first, last = start or self.start, end or self.end
        return Scope(self.site, first.isoformat(), last.isoformat(), self.filters, self.goals, self.also)

    def previous(self) -> Question:
        """The period of the same length just before, for the comparison."""
        length = (self.end - self.start).days + 1
        return replace(self, start=self.start - timedelta(days=length), end=self.start - timedelta(days=1))


Rows = list[dict[str, Any]]


def _rows(result: tuple[list[str], list[tuple[Any, ...]]]) -> Rows:
    columns, rows = result
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _merge(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, int]]:
    merged: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        sums = merged.setdefault((row["dim"], row["value"]), dict.fromkeys(SUMS, 0))
        for name in SUMS:
            sums[name] += int(row[name] or 0)
    return merged


def _ratio(numerator: float, denominator: float, digits: int = 4) -> float:
    return round(numerator / denominator, digits) if denominator else 0.0


def headline(sums: dict[str, int] | None) -> dict[str, Any]:
    s = sums or dict.fromkeys(SUMS, 0)
    return {
        "visits": s["visits"],
        "visitors": s["visitors"],
        "pageviews": s["pageviews"],
        "views_per_visit": _ratio(s["pageviews"], s["visits"], 2),
        "bounce_rate": _ratio(s["bounces"], s["visits"]),
        "visit_duration": _ratio(s["duration_ms"], s["visits"] * 1000, 1),  # seconds
        "events": s["events"],
    }


def _line(dim: str, value: str, s: dict[str, int]) -> dict[str, Any]:
    if dim == "page":
        return {
            "value": value,
            "visits": s["visits"],
            "visitors": s["visitors"],
            "pageviews": s["pageviews"],
            "entries": s["entries"],
            "bounce_rate": _ratio(s["bounces"], s["entries"]),  # of the visits entering on the page
            "time_on_page": _ratio(s["top_ms"], s["top_n"] * 1000, 1),
        }
    if dim == "event":
        return {"value": value, "visits": s["visits"], "visitors": s["visitors"], "events": s["events"]}
    return {"value": value, **headline(s)}


def top_lists(merged: dict[tuple[str, str], dict[str, int]], top: int = TOP) -> dict[str, list[dict[str, Any]]]:
    lists: dict[str, list[tuple[str, dict[str, int]]]] = {}
    for (dim, value), sums in merged.items():
        if dim != "*":
            lists.setdefault(dim, []).append((value, sums))
    return {
        dim: [_line(dim, v, s) for v, s in sorted(entries, key=lambda e: (-e[1]["visits"], e[0]))[:top]]
        for dim, entries in sorted(lists.items())
    }


@dataclass
class Explorer:
    """Answers questions with one engine, keeping rollups in the lake's store (``config``)."""

    engine: Engine
    config: LakeConfig
    stats: dict[str, int] = field(default_factory=lambda: {"queries": 0, "rollup_days": 0, "queried_days": 0})

    def _query(self, sql: str, scope: Scope) -> Rows:
        self.stats["queries"] += 1
        return _rows(self.engine.run(sql, site=scope.site, start=scope.start, end=scope.end, also=scope.also))

    def panels(self, question: Question, *, summary_only: bool = False) -> dict[tuple[str, str], dict[str, int]]:
        """The period's panels: from rollups for its finished days when unfiltered, else one query."""
        finished_end = min(question.end, question.today - timedelta(days=FINISHED_AFTER_DAYS))
        if question.filters or finished_end < question.start:
            scope = question.scope()
            self.stats["queried_days"] += (question.end - question.start).days + 1
            return _merge(self._query(panels_sql(scope, self.engine.dialect, summary_only=summary_only), scope))
        rows = self._rollups(question, question.start, finished_end)
        if finished_end < question.end:
            scope = question.scope(finished_end + timedelta(days=1), question.end)
            self.stats["queried_days"] += (question.end - finished_end).days
            rows += self._query(panels_sql(scope, self.engine.dialect, summary_only=summary_only), scope)
        return _merge(rows)

    def _rollup_key(self, question: Question, day: str) -> str:
        return rollup_key(question.site, day, (g.spec for g in question.goals))

    def _rollups(self, question: Question, start: date, end: date) -> Rows:
        days = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
        found: dict[str, Rows] = {}
        for day in days:
            body = store.get(self.config, self._rollup_key(question, day))
            if body is not None:
                found[day] = json.loads(body)
        missing = [d for d in days if d not in found]
        self.stats["rollup_days"] += len(found)
        if missing:
            scope = question.scope(date.fromisoformat(missing[0]), date.fromisoformat(missing[-1]))
            self.stats["queried_days"] += len(missing)
            computed = self._query(panels_sql(scope, self.engine.dialect, by_day=True, top=ROLLUP_TOP), scope)
            for day in missing:
                found[day] = [{k: r[k] for k in PANEL_COLUMNS if k != "day"} for r in computed if r["day"] == day]
                body = json.dumps(found[day]).encode()
                store.put(self.config, self._rollup_key(question, day), body, "application/json")
        return [row for day in days for row in found[day]]

    def funnel(self, question: Question) -> dict[str, Any]:
        scope = question.scope()
        row = self._query(funnel_sql(scope, question.funnel, self.engine.dialect), scope)[0]
        steps, previous, first = [], None, None
        for n, step in enumerate(question.funnel, 1):
            reached = int(row[f"step{n}"] or 0)
            first = reached if first is None else first
            steps.append(
                {
                    "step": step.spec,
                    "visits": reached,
                    "conversion_rate": _ratio(reached, first),
                    "drop_off": 0 if previous is None else previous - reached,
                    "drop_off_rate": 0.0 if previous is None else _ratio(previous - reached, previous),
                }
            )
            previous = reached
        return {"visits": int(row["visits"] or 0), "steps": steps}

    def answer(self, question: Question) -> dict[str, Any]:
        merged = self.panels(question)
        body: dict[str, Any] = {
            "site": question.site,
            "range": {"from": question.start.isoformat(), "to": question.end.isoformat()},
            "filters": [{"dimension": f.dimension, "value": f.value} for f in question.filters],
            "summary": headline(merged.get(("*", "*"))),
            "top": top_lists(merged),
        }
        if question.compare:
            earlier = question.previous()
            before = headline(self.panels(earlier, summary_only=True).get(("*", "*")))
            now = body["summary"]
            period = {"from": earlier.start.isoformat(), "to": earlier.end.isoformat()}
            body["previous"] = {"range": period, "summary": before}
            body["change"] = {
                name: (round((now[name] - before[name]) * 100 / before[name], 1) if before[name] else None)
                for name in HEADLINES
            }
        if question.funnel:
            body["funnel"] = self.funnel(question)
        body["sources"] = dict(self.stats)
        return body


class AnswerCache:
    """Per environment: recent answers by question, for ``LAKE_CACHE_SECONDS`` (a dashboard's panels and
    reloads ask the same question within seconds)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: dict[Question, tuple[float, dict[str, Any]]] = {}

    def get(self, question: Question, ttl: int) -> dict[str, Any] | None:
        with self.lock:
            hit = self.answers.get(question)
        return hit[1] if hit and time.monotonic() - hit[0] < ttl else None

    def put(self, question: Question, body: dict[str, Any]) -> None:
        with self.lock:
            if len(self.answers) > 256:
                self.answers.clear()
            self.answers[question] = (time.monotonic(), body)

    def clear(self) -> None:
        with self.lock:
            self.answers.clear()


ANSWERS = ENVIRONMENT.keep(AnswerCache())


def ask(explorer: Explorer, question: Question, ttl: int) -> tuple[dict[str, Any], bool]:
    """The answer and whether it came from the cache."""
    cached = ANSWERS.get(question, ttl) if ttl else None
    if cached is not None:
        return cached, True
    body = explorer.answer(question)
    ANSWERS.put(question, body)
    return body, False
