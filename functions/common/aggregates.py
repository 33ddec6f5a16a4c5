"""Aggregates: fold a batch of visits into per-item deltas, and turn aggregate items into the status summary.

Pure functions only (no boto3): the writer turns the deltas into one ``ADD`` update per aggregate
item inside its exactly-once transaction, the status function reads a fixed set of items and calls
``summarize``.

Aggregate items (keys in ``functions.common.keys``), each small, so that a batch pays write units
for what it touches and never for what the day already holds:

- day ``AGG#DAY/<day>``: ``visits`` (human visits), ``bots``, ``h00``..``h23`` (human visits per
  hour) and ``c:<class>`` (automated visits per class: crawler, monitor, ...). Under 1 KB.
- hour ``AGG#HOUR/<day>T<hh>``: ``visits``, ``bots``, ``m00``..``m59`` (human visits per minute).
- name tallies ``AGG#N#<day>/<dim>#<k>``: packed tally items of one dimension — page (``p``),
  referrer host (``r``), browser family (``b``) or automated agent (``a``, bot visits) — each holding
  at most about ``PACK_NAMES`` names as attributes ``n:<name>`` (visits that day). A name stays in
  the pack it first landed in (``functions.writer.batch.KnownNames`` remembers where), so an item
  never outgrows about 1 KB, whatever the day holds: a batch pays 2 WRU per pack it touches, and the
  popular names of a day, which arrive first, share the first packs. Two writers may put the same
  new name in two packs: readers sum a name over the packs. One partition per day, so one Query
  reads a day's tallies.
- uniques ``AGG#N#<day>/u#<shard>``: a HyperLogLog sketch of visitor hashes (``registers``, at
  most 2 KB, ``functions.common.hll``) and ``version`` (N, for optimistic locking). ``UNIQUES_SHARDS``
  sketches a day, written outside the counting transaction: the union of the shards is the day's
  sketch (a merge is a register-wise max, so re-adding visitors never double counts). They live in
  the day's name partition, so the one Query that reads the tallies reads them too.

Caps: at most ``CAPS[dim]`` distinct names per day and dimension; visits to names beyond it are
tallied under ``(other)``. They bound what ``/status`` reads (one Query page, see ``NAMES_READ_MAX``)
and what a flood of made-up paths can cost. The writer decides with the names it knows
(``functions.writer.batch.KnownNames``); several writers racing past a cap overshoot it by at most
one batch each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from functions.common import keys
from functions.common.hll import InvalidSketch, Sketch
from functions.common.visit import Visit

PAGE = "p"
REFERRER = "r"
BROWSER = "b"
AGENT = "a"
COUNTRY = "g"
DEVICE = "d"
OS = "o"
SOURCE = "s"
MEDIUM = "m"
CAMPAIGN = "k"
UNIQUES = "u"  # the sort-key prefix of the sketches in a day's name partition
DIMENSIONS = (PAGE, REFERRER, BROWSER, AGENT, COUNTRY, DEVICE, OS, SOURCE, MEDIUM, CAMPAIGN)
CAPS: Mapping[str, int] = {
    PAGE: 1000,
    REFERRER: 500,
    BROWSER: 50,
    AGENT: 200,
    COUNTRY: 260,
    DEVICE: 10,
    OS: 60,
    SOURCE: 200,
    MEDIUM: 50,
    CAMPAIGN: 200,
}
UNKNOWN_COUNTRY = "unknown"
# Periods of the name partitions: a day (YYYY-MM-DD) and, for pages only, all time.
ALL_TIME = "all"
ALL_TIME_PAGE_CAP = 5000
ROLLUP_NAMES = 200  # names per dimension a month's rollup keeps (its top ones)
ALL_TIME_EXPIRES_AT = 253402300799  # 9999-12-31: never (DynamoDB's TTL ignores far-future values)
OTHER = "(other)"
MAX_PATH_CHARS = 100
MAX_HOST_CHARS = 100
MAX_LABEL_CHARS = 40
VISITOR_HASH_CHARS = 16
CLASS_PREFIX = "c:"
NAME_ATTR = "n:"  # attribute prefix of a name inside a pack (never clashes with pk, sk, expires_at)
PACK_NAMES = 20  # names per pack: about 1 KB at typical path lengths, one write unit per KB
_HOST_RE = re.compile(r"^[a-z0-9._:\[\]-]+$", re.IGNORECASE)

DAY_TTL_DAYS = 400
HOUR_TTL_DAYS = 3
NAMES_TTL_DAYS = 400
UNIQUES_TTL_DAYS = 35
UNIQUES_SHARDS = 8

VISITS = "visits"
BOTS = "bots"
REGISTERS = "registers"
VERSION = "version"

TOP_N = 10
LIVE_MINUTES = 5  # "live visitors": human visits of the last 5 minutes, this one included
HOURS_IN_SUMMARY = 24
DAYS_READ = 8  # today and the 7 days before it: enough for a rolling 7 x 24 hours window
# The most items a day's name partition can hold (the caps, one "(other)" per dimension, packed,
# with room for packs written by racing writers, and the sketches): under a Query page's 1 MB.
NAMES_READ_MAX = 2 * (sum(CAPS.values()) // PACK_NAMES + len(CAPS)) + UNIQUES_SHARDS
ALL_TIME_READ_MAX = 2 * (ALL_TIME_PAGE_CAP // PACK_NAMES + 1)


def cap(period: str, dim: str) -> int:
    """How many distinct names of a dimension a period's partition keeps before ``(other)``."""
    return ALL_TIME_PAGE_CAP if period == ALL_TIME else CAPS[dim]


def month_of(day: str) -> str:
    return day[:7]


# Re-exported from keys (store and ingest need them without importing this module).
ItemKey = keys.ItemKey
AttrValue = keys.AttrValue
Item = keys.Item
key_tuple = keys.key_tuple
key_dict = keys.key_dict


@dataclass
class Delta:
    """What one aggregate item gains from a group of visits: counter increments."""

    key: ItemKey
    expires_at: int
    counters: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, amount: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + amount


# --- name normalisation ---------------------------------------------------------------------


def page_name(path: str) -> str:
    """The path without query string or fragment, truncated."""
    clean = path.split("?", 1)[0].split("#", 1)[0] or "/"
    return clean[:MAX_PATH_CHARS]


def referrer_name(referrer: str | None) -> str | None:
    """The referrer URL's host (lower case, no port), or None when there is no usable host."""
    if not referrer:
        return None
    try:
        host = urlsplit(referrer if "//" in referrer else "//" + referrer).hostname
    except ValueError:
        return None
    if not host or not _HOST_RE.match(host):
        return None
    return host.lower()[:MAX_HOST_CHARS]


def label(value: str) -> str:
    return (value.strip() or "Other")[:MAX_LABEL_CHARS]


def visitor_member(visitor: str) -> str:
    return visitor[:VISITOR_HASH_CHARS]


def _epoch(ts: datetime) -> int:
    return int(ts.timestamp())


# --- name items -----------------------------------------------------------------------------


def name_item_key(day: str, dim: str, name: str) -> ItemKey:
    return key_tuple(keys.name_key(day, dim, name))


def split_name_key(key: ItemKey) -> tuple[str, str, str] | None:
    """(day, dim, name) of a name item key, None for any other aggregate item."""
    prefix = keys.names_pk("")
    if not key[0].startswith(prefix) or "#" not in key[1]:
        return None
    dim, name = key[1].split("#", 1)
    if dim not in DIMENSIONS:
        return None
    return key[0][len(prefix) :], dim, name


def is_name_key(key: ItemKey) -> bool:
    return split_name_key(key) is not None


def pack_key(day: str, dim: str, pack: int) -> ItemKey:
    return key_tuple(keys.name_key(day, dim, str(pack)))


def pack(deltas: Iterable[Delta], slot: Callable[[str, str, str], int]) -> list[Delta]:
    """Name deltas moved into their packs (``slot(day, dim, name)`` says which); others unchanged."""
    packed: dict[ItemKey, Delta] = {}
    for d in deltas:
        parts = split_name_key(d.key)
        if parts is None:
            target = packed.setdefault(d.key, Delta(d.key, d.expires_at))
            for name, amount in d.counters.items():
                target.add(name, amount)
            continue
        day, dim, name = parts
        key = pack_key(day, dim, slot(day, dim, name))
        packed.setdefault(key, Delta(key, d.expires_at)).add(NAME_ATTR + name, d.counters.get(VISITS, 0))
    return list(packed.values())


def pack_names(item: Mapping[str, AttrValue]) -> dict[str, int]:
    """The names a pack item holds, with their visits."""
    return {attr[len(NAME_ATTR) :]: _n(item, attr) for attr in item if attr.startswith(NAME_ATTR)}


# --- folding (writer) -----------------------------------------------------------------------


def names_of(
    visit: Visit,
    browser_of: Callable[[str], str],
    agent_of: Callable[[str], str],
    device_of: Callable[[str], str] | None = None,
    os_of: Callable[[str], str] | None = None,
) -> list[tuple[str, str]]:
    """The (dimension, name) tallies one visit adds to: its agent for a bot; for a human its page,
    referrer host, browser, country, device, OS and campaign parameters (where known)."""
    if visit.is_bot:
        return [(AGENT, label(agent_of(visit.user_agent)))]
    names = [(PAGE, page_name(visit.path)), (BROWSER, label(browser_of(visit.user_agent)))]
    ref = referrer_name(visit.referrer)
    if ref:
        names.append((REFERRER, ref))
    names.append((COUNTRY, visit.country or UNKNOWN_COUNTRY))
    if device_of is not None:
        names.append((DEVICE, label(device_of(visit.user_agent))))
    if os_of is not None:
        names.append((OS, label(os_of(visit.user_agent))))
    for dim, value in ((SOURCE, visit.utm_source), (MEDIUM, visit.utm_medium), (CAMPAIGN, visit.utm_campaign)):
        if value:
            names.append((dim, label(value)))
    return names


def fold(
    visits: Iterable[Visit],
    browser_of: Callable[[str], str],
    agent_of: Callable[[str], str],
    *,
    device_of: Callable[[str], str] | None = None,
    os_of: Callable[[str], str] | None = None,
) -> dict[ItemKey, Delta]:
    """Fold visits into one ``Delta`` per aggregate item they touch (uncapped names, no uniques):
    day and hour totals, and the name tallies of the day and (pages) of all time. Months are rolled
    up from the days by the status function (``functions.status.rollups``), never by the writer."""
    deltas: dict[ItemKey, Delta] = {}

    def delta(key: ItemKey, expires: datetime | int) -> Delta:
        if key not in deltas:
            deltas[key] = Delta(key, expires if isinstance(expires, int) else _epoch(expires))
        return deltas[key]

    for visit in visits:
        when = visit.when
        day = keys.day_of(when)
        day_start = when.replace(hour=0, minute=0, second=0, microsecond=0)
        hour_start = day_start.replace(hour=when.hour)
        day_item = delta(key_tuple(keys.day_agg_key(day)), day_start + timedelta(days=DAY_TTL_DAYS))
        hour_item = delta(key_tuple(keys.hour_agg_key(keys.hour_of(when))), hour_start + timedelta(days=HOUR_TTL_DAYS))
        names_expire = day_start + timedelta(days=NAMES_TTL_DAYS)
        for dim, name in names_of(visit, browser_of, agent_of, device_of, os_of):
            delta(name_item_key(day, dim, name), names_expire).add(VISITS)
            if dim == PAGE:
                delta(name_item_key(ALL_TIME, dim, name), ALL_TIME_EXPIRES_AT).add(VISITS)
        if visit.is_bot:
            for item in (day_item, hour_item):
                item.add(BOTS)
            day_item.add(CLASS_PREFIX + (visit.bot_class or "other"))
            continue
        for item in (day_item, hour_item):
            item.add(VISITS)
        day_item.add(f"h{when.hour:02d}")
        hour_item.add(f"m{when.minute:02d}")
    return deltas


def capped(delta: Delta, admitted: Callable[[str, str, str], bool]) -> Delta:
    """The delta itself, or the same visits moved to its dimension's ``(other)`` item.

    ``admitted(day, dim, name)`` says whether the day may hold that name (the writer's caps).
    """
    parts = split_name_key(delta.key)
    if parts is None or parts[2] == OTHER or admitted(*parts):
        return delta
    day, dim, _ = parts
    return Delta(name_item_key(day, dim, OTHER), delta.expires_at, dict(delta.counters))


def merge_deltas(deltas: Iterable[Delta]) -> list[Delta]:
    """Deltas of the same item added together (capping can send several names to one ``(other)``)."""
    merged: dict[ItemKey, Delta] = {}
    for d in deltas:
        into = merged.setdefault(d.key, Delta(d.key, d.expires_at))
        for name, amount in d.counters.items():
            into.add(name, amount)
    return list(merged.values())


def visitors_by_day(visits: Iterable[Visit]) -> dict[str, set[str]]:
    """The visitor hashes of human visits, per day (for the uniques sketches)."""
    days: dict[str, set[str]] = {}
    for visit in visits:
        if visit.visitor and not visit.is_bot:
            days.setdefault(keys.day_of(visit.when), set()).add(visitor_member(visit.visitor))
    return days


def uniques_expires_at(day: str) -> int:
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    return _epoch(start + timedelta(days=UNIQUES_TTL_DAYS))


@dataclass(frozen=True)
class Uniques:
    """A uniques item as read: its sketch and the version to condition the next write on (0: none)."""

    sketch: Sketch = field(default_factory=Sketch)
    version: int = 0


def read_uniques(item: Mapping[str, AttrValue] | None) -> Uniques:
    """The uniques item's sketch (missing item: empty).

    Unreadable registers count as empty: the writer's version condition still keeps it from
    losing a concurrent write, and /status must not fail on one bad item.
    """
    if not item:
        return Uniques()
    raw = item.get(REGISTERS, {}).get("B")
    try:
        sketch = Sketch.from_bytes(bytes(raw) if raw else None)
    except InvalidSketch:
        sketch = Sketch()
    return Uniques(sketch=sketch, version=_n(item, VERSION))


# --- summary (status) -----------------------------------------------------------------------


@dataclass(frozen=True)
class StatusKeys:
    """The fixed list of items one status summary reads (the same whatever the traffic)."""

    days: tuple[str, ...]  # today first
    hours: tuple[str, ...]  # current hour first, then the previous one

    def item_keys(self) -> list[keys.Key]:
        return [keys.day_agg_key(d) for d in self.days] + [keys.hour_agg_key(h) for h in self.hours]


def status_keys(now: datetime) -> StatusKeys:
    now = now.astimezone(UTC)
    days = tuple(keys.day_of(now - timedelta(days=i)) for i in range(DAYS_READ))
    hours = (keys.hour_of(now), keys.hour_of(now - timedelta(hours=1)))
    return StatusKeys(days=days, hours=hours)


def _n(item: Mapping[str, AttrValue] | None, name: str) -> int:
    if not item or name not in item or "N" not in item[name]:
        return 0
    return int(float(item[name]["N"]))


def tallies(name_items: Sequence[Mapping[str, AttrValue]], dim: str) -> dict[str, int]:
    """Every name of a dimension with its visits, summed over the day's packs."""
    prefix = dim + "#"
    totals: dict[str, int] = {}
    for item in name_items:
        if item.get(keys.SK, {}).get("S", "").startswith(prefix):
            for name, count in pack_names(item).items():
                totals[name] = totals.get(name, 0) + count
    return totals


def top_names(name_items: Sequence[Mapping[str, AttrValue]], dim: str, n: int = TOP_N) -> list[tuple[str, int]]:
    """The ``n`` most visited names of a dimension among a day's name items (ties by name)."""
    ranked = sorted(tallies(name_items, dim).items(), key=lambda t: (-t[1], t[0]))
    return [(name, count) for name, count in ranked[:n] if count > 0]


def _hour_visits(days: Mapping[str, Mapping[str, AttrValue] | None], ts: datetime) -> int:
    return _n(days.get(keys.day_of(ts)), f"h{ts.hour:02d}")


def _top(name_items: Sequence[Mapping[str, AttrValue]], dim: str, field_name: str) -> list[dict[str, Any]]:
    return [{field_name: name, "visits": count} for name, count in top_names(name_items, dim)]


def summarize(
    items: Mapping[ItemKey, Item], name_items: Sequence[Mapping[str, AttrValue]], now: datetime
) -> dict[str, Any]:
    """The traffic part of the status JSON from the items of ``status_keys(now)`` and today's name
    partition (tallies and uniques sketches; missing = zero).

    Human visits only in the windows and tallies; ``bot_share`` is today's bots / (bots + humans).
    ``hourly`` is the last 24 hours, oldest first, ending with the current (partial) hour.
    """
    now = now.astimezone(UTC)
    sk = status_keys(now)
    day_items = {d: items.get(key_tuple(keys.day_agg_key(d))) for d in sk.days}
    today = day_items[sk.days[0]]
    current_hour = items.get(key_tuple(keys.hour_agg_key(sk.hours[0])))
    previous_hour = items.get(key_tuple(keys.hour_agg_key(sk.hours[1])))

    # Last 60 minutes: this hour's minutes up to now, the previous hour's minutes after now's minute.
    last_hour = sum(_n(current_hour, f"m{m:02d}") for m in range(now.minute + 1)) + sum(
        _n(previous_hour, f"m{m:02d}") for m in range(now.minute + 1, 60)
    )
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    hourly = [
        {"hour": keys.hour_of(ts), "visits": _hour_visits(day_items, ts)}
        for ts in (hour_start - timedelta(hours=i) for i in reversed(range(HOURS_IN_SUMMARY)))
    ]
    last_7d = sum(_hour_visits(day_items, hour_start - timedelta(hours=i)) for i in range(7 * 24))
    humans_today = _n(today, VISITS)
    bots_today = _n(today, BOTS)
    seen = humans_today + bots_today
    sketch = Sketch()
    for item in name_items:
        if item.get(keys.SK, {}).get("S", "").startswith(UNIQUES + "#"):
            sketch = sketch.merge(read_uniques(item).sketch)
    classes = {name[len(CLASS_PREFIX) :]: _n(today, name) for name in (today or {}) if name.startswith(CLASS_PREFIX)}
    live = sum(_n(current_hour, f"m{m:02d}") for m in range(max(0, now.minute - LIVE_MINUTES + 1), now.minute + 1))
    if now.minute < LIVE_MINUTES - 1:
        live += sum(_n(previous_hour, f"m{m:02d}") for m in range(60 - (LIVE_MINUTES - 1 - now.minute), 60))
    return {
        "live_visitors": live,
        "visits_last_hour": last_hour,
        "visits_last_24h": sum(h["visits"] for h in hourly),
        "visits_last_7d": last_7d,
        "visits_today": humans_today,
        "unique_visitors_today": sketch.estimate(),
        "bots_today": bots_today,
        "bot_share": round(bots_today / seen, 4) if seen else 0.0,
        "bots_by_class": dict(sorted(((c, v) for c, v in classes.items() if v > 0), key=lambda cv: (-cv[1], cv[0]))),
        "top_pages": _top(name_items, PAGE, "path"),
        "top_referrers": _top(name_items, REFERRER, "referrer"),
        "browsers": _top(name_items, BROWSER, "browser"),
        "top_bots": _top(name_items, AGENT, "agent"),
        **dimension_lists(name_items),
        "hourly": hourly,
    }


# Lists added by issue 13's dimensions, the same shape as top_pages: (JSON key, dimension, label).
DIMENSION_LISTS = (
    ("countries", COUNTRY, "country"),
    ("devices", DEVICE, "device"),
    ("os", OS, "os"),
    ("sources", SOURCE, "source"),
    ("mediums", MEDIUM, "medium"),
    ("campaigns", CAMPAIGN, "campaign"),
)


def dimension_lists(name_items: Sequence[Mapping[str, AttrValue]]) -> dict[str, list[dict[str, Any]]]:
    return {key: _top(name_items, dim, field_name) for key, dim, field_name in DIMENSION_LISTS}


ROLLUP_NAME_ATTR = "t:"  # a rolled-up tally: "t:<dim>:<name>"
ROLLUP_DAYS = "days"


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
            if attr in (VISITS, BOTS) or attr.startswith(CLASS_PREFIX):
                counters[attr] = counters.get(attr, 0) + int(float(value["N"]))
    for dim in DIMENSIONS:
        ranked = sorted(tallies(names, dim).items(), key=lambda t: (-t[1], t[0]))
        kept, rest = ranked[:ROLLUP_NAMES], ranked[ROLLUP_NAMES:]
        if rest:
            kept.append((OTHER, sum(v for _, v in rest) + dict(kept).get(OTHER, 0)))
        for name, count in kept:
            counters[f"{ROLLUP_NAME_ATTR}{dim}:{name}"] = count
    item.update({attr: {"N": str(n)} for attr, n in counters.items()})
    return item


def rollup_views(item: Mapping[str, AttrValue]) -> tuple[Item, list[Item]]:
    """A rollup as what ``summarize_range`` reads: the month's totals item and one pseudo pack
    per dimension."""
    totals: Item = {a: v for a, v in item.items() if a in (VISITS, BOTS) or a.startswith(CLASS_PREFIX)}
    packs: dict[str, Item] = {}
    for attr, value in item.items():
        if attr.startswith(ROLLUP_NAME_ATTR):
            dim, name = attr[len(ROLLUP_NAME_ATTR) :].split(":", 1)
            pack_item = packs.setdefault(dim, {keys.SK: {"S": f"{dim}#rollup"}})
            pack_item[NAME_ATTR + name] = value
    return totals, list(packs.values())


def summarize_range(
    periods: Sequence[str],
    totals: Mapping[str, Mapping[str, AttrValue] | None],
    names: Sequence[Mapping[str, AttrValue]],
) -> dict[str, Any]:
    """A range's part of the status JSON: one day or month total item per period (missing = zero)
    and every name item of their partitions (tallies are summed over periods, sketches merged)."""
    classes: dict[str, int] = {}
    for item in totals.values():
        for attr in item or {}:
            if attr.startswith(CLASS_PREFIX):
                classes[attr[len(CLASS_PREFIX) :]] = classes.get(attr[len(CLASS_PREFIX) :], 0) + _n(item, attr)
    sketch = Sketch()
    for item in names:
        if item.get(keys.SK, {}).get("S", "").startswith(UNIQUES + "#"):
            sketch = sketch.merge(read_uniques(item).sketch)
    day_periods = all(keys.is_day(p) for p in periods)
    return {
        "visits": sum(_n(totals.get(p), VISITS) for p in periods),
        "bots": sum(_n(totals.get(p), BOTS) for p in periods),
        # Sketches are kept 35 days, per day: a range of months has none.
        "unique_visitors": sketch.estimate() if day_periods else None,
        "series": [{"period": p, "visits": _n(totals.get(p), VISITS)} for p in periods],
        "top_pages": _top(names, PAGE, "path"),
        "top_referrers": _top(names, REFERRER, "referrer"),
        "browsers": _top(names, BROWSER, "browser"),
        "top_bots": _top(names, AGENT, "agent"),
        "bots_by_class": dict(sorted(((c, v) for c, v in classes.items() if v > 0), key=lambda cv: (-cv[1], cv[0]))),
        **dimension_lists(names),
    }
