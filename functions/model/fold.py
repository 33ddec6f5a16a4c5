"""The writer's fold: a batch of visits into one counter delta per aggregate item it touches.

Pure: the writer turns each ``Delta`` into one ``ADD`` update inside its exactly-once transaction
(``functions.tables.aggstore``). Months are rolled up from the days by the status function, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from functions.core.goals import Goal
from functions.model import channels, events, goals, keys, layout
from functions.model.keys import ItemKey, key_tuple
from functions.model.layout import (
    AGENT,
    AI_PAGE,
    BOTS,
    BROWSER,
    CAMPAIGN,
    CLASS_PREFIX,
    COUNTRY,
    DEVICE,
    EVENT,
    EVENTS,
    MEDIUM,
    NAME_ATTR,
    OS,
    OTHER,
    PAGE,
    PROPERTY,
    REFERRER,
    SOURCE,
    VISITS,
)
from functions.model.names import label, page_name, referrer_name, visitor_member
from functions.model.visit import Visit

Namer = Callable[[str], str]


@dataclass
class Delta:
    """What one aggregate item gains from a group of visits: counter increments."""

    key: ItemKey
    expires_at: int
    counters: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, amount: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + amount


@dataclass(frozen=True)
class Namers:
    """How the fold names a User-Agent: its browser family, its automated agent, device type and OS."""

    browser_of: Namer
    agent_of: Namer
    device_of: Namer | None = None
    os_of: Namer | None = None


def names_of(visit: Visit, namers: Namers) -> list[tuple[str, str]]:
    """The (dimension, name) tallies one visit adds to: its agent for a bot; for a human its page,
    referrer host, browser, country, device, OS and campaign parameters (where known); for a custom event
    its name and property values only."""
    if visit.event is not None:
        props = events.property_names(visit.event, visit.props or {})
        return [(EVENT, visit.event), *((PROPERTY, name) for name in props)]
    if visit.is_bot:
        ua = visit.user_agent  # a browser's User-Agent from a data centre: named after its browser
        agent = label(namers.agent_of(ua) or f"{namers.browser_of(ua)} (datacenter)")
        if visit.bot_class == layout.AI_CLASS:
            return [(AGENT, agent), (AI_PAGE, f"{page_name(visit.path)}{layout.AI_SEPARATOR}{agent}")]
        return [(AGENT, agent)]
    names = [(PAGE, page_name(visit.path)), (BROWSER, label(namers.browser_of(visit.user_agent)))]
    ref = referrer_name(visit.referrer)
    if ref:
        names.append((REFERRER, ref))
    names.append((COUNTRY, visit.country or layout.UNKNOWN_COUNTRY))
    if namers.device_of is not None:
        names.append((DEVICE, label(namers.device_of(visit.user_agent))))
    if namers.os_of is not None:
        names.append((OS, label(namers.os_of(visit.user_agent))))
    for dim, value in ((SOURCE, visit.utm_source), (MEDIUM, visit.utm_medium), (CAMPAIGN, visit.utm_campaign)):
        if value:
            names.append((dim, label(value)))
    return names + page_context(visit)


def page_context(visit: Visit) -> list[tuple[str, str]]:
    """A human pageview's host name, when known (a capped name tally)."""
    return [(layout.HOST, visit.hostname)] if visit.hostname else []


def day_counters(visit: Visit) -> list[str]:
    """The day item's counters of a human pageview: its screen class and, for an entrance, its channel."""
    counters = [layout.SCREEN_PREFIX + visit.screen] if visit.screen else []
    referrer_host = channels.host_of(visit.referrer)
    if channels.is_entrance(referrer_host, visit.hostname):
        channel = channels.channel(referrer_host, visit.utm_source, visit.utm_medium)
        counters.append(layout.CHANNEL_PREFIX + channel)
    return counters


def fold(visits: Iterable[Visit], namers: Namers, goal_list: Sequence[Goal] = ()) -> dict[ItemKey, Delta]:
    """One ``Delta`` per aggregate item the visits touch (uncapped names, no uniques): day and hour
    totals (with the goals' completions in the day item), and the name tallies of the day and (pages)
    of all time."""
    deltas: dict[ItemKey, Delta] = {}

    def delta(key: ItemKey, expires: datetime | int) -> Delta:
        if key not in deltas:
            deltas[key] = Delta(key, expires if isinstance(expires, int) else layout.epoch(expires))
        return deltas[key]

    for visit in visits:
        if visit.event is not None and visit.is_bot:
            continue  # automated traffic's events are logged, never tallied
        when = visit.when
        day = keys.day_of(when)
        day_start = when.replace(hour=0, minute=0, second=0, microsecond=0)
        hour_start = day_start.replace(hour=when.hour)
        day_item = delta(key_tuple(keys.day_agg_key(day)), day_start + timedelta(days=layout.DAY_TTL_DAYS))
        names_expire = day_start + timedelta(days=layout.NAMES_TTL_DAYS)
        for goal in goals.completed(visit, goal_list):
            day_item.add(layout.GOAL_PREFIX + goal.label)
        for dim, name in names_of(visit, namers):
            delta(layout.name_item_key(day, dim, name), names_expire).add(VISITS)
            if dim == PAGE:
                delta(layout.name_item_key(layout.ALL_TIME, dim, name), layout.ALL_TIME_EXPIRES_AT).add(VISITS)
        if visit.event is not None:
            day_item.add(EVENTS)  # not a pageview: no visit, hour or minute counts
            continue
        hour_item = delta(
            key_tuple(keys.hour_agg_key(keys.hour_of(when))), hour_start + timedelta(days=layout.HOUR_TTL_DAYS)
        )
        if visit.is_bot:
            for item in (day_item, hour_item):
                item.add(BOTS)
            day_item.add(CLASS_PREFIX + (visit.bot_class or "other"))
            continue
        for item in (day_item, hour_item):
            item.add(VISITS)
        day_item.add(f"h{when.hour:02d}")
        for counter in day_counters(visit):
            day_item.add(counter)
        hour_item.add(f"m{when.minute:02d}")
    return deltas


def capped(delta: Delta, admitted: Callable[[str, str, str], bool]) -> Delta:
    """The delta itself, or the same visits moved to its dimension's ``(other)`` item.

    ``admitted(day, dim, name)`` says whether the day may hold that name (the writer's caps).
    """
    parts = layout.split_name_key(delta.key)
    if parts is None or parts[2] == OTHER or admitted(*parts):
        return delta
    day, dim, _ = parts
    return Delta(layout.name_item_key(day, dim, OTHER), delta.expires_at, dict(delta.counters))


def hosts_to_day(deltas: Iterable[Delta], registered: Callable[[ItemKey], bool]) -> list[Delta]:
    """Host name tallies moved into their day item's ``hn:`` counters. A host's own name item is kept only
    to register it (the cap counts those); ``registered(key)`` says it already is, ``(other)`` never needs it."""
    kept: list[Delta] = []
    moved: list[tuple[str, str, int]] = []
    for d in deltas:
        parts = layout.split_name_key(d.key)
        if parts is None or parts[1] != layout.HOST:
            kept.append(d)
            continue
        day, _, name = parts
        moved.append((day, name, d.counters.get(VISITS, 0)))
        if name != OTHER and not registered(d.key):
            kept.append(d)
    for day, name, amount in moved:
        target = next((d for d in kept if d.key == key_tuple(keys.day_agg_key(day))), None)
        if target is not None:  # a host name comes with its pageview, so its day is in the batch
            target.add(layout.HOST_PREFIX + name, amount)
    return kept


def merge_deltas(deltas: Iterable[Delta]) -> list[Delta]:
    """Deltas of the same item added together (capping can send several names to one ``(other)``)."""
    merged: dict[ItemKey, Delta] = {}
    for d in deltas:
        into = merged.setdefault(d.key, Delta(d.key, d.expires_at))
        for name, amount in d.counters.items():
            into.add(name, amount)
    return list(merged.values())


def pack(deltas: Iterable[Delta], slot: Callable[[str, str, str], int]) -> list[Delta]:
    """Name deltas moved into their packs (``slot(day, dim, name)`` says which); others unchanged."""
    packed: dict[ItemKey, Delta] = {}
    for d in deltas:
        parts = layout.split_name_key(d.key)
        if parts is None:
            target = packed.setdefault(d.key, Delta(d.key, d.expires_at))
            for name, amount in d.counters.items():
                target.add(name, amount)
            continue
        day, dim, name = parts
        key = layout.pack_key(day, dim, slot(day, dim, name))
        packed.setdefault(key, Delta(key, d.expires_at)).add(NAME_ATTR + name, d.counters.get(VISITS, 0))
    return list(packed.values())


def visitors_by_day(visits: Iterable[Visit]) -> dict[str, set[str]]:
    """The visitor hashes of human visits (pageviews, not events), per day (for the uniques sketches)."""
    days: dict[str, set[str]] = {}
    for visit in visits:
        if visit.visitor and not visit.is_bot and visit.event is None:
            days.setdefault(keys.day_of(visit.when), set()).add(visitor_member(visit.visitor))
    return days
