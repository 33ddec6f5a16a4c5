"""The status summary: today's windows and top lists, and a range's totals, from the items status reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.core.goals import Goal
from functions.model import events, goals, keys, layout
from functions.model.attrs import merged_sketch, number, top_names
from functions.model.keys import AttrValue, Item, ItemKey, key_tuple
from functions.model.layout import AGENT, BOTS, BROWSER, CLASS_PREFIX, EVENT, EVENTS, PAGE, PROPERTY, REFERRER, VISITS

# Lists of the dimensions beyond pages, referrers, browsers and agents: (JSON key, dimension, label).
AI_PAGES_N = 50  # rows of "AI crawlers by page"
DIMENSION_LISTS = (
    ("countries", layout.COUNTRY, "country"),
    ("devices", layout.DEVICE, "device"),
    ("os", layout.OS, "os"),
    ("sources", layout.SOURCE, "source"),
    ("mediums", layout.MEDIUM, "medium"),
    ("campaigns", layout.CAMPAIGN, "campaign"),
)


def _top(name_items: Sequence[Mapping[str, AttrValue]], dim: str, field_name: str) -> list[dict[str, Any]]:
    return [{field_name: name, "visits": count} for name, count in top_names(name_items, dim)]


def _ai_pages(name_items: Sequence[Mapping[str, AttrValue]]) -> list[dict[str, Any]]:
    """AI crawlers by page: their reads of each page, per crawler, most first."""
    rows = []
    for name, count in top_names(name_items, layout.AI_PAGE, AI_PAGES_N):
        page, _, agent = name.partition(layout.AI_SEPARATOR)
        rows.append({"page": page, "agent": agent or "(other)", "visits": count})
    return rows


def top_lists(name_items: Sequence[Mapping[str, AttrValue]]) -> dict[str, list[dict[str, Any]]]:
    """Every top list of the status JSON, from the name items of one or more periods."""
    lists = {
        "top_pages": _top(name_items, PAGE, "path"),
        "top_referrers": _top(name_items, REFERRER, "referrer"),
        "browsers": _top(name_items, BROWSER, "browser"),
        "top_bots": _top(name_items, AGENT, "agent"),
        "ai_pages": _ai_pages(name_items),
    }
    lists.update({key: _top(name_items, dim, field_name) for key, dim, field_name in DIMENSION_LISTS})
    lists["top_events"] = [{"event": name, "count": n} for name, n in top_names(name_items, EVENT)]
    lists["top_properties"] = _top_properties(name_items)
    return lists


def _top_properties(name_items: Sequence[Mapping[str, AttrValue]]) -> list[dict[str, Any]]:
    """The most frequent property values of custom events (``(other)``: values beyond the day's cap)."""
    found = []
    for name, count in top_names(name_items, PROPERTY, layout.TOP_PROPERTIES):
        parts = events.split_property(name)
        event, prop, value = parts if parts else (layout.OTHER, layout.OTHER, layout.OTHER)
        found.append({"event": event, "property": prop, "value": value, "count": count})
    return found


def _classes(items: Sequence[Mapping[str, AttrValue] | None], prefix: str = CLASS_PREFIX) -> dict[str, int]:
    """The counters of a prefix (bot classes, channels, screen classes) over some day or month items, most first."""
    classes: dict[str, int] = {}
    for item in items:
        for attr in item or {}:
            if attr.startswith(prefix):
                classes[attr[len(prefix) :]] = classes.get(attr[len(prefix) :], 0) + number(item, attr)
    return dict(sorted(((c, v) for c, v in classes.items() if v > 0), key=lambda cv: (-cv[1], cv[0])))


def day_lists(items: Sequence[Mapping[str, AttrValue] | None]) -> dict[str, list[dict[str, Any]]]:
    """The lists kept in the day (or month) items themselves: channels, screen classes, host names."""
    return {
        key: [{field_name: name, "visits": n} for name, n in _classes(items, prefix).items()]
        for key, prefix, field_name in (
            ("channels", layout.CHANNEL_PREFIX, "channel"),
            ("screens", layout.SCREEN_PREFIX, "screen"),
            ("hostnames", layout.HOST_PREFIX, "hostname"),
        )
    }


def _minutes(hour_item: Mapping[str, AttrValue] | None, minutes: range) -> int:
    return sum(number(hour_item, f"m{m:02d}") for m in minutes)


def summarize(
    items: Mapping[ItemKey, Item],
    name_items: Sequence[Mapping[str, AttrValue]],
    now: datetime,
    goal_list: Sequence[Goal] = (),
) -> dict[str, Any]:
    """The traffic part of the status JSON from the items of ``layout.status_keys(now)`` and today's name
    partition (tallies and uniques sketches; missing = zero).

    Human visits only in the windows and tallies; ``bot_share`` is today's bots / (bots + humans).
    ``hourly`` is the last 24 hours, oldest first, ending with the current (partial) hour.
    """
    now = now.astimezone(UTC)
    sk = layout.status_keys(now)
    day_items = {d: items.get(key_tuple(keys.day_agg_key(d))) for d in sk.days}
    today = day_items[sk.days[0]]
    current_hour = items.get(key_tuple(keys.hour_agg_key(sk.hours[0])))
    previous_hour = items.get(key_tuple(keys.hour_agg_key(sk.hours[1])))

    def hour_visits(ts: datetime) -> int:
        return number(day_items.get(keys.day_of(ts)), f"h{ts.hour:02d}")

    # Last 60 minutes: this hour's minutes up to now, the previous hour's minutes after now's minute.
    last_hour = _minutes(current_hour, range(now.minute + 1)) + _minutes(previous_hour, range(now.minute + 1, 60))
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    hourly = [
        {"hour": keys.hour_of(ts), "visits": hour_visits(ts)}
        for ts in (hour_start - timedelta(hours=i) for i in reversed(range(layout.HOURS_IN_SUMMARY)))
    ]
    last_7d = sum(hour_visits(hour_start - timedelta(hours=i)) for i in range(7 * 24))
    humans_today = number(today, VISITS)
    bots_today = number(today, BOTS)
    seen = humans_today + bots_today
    live_from = now.minute - layout.LIVE_MINUTES + 1
    unique_today = merged_sketch(name_items).estimate()
    live = _minutes(current_hour, range(max(0, live_from), now.minute + 1))
    if live_from < 0:
        live += _minutes(previous_hour, range(60 + live_from, 60))
    return {
        "live_visitors": live,
        "visits_last_hour": last_hour,
        "visits_last_24h": sum(h["visits"] for h in hourly),
        "visits_last_7d": last_7d,
        "visits_today": humans_today,
        "events_today": number(today, EVENTS),
        "unique_visitors_today": unique_today,
        "bots_today": bots_today,
        "bot_share": round(bots_today / seen, 4) if seen else 0.0,
        "bots_by_class": _classes([today]),
        **day_lists([today]),
        **top_lists(name_items),
        "goals": goals.goal_rows(goal_list, [today], name_items, unique_today),
        "hourly": hourly,
    }


def summarize_range(
    periods: Sequence[str],
    totals: Mapping[str, Mapping[str, AttrValue] | None],
    names: Sequence[Mapping[str, AttrValue]],
    goal_list: Sequence[Goal] = (),
) -> dict[str, Any]:
    """A range's part of the status JSON: one day or month total item per period (missing = zero)
    and every name item of their partitions (tallies are summed over periods, sketches merged)."""
    day_periods = all(keys.is_day(p) for p in periods)
    # Sketches are kept 35 days, per day: a range of months has none.
    unique = merged_sketch(names).estimate() if day_periods else None
    return {
        "visits": sum(number(totals.get(p), VISITS) for p in periods),
        "bots": sum(number(totals.get(p), BOTS) for p in periods),
        "events": sum(number(totals.get(p), EVENTS) for p in periods),
        "unique_visitors": unique,
        "series": [{"period": p, "visits": number(totals.get(p), VISITS)} for p in periods],
        **top_lists(names),
        "bots_by_class": _classes(list(totals.values())),
        **day_lists(list(totals.values())),
        "goals": goals.goal_rows(goal_list, [totals.get(p) for p in periods], names, unique),
    }
