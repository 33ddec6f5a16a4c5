"""The aggregate layout: which items hold the tallies, what they are called, how big they may grow, how long they live.

Aggregate items (key patterns in ``functions.model.keys``), each small, so that a batch pays write units
for what it touches and never for what the day already holds:

- day ``AGG#DAY/<day>``: ``visits`` (human visits), ``events`` (custom events of browsers), ``bots``,
  ``h00``..``h23`` (human visits per hour), ``c:<class>`` (automated visits per class: crawler, monitor, ...),
  ``ch:<channel>`` (entrances per channel), ``sc:<screen class>`` and ``hn:<host>`` (pageviews per screen
  class and per host name, at most ``CAPS[HOST]`` hosts). Under 1 KB (2 KB if spammed hosts fill the cap).
- hour ``AGG#HOUR/<day>T<hh>``: ``visits``, ``bots``, ``m00``..``m59`` (human visits per minute).
- name tallies ``AGG#N#<day>/<dim>#<k>``: packed tally items of one dimension (``i``: AI crawlers'
  reads per page, names "<page>\t<agent>"), each holding at most
  about ``PACK_NAMES`` names as attributes ``n:<name>`` (visits that day). A name stays in the pack it
  first landed in (the writer remembers where), so an item never outgrows about 1 KB: a batch pays
  2 WRU per pack it touches. Two writers may put the same new name in two packs: readers sum a name
  over the packs. One partition per day, so one Query reads a day's tallies.
- uniques ``AGG#N#<day>/u#<shard>``: a HyperLogLog sketch of visitor hashes (``registers``, at
  most 2 KB, ``functions.model.sketches``) and ``version`` (N, for optimistic locking), written
  outside the counting transaction. They live in the day's name partition, so the one Query that
  reads the tallies reads them too.
  With goals declared, the same item holds each goal's converters (``g:<goal>``: a sketch of the
  visitors who completed it), so a batch writes one sketch item whatever its goals, and pays for
  them only as the item grows (at most ``MAX_GOALS`` goals: under 24 KB). A goal's completions are a
  counter of the day item, ``gl:<goal>``, added by the counting transaction.

Aggregate shards (``AGGREGATE_SHARDS``, 1 by default): at a high rate every counting transaction
would write the same day, hour and popular-name items, and DynamoDB cancels a transaction that writes
an item another transaction is changing. So each writer environment adds to one shard of them: shard
0 is the keys above (data written before shards existed stays read), shard ``n`` the same keys with
``~n`` after the partition key (its own partitions: write capacity adds up). Readers sum a day or
hour item's shards and read every shard's name partition; a shard's packs and caps are its own.
``AGGREGATE_SHARDS`` may be raised, never lowered (higher shards would drop out of the totals).

Caps: at most ``CAPS[dim]`` distinct names per day and dimension; visits to names beyond it are
tallied under ``(other)``. They bound what ``/status`` reads (one Query page, ``NAMES_READ_MAX``)
and what a flood of made-up paths can cost. Several writers racing past a cap overshoot it by at
most one batch each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from functions.core.definitions import TABLE
from functions.core.goals import MAX_GOALS
from functions.model import keys
from functions.model.keys import ItemKey, key_tuple

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
AI_PAGE = "i"  # pages read by AI crawlers: names "<page>\t<agent>" (AI_SEPARATOR)
EVENT = "e"  # custom events by name (functions.model.events): never pageviews
PROPERTY = "v"  # their property values, "<event>|<key>=<value>"
HOST = "h"  # the day's host names, a registry for the cap (counts: HOST_PREFIX in the day item)
UNIQUES = "u"  # the sort-key prefix of the sketches in a day's name partition
DIMENSIONS = (
    PAGE,
    REFERRER,
    BROWSER,
    AGENT,
    COUNTRY,
    DEVICE,
    OS,
    SOURCE,
    MEDIUM,
    CAMPAIGN,
    AI_PAGE,
    EVENT,
    PROPERTY,
    HOST,
)
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
    AI_PAGE: 500,
    EVENT: 100,
    PROPERTY: 500,
    HOST: 10,
}
UNKNOWN_COUNTRY = "unknown"
# Periods of the name partitions: a day (YYYY-MM-DD) and, for pages only, all time.
ALL_TIME = "all"
ALL_TIME_PAGE_CAP = 5000
ROLLUP_NAMES = 200  # names per dimension a month's rollup keeps (its top ones)
ALL_TIME_EXPIRES_AT = 253402300799  # 9999-12-31: never (DynamoDB's TTL ignores far-future values)
OTHER = "(other)"
CLASS_PREFIX = "c:"
AI_CLASS = "ai-crawler"  # the automated class whose pages are tallied (AI_PAGE)
AI_SEPARATOR = "\t"  # between page and agent in an AI_PAGE name (neither can hold a tab)
# Fixed, tiny vocabularies (7 channels, 4 screen classes, computed by the writer): counted in the day
# item itself, like the bot classes, so a batch touches no extra item for them.
CHANNEL_PREFIX = "ch:"
SCREEN_PREFIX = "sc:"
# Host names are counted in the day item too ("hn:<host>"), but their vocabulary is open: a host gets
# a name tally (the HOST packs) once, when first seen that day, which is what caps them at CAPS[HOST].
HOST_PREFIX = "hn:"
GOAL_PREFIX = "gl:"  # a goal's completions, in the day item ("gl:<goal label>")
GOAL_SKETCH_ATTR = "g:"  # a goal's converters, in the uniques items ("g:<goal label>")
NAME_ATTR = "n:"  # attribute prefix of a name inside a pack (never clashes with pk, sk, expires_at)
PACK_NAMES = 20  # names per pack: about 1 KB at typical path lengths, one write unit per KB
ROLLUP_NAME_ATTR = "t:"  # a rolled-up tally: "t:<dim>:<name>"
ROLLUP_DAYS = "days"

DAY_TTL_DAYS = 400
HOUR_TTL_DAYS = 3
NAMES_TTL_DAYS = 400
UNIQUES_TTL_DAYS = 35
UNIQUES_SHARDS = 8

TTL_ATTRIBUTE = TABLE.ttl_attribute

VISITS = "visits"
BOTS = "bots"
EVENTS = "events"  # custom events of the day (day item), beside its visits
REGISTERS = "registers"
VERSION = "version"

TOP_N = 10
TOP_PROPERTIES = 20  # top property values of custom events, over every event
LIVE_MINUTES = 5  # "live visitors": human visits of the last 5 minutes, this one included
HOURS_IN_SUMMARY = 24
DAYS_READ = 8  # today and the 7 days before it: enough for a rolling 7 x 24 hours window
# The most items a day's name partition can hold (the caps, one "(other)" per dimension, packed,
# with room for packs written by racing writers, and the sketches): under a Query page's 1 MB.
NAMES_READ_MAX = 2 * (sum(CAPS.values()) // PACK_NAMES + len(CAPS)) + UNIQUES_SHARDS
UNIQUES_ITEM_MAX_BYTES = (1 + MAX_GOALS) * 2048 + 1024  # registers, each goal's, names and keys
ALL_TIME_READ_MAX = 2 * (ALL_TIME_PAGE_CAP // PACK_NAMES + 1)


SHARD_MARK = "~"  # between an aggregate item's partition key and its shard number (shard 0: no mark)


def sharded(key: ItemKey, shard: int) -> ItemKey:
    """The key of an aggregate item in shard ``shard`` (shard 0: the key itself)."""
    return key if shard == 0 else (f"{key[0]}{SHARD_MARK}{shard}", key[1])


def unsharded(key: ItemKey) -> ItemKey:
    """The shard-0 key of any shard's item (the key itself when it has no shard)."""
    base, mark, shard = key[0].rpartition(SHARD_MARK)
    return (base, key[1]) if mark and shard.isdigit() else key


def merge_shards(items: Mapping[ItemKey, Mapping[str, dict[str, str]]]) -> dict[ItemKey, dict[str, dict[str, str]]]:
    """Items of every shard summed onto their shard-0 key: number attributes added (``expires_at``,
    the same in every shard, kept once); items without shards unchanged."""
    merged: dict[ItemKey, dict[str, dict[str, str]]] = {}
    for key, item in items.items():
        base = unsharded(key)
        into = merged.setdefault(base, {})
        for attr, value in item.items():
            if attr in (keys.PK, keys.SK):
                into[attr] = {"S": base[0] if attr == keys.PK else base[1]}
            elif "N" in value and attr != TTL_ATTRIBUTE and attr in into:
                into[attr] = {"N": str(int(float(into[attr]["N"])) + int(float(value["N"])))}
            else:
                into[attr] = dict(value)
    return merged


def cap(period: str, dim: str) -> int:
    """How many distinct names of a dimension a period's partition keeps before ``(other)``."""
    return ALL_TIME_PAGE_CAP if period == ALL_TIME else CAPS[dim]


def epoch(ts: datetime) -> int:
    return int(ts.timestamp())


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
    return unsharded(key)[0][len(prefix) :], dim, name


def pack_key(day: str, dim: str, pack: int) -> ItemKey:
    return key_tuple(keys.name_key(day, dim, str(pack)))


def uniques_shard_key(day: str, shard: int) -> ItemKey:
    return key_tuple(keys.uniques_key(day, shard % UNIQUES_SHARDS))


def uniques_expires_at(day: str) -> int:
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    return epoch(start + timedelta(days=UNIQUES_TTL_DAYS))


@dataclass(frozen=True)
class StatusKeys:
    """The fixed list of items one status summary reads (the same whatever the traffic)."""

    days: tuple[str, ...]  # today first
    hours: tuple[str, ...]  # current hour first, then the previous one

    def item_keys(self, shards: int = 1) -> list[keys.Key]:
        """Every shard's day and hour items (``merge_shards`` sums them back)."""
        base = [keys.day_agg_key(d) for d in self.days] + [keys.hour_agg_key(h) for h in self.hours]
        return [keys.key_dict(sharded(key_tuple(k), n)) for n in range(shards) for k in base]


def status_keys(now: datetime) -> StatusKeys:
    now = now.astimezone(UTC)
    days = tuple(keys.day_of(now - timedelta(days=i)) for i in range(DAYS_READ))
    hours = (keys.hour_of(now), keys.hour_of(now - timedelta(hours=1)))
    return StatusKeys(days=days, hours=hours)
