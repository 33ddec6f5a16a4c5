"""Which visits complete which goals, and the goals' lines of ``/status``. Pure.

Metrics (Plausible's): *completions* are the goal's events, or its matching pageviews, of browsers
(exact: a counter of the day item, added by the counting transaction); *unique converters* are the
distinct visitors among them (a HyperLogLog sketch per goal and day, kept beside the unique visitors'
in the same items: ``layout.GOAL_SKETCH_ATTR``); the
*conversion rate* is unique converters / unique visitors of the same period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from functions.core.goals import Goal
from functions.model import keys, layout
from functions.model.attrs import merged_sketch, number
from functions.model.keys import AttrValue
from functions.model.names import page_name, visitor_member
from functions.model.sketches import Sketch
from functions.model.visit import Visit


def completed(visit: Visit, goals: Sequence[Goal]) -> list[Goal]:
    """The goals a visit completes: none for automated traffic; an event's by name, a pageview's by path."""
    if visit.is_bot or not goals:
        return []
    if visit.event is not None:
        return [g for g in goals if g.matches_event(visit.event)]
    page = page_name(visit.path)
    return [g for g in goals if g.matches_page(page)]


def converters(visits: Iterable[Visit], goals: Sequence[Goal]) -> dict[tuple[str, str], set[str]]:
    """The visitor hashes who completed each goal, per (day, goal label): for the converter sketches."""
    found: dict[tuple[str, str], set[str]] = {}
    for visit in visits:
        if not visit.visitor:
            continue
        for goal in completed(visit, goals):
            found.setdefault((keys.day_of(visit.when), goal.label), set()).add(visitor_member(visit.visitor))
    return found


def converter_sketch(name_items: Sequence[Mapping[str, AttrValue]], goal: Goal) -> Sketch:
    """The union of a goal's converter sketches (in the uniques items) among the name items of one or more days."""
    return merged_sketch(name_items, goal.label)


def goal_rows(
    goals: Sequence[Goal],
    totals: Iterable[Mapping[str, AttrValue] | None],
    name_items: Sequence[Mapping[str, AttrValue]],
    unique_visitors: int | None,
) -> list[dict[str, Any]]:
    """One line per goal, in declared order: completions from the day (or month) items, unique
    converters and the conversion rate (0..1, 4 decimals) from the sketches; both ``None`` when the
    period has no sketches (months)."""
    items = list(totals)
    rows = []
    for goal in goals:
        completions = sum(number(item, layout.GOAL_PREFIX + goal.label) for item in items)
        unique = converter_sketch(name_items, goal).estimate() if unique_visitors is not None else None
        rate = None
        if unique is not None and unique_visitors is not None:
            rate = round(min(unique / unique_visitors, 1.0), 4) if unique_visitors else 0.0
        rows.append(
            {
                "goal": goal.label,
                "kind": goal.kind,
                "target": goal.target,
                "completions": completions,
                "unique_converters": unique,
                "conversion_rate": rate,
            }
        )
    return rows
