"""A range of months for ``/status?range=12mo``: finished months from their rollups, the current one
from its days.

The writer keeps day tallies only (a month's tallies too would double what every batch pays). A
month that ended more than ``SETTLE_DAYS`` ago is rolled up once, by the first status request that
needs it, from its days (one BatchGetItem of its day items, one Query per day partition) into one
``ROLLUP/<month>`` item; later requests read that one item. Two requests rolling up the same
month at once write the same item. The current month (and one just ended) is read from its days.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date
from typing import Any

from functions.common import aggregates, aggstore, keys, store
from functions.common.aggregates import Item, key_tuple
from functions.common.settings import Settings

SETTLE_DAYS = 2  # late deliveries (SQS retries, the DLQ's redrive) land in the days of a month after it ends


def days_of(month: str, today: date) -> list[str]:
    year, number = int(month[:4]), int(month[5:7])
    last = calendar.monthrange(year, number)[1]
    return [d.isoformat() for d in (date(year, number, day) for day in range(1, last + 1)) if d <= today]


def _from_days(settings: Settings, days: Sequence[str]) -> tuple[dict[str, Item | None], list[Item]]:
    items = store.get_items(settings.table_name, [keys.day_agg_key(d) for d in days])
    totals = {d: items.get(key_tuple(keys.day_agg_key(d))) for d in days}
    names = [item for d in days if totals[d] for item in aggstore.read_names(settings.table_name, d)]
    return totals, names


def settled(month: str, today: date) -> bool:
    """Whether the month ended more than ``SETTLE_DAYS`` ago (its days will not change any more)."""
    last_day = date.fromisoformat(days_of(month, date.max)[-1])
    return (today - last_day).days > SETTLE_DAYS


def months_view(settings: Settings, months: Sequence[str], today: date) -> tuple[dict[str, Any], list[Item]]:
    """``(totals by month, name items of every month)`` for ``aggregates.summarize_range``."""
    finished = [m for m in months if settled(m, today)]
    stored = store.get_items(settings.table_name, [keys.rollup_key(m) for m in finished]) if finished else {}
    totals: dict[str, Any] = {}
    names: list[Item] = []
    for month in months:
        rollup = stored.get(key_tuple(keys.rollup_key(month)))
        if rollup is None:
            days = days_of(month, today)
            day_totals, day_names = _from_days(settings, days)
            rollup = aggregates.rollup_item(month, days, day_totals, day_names)
            if month in finished:
                aggstore.put_rollup(settings.table_name, rollup)
        month_totals, month_names = aggregates.rollup_views(rollup)
        totals[month] = month_totals
        names.extend(month_names)
    return totals, names
