"""Table access for the visit counter, the daily salt and ingest's direct-write recovery path.

Counter: ``COUNTER_SHARDS`` items (``keys.counter_key(n)``), each with a ``visits`` number. One shard
(the default) gives an exact count straight from ``UpdateItem ... ReturnValues=UPDATED_NEW``. With
N > 1 shards a visit increments a random shard (spreading the write load over N items) and reports
``its new shard value + the other shards' cached values``; the cache is refreshed with one read of all
shards at most every ``COUNTER_CACHE_SECONDS``. So a reported count may miss visits other execution
environments made in the last ``COUNTER_CACHE_SECONDS`` (plus request time) - it never overcounts -
and ``read_total()`` (consistent reads of every shard) is exact as soon as traffic stops.

All shards are read with one ``Query`` on the counter partition rather than a ``BatchGetItem`` of N
keys: the same single request, and it still finds every shard if ``COUNTER_SHARDS`` is lowered later.
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
_COUNTER_PK = keys.counter_key(0)[keys.PK]["S"]
_SHARD_PREFIX = keys.counter_key(0)[keys.SK]["S"].removesuffix("0")


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
    """Every shard's value, ``{shard: visits}``: one Query of the counter partition (paged if ever needed)."""
    values: dict[int, int] = {}
    request: dict[str, Any] = {
        "TableName": settings.table_name,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": keys.PK},
        "ExpressionAttributeValues": {":pk": {"S": _COUNTER_PK}},
        "ConsistentRead": consistent,
    }
    while True:
        response = aws.dynamodb().query(**request)
        for item in response.get("Items", []):
            shard = item[keys.SK]["S"].removeprefix(_SHARD_PREFIX)
            if shard.isdigit() and VISITS_ATTRIBUTE in item:
                values[int(shard)] = int(item[VISITS_ATTRIBUTE]["N"])
        if "LastEvaluatedKey" not in response:
            return values
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def read_total(settings: Settings) -> int:
    """The exact count: the sum of every shard, read with strongly consistent reads."""
    if settings.counter_shards == 1:
        return read_shard(settings, 0, consistent=True)
    return sum(read_shards(settings, consistent=True).values())


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
                self._shards = read_shards(settings)
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
        existing = client.get_item(TableName=settings.table_name, Key=keys.salt_key(day), ConsistentRead=True)["Item"]
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
