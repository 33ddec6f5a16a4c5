"""A range of months for ``/status?range=12mo``: finished months from their stored rollups, the current
one (and one just ended) from its days. The first request needing a settled month rolls it up once
(``functions.model.rollups``); two requests doing it at once write the same item."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from functions.core.settings import Settings
from functions.model import keys, rollups
from functions.model.keys import Item, key_tuple
from functions.tables import aggstore


def _from_days(settings: Settings, days: Sequence[str], site: str | None) -> tuple[dict[str, Item | None], list[Item]]:
    shards = settings.aggregate_shards
    items = aggstore.read_aggregates(settings.table_name, [keys.day_agg_key(d) for d in days], shards, site)
    totals = {d: items.get(key_tuple(keys.day_agg_key(d))) for d in days}
    names = [
        item
        for d in days
        if totals[d]
        for item in aggstore.read_names(settings.table_name, d, shards=shards, site=site)
    ]
    return totals, names


def months_view(
    settings: Settings, months: Sequence[str], today: date, site: str | None = None
) -> tuple[dict[str, Any], list[Item]]:
    """``(totals by month, name items of every month)`` of a site for ``summary.summarize_range``."""
    finished = [m for m in months if rollups.settled(m, today)]
    wanted = [keys.rollup_key(m) for m in finished]
    stored = aggstore.read_site_items(settings.table_name, wanted, site) if finished else {}
    totals: dict[str, Any] = {}
    names: list[Item] = []
    for month in months:
        rollup = stored.get(key_tuple(keys.rollup_key(month)))
        if rollup is None:
            days = rollups.days_of(month, today)
            day_totals, day_names = _from_days(settings, days, site)
            rollup = rollups.rollup_item(month, days, day_totals, day_names)
            if month in finished:
                aggstore.put_rollup(settings.table_name, rollup, site)
        month_totals, month_names = rollups.rollup_views(rollup)
        totals[month] = month_totals
        names.extend(month_names)
    return totals, names
