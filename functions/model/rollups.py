"""A finished month in one item: its totals and each dimension's top names, rolled up from its days.

The writer keeps day tallies only (a month's tallies too would double what every batch pays). A
month that ended more than ``SETTLE_DAYS`` ago is rolled up once and stored (``functions.status.months``);
this module is the pure part: which days, when settled, and the item's content.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date

from functions.model import keys
from functions.model.attrs import tallies
from functions.model.keys import AttrValue, Item, key_dict, key_tuple
from functions.model.layout import (
    BOTS,
    CHANNEL_PREFIX,
    CLASS_PREFIX,
    DIMENSIONS,
    EVENTS,
    GOAL_PREFIX,
    HOST,
    HOST_PREFIX,
    NAME_ATTR,
    OTHER,
    ROLLUP_DAYS,
    ROLLUP_NAME_ATTR,
    ROLLUP_NAMES,
    SCREEN_PREFIX,
    VISITS,
)

SETTLE_DAYS = 2  # late deliveries (SQS retries, the DLQ's redrive) land in the days of a month after it ends


def days_of(month: str, today: date) -> list[str]:
    year, number = int(month[:4]), int(month[5:7])
    last = calendar.monthrange(year, number)[1]
    return [d.isoformat() for d in (date(year, number, day) for day in range(1, last + 1)) if d <= today]


def settled(month: str, today: date) -> bool:
    """Whether the month ended more than ``SETTLE_DAYS`` ago (its days will not change any more)."""
    last_day = date.fromisoformat(days_of(month, date.max)[-1])
    return (today - last_day).days > SETTLE_DAYS


def _is_total(attr: str) -> bool:
    return attr in (VISITS, BOTS, EVENTS) or attr.startswith(
        (CLASS_PREFIX, CHANNEL_PREFIX, SCREEN_PREFIX, HOST_PREFIX, GOAL_PREFIX)
    )


def rollup_item(
    month: str,
    days: Sequence[str],
    totals: Mapping[str, Mapping[str, AttrValue] | None],
    names: Sequence[Mapping[str, AttrValue]],
) -> Item:
    """A finished month in one item: its totals, bot classes and each dimension's top
    ``ROLLUP_NAMES`` names (the rest summed under ``(other)``); tens of KB at the caps."""
    item: Item = dict(key_dict(key_tuple(keys.rollup_key(month))))
    counters: dict[str, int] = {ROLLUP_DAYS: len(days)}
    for day in days:
        for attr, value in (totals.get(day) or {}).items():
            if _is_total(attr):
                counters[attr] = counters.get(attr, 0) + int(float(value["N"]))
    for dim in DIMENSIONS:
        if dim == HOST:
            continue  # a registry for the cap; the counts are the totals' HOST_PREFIX counters
        ranked = sorted(tallies(names, dim).items(), key=lambda t: (-t[1], t[0]))
        kept, rest = ranked[:ROLLUP_NAMES], ranked[ROLLUP_NAMES:]
        if rest:
            kept.append((OTHER, sum(v for _, v in rest) + dict(kept).get(OTHER, 0)))
        for name, count in kept:
            counters[f"{ROLLUP_NAME_ATTR}{dim}:{name}"] = count
    item.update({attr: {"N": str(n)} for attr, n in counters.items()})
    return item


def rollup_views(item: Mapping[str, AttrValue]) -> tuple[Item, list[Item]]:
    """A rollup as what ``summary.summarize_range`` reads: the month's totals item and one pseudo
    pack per dimension."""
    totals: Item = {a: v for a, v in item.items() if _is_total(a)}
    packs: dict[str, Item] = {}
    for attr, value in item.items():
        if attr.startswith(ROLLUP_NAME_ATTR):
            dim, name = attr[len(ROLLUP_NAME_ATTR) :].split(":", 1)
            pack_item = packs.setdefault(dim, {keys.SK: {"S": f"{dim}#rollup"}})
            pack_item[NAME_ATTR + name] = value
    return totals, list(packs.values())
