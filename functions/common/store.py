"""Data access for log items and aggregates: bulk writes, transactions and bounded reads.

Everything that talks to DynamoDB about visits goes through here, so retry and backoff rules live
in one place: throttling and ``UnprocessedItems`` are retried with capped exponential backoff and
full jitter, a bounded number of times; whatever still fails is handed back to the caller (the
writer then fails those SQS records so they are redelivered), never silently dropped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from functions.common import aws, keys
from functions.common.aggregates import REGISTERS, VERSION, VISITORS, Delta, Item, ItemKey, key_dict, key_tuple
from functions.common.definitions import TABLE
from functions.common.logitem import from_log_item
from functions.common.observability import logger
from functions.common.visit import Visit, utc_now

BATCH_WRITE_MAX = 25  # DynamoDB's BatchWriteItem limit
BATCH_GET_MAX = 100  # BatchGetItem's limit
TRANSACT_MAX = 100  # TransactWriteItems' limit (actions per transaction)
AGGREGATED = "aggregated"

# Error codes worth another try (the same request may succeed a little later).
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "ThrottlingError",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflict",
        "TransactionConflictException",
        "TransactionInProgressException",
        "ProvisionedThroughputExceeded",
        "LimitExceededException",
    }
)
CONDITION_FAILED = "ConditionalCheckFailed"

T = TypeVar("T")


def sleep(seconds: float) -> None:
    """The pause between retries (module level so tests can replace it and see the delays)."""
    time.sleep(seconds)


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with full jitter, a bounded number of attempts.

    Worst case about 1.6 s of waiting per operation with the defaults: well inside the writer's
    timeout even for several chunks of a batch.
    """

    attempts: int = 6
    base_seconds: float = 0.05
    cap_seconds: float = 0.8
    sleep: Callable[[float], None] | None = None

    def pause(self, attempt: int) -> None:
        delay = random.uniform(0, min(self.cap_seconds, self.base_seconds * 2**attempt))
        (self.sleep or sleep)(delay)


DEFAULT_BACKOFF = Backoff()


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def is_retryable(exc: BaseException) -> bool:
    """Throttling, conflicts and transport errors are retried; validation errors are not."""
    return isinstance(exc, BotoCoreError) or error_code(exc) in RETRYABLE_CODES


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- log items -------------------------------------------------------------------------------


def put_items(table_name: str, items: Sequence[Item], backoff: Backoff = DEFAULT_BACKOFF) -> list[Item]:
    """BatchWriteItem ``items`` 25 at a time; return the items that could not be written.

    ``UnprocessedItems`` and throttling errors are retried with backoff; a chunk that keeps
    failing, or fails with a non-retryable error, is returned whole.
    """
    client = aws.dynamodb()
    failed: list[Item] = []
    for chunk in chunked(items, BATCH_WRITE_MAX):
        pending = list(chunk)
        for attempt in range(backoff.attempts):
            try:
                response = client.batch_write_item(
                    RequestItems={table_name: [{"PutRequest": {"Item": item}} for item in pending]}
                )
            except (ClientError, BotoCoreError) as exc:
                if not is_retryable(exc):
                    logger.error("BatchWriteItem failed", extra={"error": error_code(exc), "items": len(pending)})
                    break
                logger.warning("BatchWriteItem throttled", extra={"error": error_code(exc), "attempt": attempt})
            else:
                unprocessed = response.get("UnprocessedItems", {}).get(table_name, [])
                pending = [request["PutRequest"]["Item"] for request in unprocessed]
                if not pending:
                    break
                logger.info("BatchWriteItem left items unprocessed", extra={"count": len(pending)})
            if attempt + 1 < backoff.attempts:
                backoff.pause(attempt)
        failed.extend(pending)
    return failed


# --- aggregates -------------------------------------------------------------------------------


def mark_aggregated_action(table_name: str, log_key: keys.Key, expires_at: int) -> dict[str, Any]:
    """Transaction action: flag a visit's log item as counted, only if it is not flagged yet.

    The flag is set before the full log item is written (see the writer), so a log item rewritten
    on redelivery keeps it; ``expires_at`` lets a flag-only item left by a crash expire with the log.
    """
    return {
        "Update": {
            "TableName": table_name,
            "Key": log_key,
            "UpdateExpression": "SET #agg = :t, #ttl = if_not_exists(#ttl, :exp)",
            "ConditionExpression": "attribute_not_exists(#agg)",
            "ExpressionAttributeNames": {"#agg": AGGREGATED, "#ttl": TABLE.ttl_attribute},
            "ExpressionAttributeValues": {":t": {"BOOL": True}, ":exp": {"N": str(expires_at)}},
        }
    }


def aggregate_update(table_name: str, delta: Delta) -> dict[str, Any]:
    """UpdateItem arguments adding ``delta`` to its aggregate item (one expression, names substituted)."""
    names: dict[str, str] = {"#ttl": TABLE.ttl_attribute}
    values: dict[str, Any] = {":ttl": {"N": str(delta.expires_at)}}
    adds: list[str] = []
    for i, (name, amount) in enumerate(sorted(delta.counters.items())):
        names[f"#a{i}"] = name
        values[f":a{i}"] = {"N": str(amount)}
        adds.append(f"#a{i} :a{i}")
    expression = "SET #ttl = :ttl" + (" ADD " + ", ".join(adds) if adds else "")
    return {
        "TableName": table_name,
        "Key": key_dict(delta.key),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def sketch_update(
    table_name: str, key: ItemKey, registers: bytes, version: int, expires_at: int, *, drop_legacy: bool = False
) -> dict[str, Any]:
    """UpdateItem arguments writing a uniques sketch read at ``version`` (0: the item had none).

    Optimistic locking: the write succeeds only if nobody wrote the sketch since it was read
    (``ConditionalCheckFailed`` otherwise: re-read, merge, retry). An update rather than a put, so
    the writer needs no more DynamoDB actions than it has; ``drop_legacy`` removes the earlier
    layout's string set, already folded into ``registers``.
    """
    names = {"#reg": REGISTERS, "#ver": VERSION, "#ttl": TABLE.ttl_attribute}
    expression = "SET #reg = :reg, #ver = :next, #ttl = :ttl"
    if drop_legacy:
        names["#old"] = VISITORS
        expression += " REMOVE #old"
    return {
        "TableName": table_name,
        "Key": key_dict(key),
        "UpdateExpression": expression,
        "ConditionExpression": "attribute_not_exists(#ver) OR #ver = :ver",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {
            ":reg": {"B": registers},
            ":ver": {"N": str(version)},
            ":next": {"N": str(version + 1)},
            ":ttl": {"N": str(expires_at)},
        },
    }


def transact(actions: Sequence[dict[str, Any]]) -> list[str] | None:
    """Run one TransactWriteItems; None when it committed, else the cancellation codes, one per action.

    Errors other than a cancellation are raised (``is_retryable`` tells the caller what to do).
    """
    if len(actions) > TRANSACT_MAX:
        raise ValueError(f"a transaction holds at most {TRANSACT_MAX} actions, got {len(actions)}")
    try:
        aws.dynamodb().transact_write_items(TransactItems=list(actions))
    except ClientError as exc:
        if error_code(exc) != "TransactionCanceledException":
            raise
        reasons = exc.response.get("CancellationReasons") or []
        codes = [str(r.get("Code") or "None") for r in reasons]
        # Without reasons (should not happen) treat every action as a conflict: retry the lot.
        return codes if len(codes) == len(actions) else ["TransactionConflict"] * len(actions)
    return None


# --- reads ------------------------------------------------------------------------------------


def get_items(
    table_name: str, item_keys: Iterable[keys.Key], backoff: Backoff = DEFAULT_BACKOFF, *, consistent: bool = False
) -> dict[ItemKey, Item]:
    """BatchGetItem a known list of keys (one call per 100 keys when nothing is throttled).

    ``consistent`` asks for strongly consistent reads (twice the read units): the writer needs the
    sketch version it reads to be the latest, or its conditional write fails for nothing.

    Missing items are simply absent from the result. ``UnprocessedKeys`` are retried with backoff;
    if some remain after the last try a ``RuntimeError`` is raised (a partial answer would lie).
    """
    client = aws.dynamodb()
    found: dict[ItemKey, Item] = {}
    unique = list({key_tuple(k): k for k in item_keys}.values())
    for chunk in chunked(unique, BATCH_GET_MAX):
        pending: dict[str, Any] = {table_name: {"Keys": list(chunk), "ConsistentRead": consistent}}
        for attempt in range(backoff.attempts):
            try:
                response = client.batch_get_item(RequestItems=pending)
            except (ClientError, BotoCoreError) as exc:
                if not is_retryable(exc) or attempt + 1 == backoff.attempts:
                    raise
            else:
                for item in response.get("Responses", {}).get(table_name, []):
                    found[key_tuple(item)] = item
                pending = response.get("UnprocessedKeys") or {}
                if not pending.get(table_name, {}).get("Keys"):
                    pending = {}
                    break
            backoff.pause(attempt)
        if pending:
            raise RuntimeError("BatchGetItem left keys unprocessed after retries")
    return found


def recent_visits(
    limit: int,
    *,
    table_name: str | None = None,
    client: Any = None,
    now: datetime | None = None,
    max_days: int = 7,
) -> list[Visit]:
    """The ``limit`` most recent logged visits, newest first (the CLI's ``visits recent``).

    Reads newest-first from each of the day's log buckets (at most ``limit`` items each) and
    merges; goes back a day at a time, at most ``max_days`` days. Flag-only items (a crash between
    the aggregate transaction and the log write) are skipped.
    """
    if limit <= 0:
        return []
    if table_name is None:
        from functions.common.settings import get_settings

        table_name = get_settings().table_name
    client = client or aws.dynamodb()
    now = now or utc_now()
    found: list[Visit] = []
    for back in range(max_days):
        day = keys.day_of(now - timedelta(days=back))
        day_visits: list[Visit] = []
        for bucket in range(keys.LOG_BUCKETS):
            response = client.query(
                TableName=table_name,
                KeyConditionExpression="#pk = :pk",
                ExpressionAttributeNames={"#pk": keys.PK},
                ExpressionAttributeValues={":pk": {"S": keys.log_pk(day, bucket)}},
                ScanIndexForward=False,
                Limit=limit,
            )
            day_visits.extend(from_log_item(item) for item in response.get("Items", []) if "visit_id" in item)
        day_visits.sort(key=lambda v: (v.timestamp, v.visit_id), reverse=True)
        found.extend(day_visits[: limit - len(found)])
        if len(found) >= limit:
            break
    return found
