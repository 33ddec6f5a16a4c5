"""Table access for the visit counter, the daily salt and ingest's direct-write recovery path.

Counter: ``COUNTER_SHARDS`` items (``keys.counter_key(n)``), each with a ``visits`` number. One shard
(the default) gives an exact count straight from ``UpdateItem ... ReturnValues=UPDATED_NEW``. With
N > 1 shards a visit increments a random shard (spreading the write load over N items) and reports
``its new shard value + the other shards' cached values``; the cache is refreshed with one read of all
shards at most every ``COUNTER_CACHE_SECONDS``. So a reported count may miss visits other execution
environments made in the last ``COUNTER_CACHE_SECONDS`` (plus request time) - it never overcounts -
and ``read_total()`` (consistent reads of every shard) is exact as soon as traffic stops.

All shards are read with one ``BatchGetItem`` of the ``keys.counter_key(n)`` keys, whatever the key
layout. ``COUNTER_SHARDS`` may be raised at any time but never lowered: the shards above the new value
would drop out of the total.
"""

from __future__ import annotations

import base64
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from functions.common import aws, keys
from functions.common.definitions import COUNTER_CACHE_SECONDS, SALT_TTL_DAYS, TABLE
from functions.common.logitem import to_log_item
from functions.common.privacy import new_salt
from functions.common.settings import Settings
from functions.common.visit import Visit

VISITS_ATTRIBUTE = "visits"
SALT_ATTRIBUTE = "salt"
_BATCH_ATTEMPTS = 3
_BATCH_BACKOFF_SECONDS = 0.02


class CounterReadIncomplete(RuntimeError):
    """DynamoDB kept some shards unprocessed: an exact total cannot be given right now."""


def increment(settings: Settings, shard: int = 0) -> int:
    """Add one visit to a shard: one UpdateItem, returning the shard's new value."""
    response = aws.dynamodb().update_item(
        TableName=settings.table_name,
        Key=keys.counter_key(shard),
        UpdateExpression="ADD #v :one",
        ExpressionAttributeNames={"#v": VISITS_ATTRIBUTE},
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(response["Attributes"][VISITS_ATTRIBUTE]["N"])


def read_shard(settings: Settings, shard: int = 0, *, consistent: bool = False) -> int:
    """One shard's value (0 before its first visit): one GetItem."""
    response = aws.dynamodb().get_item(
        TableName=settings.table_name,
        Key=keys.counter_key(shard),
        ProjectionExpression="#v",
        ExpressionAttributeNames={"#v": VISITS_ATTRIBUTE},
        ConsistentRead=consistent,
    )
    return int(response.get("Item", {}).get(VISITS_ATTRIBUTE, {}).get("N", "0"))


def read_shards(settings: Settings, *, consistent: bool = False) -> dict[int, int]:
    """Every shard's value, ``{shard: visits}``: one BatchGetItem of the ``COUNTER_SHARDS`` keys.

    Keys DynamoDB leaves unprocessed (throttling) are asked for again a few times with a short
    back-off; a shard still missing then is left out (``read_total`` raises instead).
    """
    wanted = {_shard_of(keys.counter_key(n)): n for n in range(settings.counter_shards)}
    request_keys = [keys.counter_key(n) for n in range(settings.counter_shards)]
    values: dict[int, int] = {}
    for attempt in range(_BATCH_ATTEMPTS):
        response = aws.dynamodb().batch_get_item(
            RequestItems={
                settings.table_name: {
                    "Keys": request_keys,
                    "ProjectionExpression": "#pk, #sk, #v",
                    "ExpressionAttributeNames": {"#pk": keys.PK, "#sk": keys.SK, "#v": VISITS_ATTRIBUTE},
                    "ConsistentRead": consistent,
                }
            }
        )
        for item in response.get("Responses", {}).get(settings.table_name, []):
            shard = wanted.get(_shard_of(item))
            if shard is not None:
                values[shard] = int(item.get(VISITS_ATTRIBUTE, {}).get("N", "0"))
        request_keys = response.get("UnprocessedKeys", {}).get(settings.table_name, {}).get("Keys", [])
        if not request_keys:
            break
        time.sleep(_BATCH_BACKOFF_SECONDS * 2**attempt)
    unprocessed = {_shard_of(k) for k in request_keys}
    for key, shard in wanted.items():
        if key not in unprocessed:
            values.setdefault(shard, 0)  # answered but absent from the table: no visits yet
    return values


def _shard_of(item: dict[str, Any]) -> tuple[str, str]:
    return item[keys.PK]["S"], item[keys.SK]["S"]


def read_total(settings: Settings) -> int:
    """The exact count: the sum of every shard, read with strongly consistent reads."""
    if settings.counter_shards == 1:
        return read_shard(settings, 0, consistent=True)
    shards = read_shards(settings, consistent=True)
    if len(shards) < settings.counter_shards:
        raise CounterReadIncomplete(f"{settings.counter_shards - len(shards)} shard(s) left unprocessed")
    return sum(shards.values())


class ShardedCounter:
    """The counter as ingest uses it, with the per-environment cache of the other shards' values."""

    def __init__(
        self,
        cache_seconds: float = COUNTER_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        choose_shard: Callable[[int], int] = random.randrange,
    ) -> None:
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._choose_shard = choose_shard
        self._lock = threading.Lock()
        self._shards: dict[int, int] = {}
        self._read_at: float | None = None

    def count_visit(self, settings: Settings) -> int:
        """Increment (one UpdateItem) and return the count; N > 1 shards: + at most one cache refresh."""
        if settings.counter_shards == 1:
            return increment(settings, 0)
        shard = self._choose_shard(settings.counter_shards)
        mine = increment(settings, shard)
        shards = self._cached_shards(settings)
        with self._lock:
            self._shards[shard] = max(self._shards.get(shard, 0), mine)
        return mine + sum(value for n, value in shards.items() if n != shard)

    def current(self, settings: Settings) -> int:
        """The count without incrementing (bots): one GetItem, or the cached sum of the shards."""
        if settings.counter_shards == 1:
            return read_shard(settings, 0)
        return sum(self._cached_shards(settings).values())

    def _cached_shards(self, settings: Settings) -> dict[int, int]:
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._cache_seconds:
                # Merge, never replace: a throttled shard keeps its last known value, and a counter
                # only grows, so an eventually consistent read cannot take a shard backwards.
                for shard, visits in read_shards(settings).items():
                    self._shards[shard] = max(self._shards.get(shard, 0), visits)
                self._read_at = now
            return dict(self._shards)

    def clear(self) -> None:
        with self._lock:
            self._shards, self._read_at = {}, None


# --- the daily salt ----------------------------------------------------------------------


def _salt_expires_at(day: str) -> int:
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    return int((start + timedelta(days=SALT_TTL_DAYS)).timestamp())


def _salt_bytes(value: Any) -> bytes:
    # Parsed responses give bytes; an unmodelled error payload may carry base64 text.
    return bytes(value) if isinstance(value, bytes | bytearray) else base64.b64decode(value)


def get_or_create_salt(settings: Settings, day: str) -> bytes:
    """The salt of ``day`` (YYYY-MM-DD): one conditional PutItem, whoever gets there first wins.

    Losing the race returns the winner's item in the same call (ReturnValuesOnConditionCheckFailure),
    with a consistent GetItem as the fallback, so every function hashes with the same secret.
    """
    salt = new_salt()
    item = dict(keys.salt_key(day), **{SALT_ATTRIBUTE: {"B": salt}})
    item[TABLE.ttl_attribute] = {"N": str(_salt_expires_at(day))}
    client = aws.dynamodb()
    try:
        client.put_item(
            TableName=settings.table_name,
            Item=item,
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": keys.PK},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return salt
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        existing = exc.response.get("Item")
    if not existing or SALT_ATTRIBUTE not in existing:
        existing = client.get_item(TableName=settings.table_name, Key=keys.salt_key(day), ConsistentRead=True).get(
            "Item", {}
        )
    if SALT_ATTRIBUTE not in existing:  # expired between the check and the read: no hashes this time
        raise ClientError({"Error": {"Code": "SaltUnavailable", "Message": "the day's salt vanished"}}, "GetItem")
    return _salt_bytes(existing[SALT_ATTRIBUTE]["B"])


# --- recovery ------------------------------------------------------------------------------


def write_recovered_visit(settings: Settings, visit: Visit) -> None:
    """Log a visit straight into the table when the queue refused it: the writer's item + ``recovered``.

    The same key as the writer's item, so a later delivery of the same visit overwrites it harmlessly.
    Aggregates (day/hour/uniques) are not updated on this path: /status may miss the visit.
    """
    aws.dynamodb().put_item(
        TableName=settings.table_name,
        Item=to_log_item(visit, settings.log_ttl_days, recovered=True),
    )
