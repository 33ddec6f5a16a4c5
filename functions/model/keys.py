"""DynamoDB item keys of the single-table design: the only place that knows the key layout.

Items (``pk`` / ``sk``):

- counter shard:   ``COUNTER#<n>``        / ``COUNTER``          attribute ``visits`` (N)
- visit log item:  ``LOG#<day>#<bucket>`` / ``<iso ts>#<visit_id>``  has ``expires_at`` (TTL)
- day aggregate:   ``AGG#DAY``            / ``<day>``            visits, bots, hour counters, bot classes
- hour aggregate:  ``AGG#HOUR``           / ``<day>T<hh>``       visits, bots, minute counters
- month rollup:    ``ROLLUP``             / ``<yyyy-mm>``        a finished month's totals and top names
- name tallies:    ``AGG#N#<period>``     / ``<dim>#<pack>``     packed name tallies of a day, a month or ``all``
- unique visitors: ``AGG#N#<day>``        / ``u#<shard>``        HyperLogLog sketch of visitor hashes
- daily salt:      ``SALT``               / ``<day>``            random secret for hashed visitors
- failure reason:  ``FAILURE``            / ``<sqs message id>`` attribute ``reason`` (S), for the CLI
- access token:    ``ACCESS``             / ``<token id>``       ``owner`` or a shared link's id (secret, label)
- imported logs:   ``IMPORT``             / ``<sha256>#<group>[#<site>]`` a chunk of access log already tallied

Several sites (``functions.model.sites``): the counter, log, aggregate and rollup items of a site other
than the default one carry ``S#<site>#`` before their partition key (``in_site``); the default site's keep
the keys above, so a one-site deployment's data is its default site's. Salts, failures, access tokens and
import markers belong to the deployment.

Log items are spread over ``LOG_BUCKETS`` partitions a day so that logging is not capped by one
partition's write limit; a bucket is chosen from the visit id, so a redelivered visit always maps to
the same key (idempotent overwrite).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from functions.core.definitions import TABLE

PK = TABLE.partition_key
SK = TABLE.sort_key
LOG_BUCKETS = 16

Key = dict[str, dict[str, str]]
ItemKey = tuple[str, str]  # (pk, sk)
AttrValue = dict[str, Any]
Item = dict[str, AttrValue]


def key_tuple(key: Mapping[str, Any]) -> ItemKey:
    return key[PK]["S"], key[SK]["S"]


def key_dict(key: ItemKey) -> Key:
    return {PK: {"S": key[0]}, SK: {"S": key[1]}}


# Partition-key patterns of each item family, as IAM's ``dynamodb:LeadingKeys`` condition takes them
# (``*`` matches any characters): the stack grants each function only the families it touches.
_FAMILIES: dict[str, tuple[str, ...]] = {
    "counter": ("COUNTER#*",),
    "salt": ("SALT",),
    "log": ("LOG#*",),
    "aggregates": ("AGG#*",),
    "rollups": ("ROLLUP",),  # status writes a finished month's rollup, once
    "failure": ("FAILURE",),
    "access": ("ACCESS",),  # the owner's token and the shared links: status reads, the CLI writes
}
SITE_MARK = "S#"
# The families each site has its own items of (the same patterns behind ``S#<site>#``).
SITE_FAMILIES = ("counter", "log", "aggregates", "rollups")
FAMILY_LEADING_KEYS: dict[str, tuple[str, ...]] = {
    family: patterns + (tuple(f"{SITE_MARK}*#{p}" for p in patterns) if family in SITE_FAMILIES else ())
    for family, patterns in _FAMILIES.items()
}


def in_site(key: ItemKey, site: str | None) -> ItemKey:
    """The key of a site's own item (the default site, None: the key itself)."""
    return key if site is None else (f"{SITE_MARK}{site}#{key[0]}", key[1])


def site_key(key: Key, site: str | None) -> Key:
    """``in_site`` for a key in DynamoDB's JSON."""
    return key if site is None else key_dict(in_site(key_tuple(key), site))


def out_of_site(key: ItemKey) -> ItemKey:
    """The key as the default site would have it (``in_site`` undone)."""
    if not key[0].startswith(SITE_MARK):
        return key
    return key[0].split("#", 2)[2], key[1]


def item_out_of_site(item: Item) -> Item:
    """An item read from a site's partition, its partition key as the model knows it."""
    if not item.get(PK, {}).get("S", "").startswith(SITE_MARK):
        return item
    return {**item, PK: {"S": out_of_site(key_tuple(item))[0]}}


def _key(pk: str, sk: str) -> Key:
    return {PK: {"S": pk}, SK: {"S": sk}}


def is_day(period: str) -> bool:
    """A day (YYYY-MM-DD), as opposed to a month (YYYY-MM) or all time."""
    return len(period) == 10


def day_of(ts: datetime) -> str:
    """YYYY-MM-DD (``date.isoformat``: the writer calls this per visit, and strftime costs several times more)."""
    return ts.date().isoformat()


def hour_of(ts: datetime) -> str:
    """YYYY-MM-DDTHH."""
    return f"{ts.date().isoformat()}T{ts.hour:02d}"


def counter_key(shard: int = 0) -> Key:
    """Each shard has its own partition key, so shards land on different partitions and their
    write limits (1,000 WCU/s per partition) add up; one sort-key range of one partition would not."""
    return _key(f"COUNTER#{shard}", "COUNTER")


def log_bucket(visit_id: str) -> int:
    return int.from_bytes(hashlib.sha256(visit_id.encode()).digest()[:2], "big") % LOG_BUCKETS


def log_pk(day: str, bucket: int) -> str:
    return f"LOG#{day}#{bucket}"


def log_key(day: str, timestamp: str, visit_id: str) -> Key:
    return _key(log_pk(day, log_bucket(visit_id)), f"{timestamp}#{visit_id}")


def day_agg_key(day: str) -> Key:
    return _key("AGG#DAY", day)


def rollup_key(month: str) -> Key:
    """A finished month's totals and top names, rolled up from its days by the status function."""
    return _key("ROLLUP", month)


def hour_agg_key(hour: str) -> Key:
    return _key("AGG#HOUR", hour)


def names_pk(day: str) -> str:
    """One partition per day holds every name tally of the day: one Query reads them all."""
    return f"AGG#N#{day}"


def name_key(day: str, dim: str, name: str) -> Key:
    return _key(names_pk(day), f"{dim}#{name}")


def uniques_key(day: str, shard: int) -> Key:
    """In the day's name partition, so the Query that reads the tallies reads the sketches too."""
    return _key(names_pk(day), f"u#{shard}")


def salt_key(day: str) -> Key:
    return _key("SALT", day)


def failure_key(message_id: str) -> Key:
    """Why the writer gave up on an SQS message (attribute ``reason``), read by ``visitor-tracker dlq list``."""
    return _key("FAILURE", message_id)


def access_key(token_id: str) -> Key:
    return _key("ACCESS", token_id)


def access_pk() -> str:
    return "ACCESS"


def import_key(digest: str, group: int, site: str | None = None) -> Key:
    """The marker of one imported chunk of access log (one transaction group of its updates) for a site:
    the same log imported for another site is another import."""
    return _key("IMPORT", f"{digest}#{group}" + (f"#{site}" if site else ""))
