"""Aggregates: fold a batch of visits into per-item deltas, and turn aggregate items into the status summary.

Pure functions only (no boto3): the writer turns the deltas into one ``ADD`` update per aggregate
item (and one sketch write per uniques item), the status function reads a fixed list of items and
calls ``summarize``.

Aggregate items (keys in ``functions.common.keys``):

- day ``AGG#DAY/<day>``: ``visits`` (human visits), ``bots``, ``h00``..``h23`` (human visits per hour),
  ``p:<path>`` / ``r:<referrer host>`` / ``b:<browser family>`` tallies of human visits.
- hour ``AGG#HOUR/<day>T<hh>``: ``visits``, ``bots``, ``m00``..``m59`` (human visits per minute).
- uniques ``AGG#UNIQ/<day>``: ``registers`` (B), a HyperLogLog sketch of the day's visitor hashes
  (``functions.common.hll``: at most 2 KB whatever the traffic; exact up to 255 visitors, about
  2.3 % standard error beyond a few thousand), and ``version`` (N), bumped by every write so that
  writers racing on the item notice (optimistic locking). A merge is a register-wise max, so
  adding the same visitors again never double counts. Items of the earlier layout hold a string
  set ``visitors`` instead: it is folded into the sketch when read, and removed by the next write.

Bounded item size (a DynamoDB item is at most 400 KB): paths and hosts are truncated
(``MAX_*_CHARS``) and each tally family is capped at ``CAPS`` distinct names per day; visits to
names beyond the cap are tallied under ``<prefix>(other)``. The cap needs to know which names the
day item already holds: the writer passes them in (``known``), see ``apply_caps``. With the caps
below and at most ``QUEUE.max_concurrency`` writers racing past a cap by at most one batch each,
a day item stays well under 100 KB. The uniques item has a fixed size (see above), so a busy day
costs the same write units per batch as a quiet one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from functions.common import keys
from functions.common.hll import InvalidSketch, Sketch
from functions.common.visit import Visit

PAGE_PREFIX = "p:"
REFERRER_PREFIX = "r:"
BROWSER_PREFIX = "b:"
OTHER = "(other)"
MAX_PATH_CHARS = 100
MAX_HOST_CHARS = 100
MAX_BROWSER_CHARS = 40
VISITOR_HASH_CHARS = 16
CAPS: Mapping[str, int] = {PAGE_PREFIX: 300, REFERRER_PREFIX: 150, BROWSER_PREFIX: 40}
TALLY_PREFIXES = tuple(CAPS)
_HOST_RE = re.compile(r"^[a-z0-9._:\[\]-]+$", re.IGNORECASE)

DAY_TTL_DAYS = 400
HOUR_TTL_DAYS = 3
UNIQUES_TTL_DAYS = 35

VISITS = "visits"
BOTS = "bots"
VISITORS = "visitors"  # the earlier layout's string set of visitor hashes (read, never written)
REGISTERS = "registers"
VERSION = "version"

TOP_N = 10
HOURS_IN_SUMMARY = 24
DAYS_READ = 8  # today and the 7 days before it: enough for a rolling 7 x 24 hours window

ItemKey = tuple[str, str]  # (pk, sk)
AttrValue = dict[str, Any]
Item = dict[str, AttrValue]


def key_tuple(key: keys.Key) -> ItemKey:
    return key[keys.PK]["S"], key[keys.SK]["S"]


def key_dict(key: ItemKey) -> keys.Key:
    return {keys.PK: {"S": key[0]}, keys.SK: {"S": key[1]}}


@dataclass
class Delta:
    """What one aggregate item gains from a group of visits: counter increments and set members."""

    key: ItemKey
    expires_at: int
    counters: dict[str, int] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)

    def add(self, name: str, amount: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + amount

    def size(self) -> int:
        """How many terms the item's update expression will have."""
        return len(self.counters) + (1 if self.members else 0)


# --- name normalisation ---------------------------------------------------------------------


def page_name(path: str) -> str:
    """``p:<path>`` without query string or fragment, truncated."""
    clean = path.split("?", 1)[0].split("#", 1)[0] or "/"
    return PAGE_PREFIX + clean[:MAX_PATH_CHARS]


def referrer_name(referrer: str | None) -> str | None:
    """``r:<host>`` of the referrer URL (lower case, no port), or None when there is no usable host."""
    if not referrer:
        return None
    try:
        host = urlsplit(referrer if "//" in referrer else "//" + referrer).hostname
    except ValueError:
        return None
    if not host or not _HOST_RE.match(host):
        return None
    return REFERRER_PREFIX + host.lower()[:MAX_HOST_CHARS]


def browser_name(family: str) -> str:
    return BROWSER_PREFIX + (family.strip() or "Other")[:MAX_BROWSER_CHARS]


def visitor_member(visitor: str) -> str:
    return visitor[:VISITOR_HASH_CHARS]


def _epoch(ts: datetime) -> int:
    return int(ts.timestamp())


# --- folding (writer) -----------------------------------------------------------------------


def fold(visits: Iterable[Visit], browser_of: Callable[[str], str]) -> dict[ItemKey, Delta]:
    """Fold visits into one ``Delta`` per aggregate item they touch (uncapped names)."""
    deltas: dict[ItemKey, Delta] = {}

    def delta(key: keys.Key, expires: datetime) -> Delta:
        k = key_tuple(key)
        if k not in deltas:
            deltas[k] = Delta(k, _epoch(expires))
        return deltas[k]

    for visit in visits:
        when = visit.when
        day_start = when.replace(hour=0, minute=0, second=0, microsecond=0)
        hour_start = day_start.replace(hour=when.hour)
        day = delta(keys.day_agg_key(keys.day_of(when)), day_start + timedelta(days=DAY_TTL_DAYS))
        hour = delta(keys.hour_agg_key(keys.hour_of(when)), hour_start + timedelta(days=HOUR_TTL_DAYS))
        if visit.is_bot:
            day.add(BOTS)
            hour.add(BOTS)
        else:
            day.add(VISITS)
            day.add(f"h{when.hour:02d}")
            hour.add(VISITS)
            hour.add(f"m{when.minute:02d}")
            day.add(page_name(visit.path))
            ref = referrer_name(visit.referrer)
            if ref:
                day.add(ref)
            day.add(browser_name(browser_of(visit.user_agent)))
            if visit.visitor:
                uniq = delta(keys.uniques_key(keys.day_of(when)), day_start + timedelta(days=UNIQUES_TTL_DAYS))
                uniq.members.add(visitor_member(visit.visitor))
    return deltas


def tally_names(delta: Delta) -> set[str]:
    return {name for name in delta.counters if name.startswith(TALLY_PREFIXES)}


def apply_caps(delta: Delta, known: set[str]) -> Delta:
    """Redirect tallies of names the day item does not hold yet to ``(other)`` once a family is full.

    ``known`` is the set of tally names the day item already holds (as last read); it is updated
    in place with the names this delta adds, so consecutive batches share one view.
    """
    counts = {prefix: sum(1 for n in known if n.startswith(prefix)) for prefix in TALLY_PREFIXES}
    capped = Delta(delta.key, delta.expires_at, members=set(delta.members))
    # Most visited names first, so the cap keeps the popular ones.
    for name, amount in sorted(delta.counters.items(), key=lambda kv: (-kv[1], kv[0])):
        prefix = next((p for p in TALLY_PREFIXES if name.startswith(p)), None)
        if prefix is None or name in known or name == prefix + OTHER:
            capped.add(name, amount)
        elif counts[prefix] < CAPS[prefix]:
            counts[prefix] += 1
            known.add(name)
            capped.add(name, amount)
        else:
            capped.add(prefix + OTHER, amount)
    return capped


def is_day_key(key: ItemKey) -> bool:
    return key[0] == keys.day_agg_key("")[keys.PK]["S"]


def is_uniques_key(key: ItemKey) -> bool:
    return key[0] == keys.uniques_key("")[keys.PK]["S"]


@dataclass(frozen=True)
class Uniques:
    """A uniques item as read: its sketch, the version to condition the next write on (0: none
    stored yet) and whether it still holds the earlier layout's string set (to remove on write)."""

    sketch: Sketch = field(default_factory=Sketch)
    version: int = 0
    legacy: bool = False


def read_uniques(item: Mapping[str, AttrValue] | None) -> Uniques:
    """The uniques item's sketch, with any earlier-layout members folded in (missing item: empty).

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
    legacy = item.get(VISITORS, {}).get("SS")
    if legacy:
        sketch.update(legacy)
    return Uniques(sketch=sketch, version=_n(item, VERSION), legacy=bool(legacy))


# --- summary (status) -----------------------------------------------------------------------


@dataclass(frozen=True)
class StatusKeys:
    """The fixed list of items one status summary reads (the same whatever the traffic)."""

    days: tuple[str, ...]  # today first
    hours: tuple[str, ...]  # current hour first, then the previous one
    uniques: str  # today's uniques key day

    def item_keys(self) -> list[keys.Key]:
        return (
            [keys.day_agg_key(d) for d in self.days]
            + [keys.hour_agg_key(h) for h in self.hours]
            + [keys.uniques_key(self.uniques)]
        )


def status_keys(now: datetime) -> StatusKeys:
    now = now.astimezone(UTC)
    days = tuple(keys.day_of(now - timedelta(days=i)) for i in range(DAYS_READ))
    hours = (keys.hour_of(now), keys.hour_of(now - timedelta(hours=1)))
    return StatusKeys(days=days, hours=hours, uniques=days[0])


def _n(item: Mapping[str, AttrValue] | None, name: str) -> int:
    if not item or name not in item or "N" not in item[name]:
        return 0
    return int(float(item[name]["N"]))


def _top(item: Mapping[str, AttrValue] | None, prefix: str, label: str, n: int = TOP_N) -> list[dict[str, Any]]:
    if not item:
        return []
    tallies = [(name[len(prefix) :], _n(item, name)) for name in item if name.startswith(prefix)]
    tallies.sort(key=lambda t: (-t[1], t[0]))
    return [{label: name, "visits": count} for name, count in tallies[:n] if count > 0]


def _hour_visits(days: Mapping[str, Mapping[str, AttrValue] | None], ts: datetime) -> int:
    return _n(days.get(keys.day_of(ts)), f"h{ts.hour:02d}")


def summarize(items: Mapping[ItemKey, Item], now: datetime) -> dict[str, Any]:
    """The traffic part of the status JSON from the items of ``status_keys(now)`` (missing = zero).

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
    unique_today = read_uniques(items.get(key_tuple(keys.uniques_key(sk.uniques)))).sketch.estimate()
    return {
        "visits_last_hour": last_hour,
        "visits_last_24h": sum(h["visits"] for h in hourly),
        "visits_last_7d": last_7d,
        "visits_today": humans_today,
        "unique_visitors_today": unique_today,
        "bots_today": bots_today,
        "bot_share": round(bots_today / seen, 4) if seen else 0.0,
        "top_pages": _top(today, PAGE_PREFIX, "path"),
        "top_referrers": _top(today, REFERRER_PREFIX, "referrer"),
        "browsers": _top(today, BROWSER_PREFIX, "browser"),
        "hourly": hourly,
    }
