"""DynamoDB plumbing shared by the item families: the loops botocore's retries cannot do.

Throttling, 5xx and transport errors are retried by botocore itself (standard mode, per client
profile: ``functions.core.aws``). What a successful response can still leave undone is handled
here, a bounded number of times, with capped exponential backoff and full jitter:

- ``UnprocessedItems`` / ``UnprocessedKeys`` of ``BatchWriteItem`` / ``BatchGetItem``;
- a ``TransactWriteItems`` cancelled with reasons: ``transact`` hands the reasons back by index so
  the caller decides (a failed condition is an answer, a conflict is worth another try).

Whatever still fails is handed back to the caller, never silently dropped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from functions.core import aws
from functions.model.keys import PK, Item, ItemKey, key_tuple

BATCH_WRITE_MAX = 25  # DynamoDB's BatchWriteItem limit
BATCH_GET_MAX = 100  # BatchGetItem's limit
TRANSACT_MAX = 100  # TransactWriteItems' limit (actions per transaction)
CONDITION_FAILED = "ConditionalCheckFailed"
CONFLICT = "TransactionConflict"  # another transaction is changing one of the items
# Cancellation reasons worth another try of the same transaction: nothing in it was wrong.
RETRYABLE_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
AWS_ERRORS = (BotoCoreError, ClientError)

T = TypeVar("T")


def sleep(seconds: float) -> None:
    """The pause between tries (module level so tests can replace it and see the delays)."""
    time.sleep(seconds)


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with full jitter, for the loops botocore cannot run."""

    attempts: int = 8
    base_seconds: float = 0.05
    cap_seconds: float = 1.0
    sleep: Callable[[float], None] | None = None

    def pause(self, attempt: int) -> None:
        delay = random.uniform(0, min(self.cap_seconds, self.base_seconds * 2**attempt))
        (self.sleep or sleep)(delay)


DEFAULT_BACKOFF = Backoff()


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def put_new_action(table_name: str, item: Item) -> dict[str, Any]:
    """Transaction action: Put ``item`` only if no item has its key yet (a repeat fails its condition)."""
    return {
        "Put": {
            "TableName": table_name,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": PK},
        }
    }


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def put_items(
    table_name: str, items: Sequence[Item], backoff: Backoff = DEFAULT_BACKOFF, profile: aws.Profile = aws.WRITER
) -> list[Item]:
    """BatchWriteItem ``items`` 25 at a time; return the items that could not be written.

    ``UnprocessedItems`` are retried with backoff; a chunk whose call fails after botocore's own
    retries is returned whole.
    """
    client = aws.dynamodb(profile)
    failed: list[Item] = []
    for chunk in chunked(items, BATCH_WRITE_MAX):
        pending = list(chunk)
        for attempt in range(backoff.attempts):
            try:
                response = client.batch_write_item(
                    RequestItems={table_name: [{"PutRequest": {"Item": item}} for item in pending]}
                )
            except AWS_ERRORS:
                break
            pending = [r["PutRequest"]["Item"] for r in response.get("UnprocessedItems", {}).get(table_name, [])]
            if not pending:
                break
            if attempt + 1 < backoff.attempts:
                backoff.pause(attempt)
        failed.extend(pending)
    return failed


def transact(actions: Sequence[dict[str, Any]], profile: aws.Profile = aws.WRITER) -> list[str] | None:
    """Run one TransactWriteItems; None when it committed, else the cancellation codes, one per action.

    Errors other than a cancellation are raised (botocore has already retried what it could).
    """
    if len(actions) > TRANSACT_MAX:
        raise ValueError(f"a transaction holds at most {TRANSACT_MAX} actions, got {len(actions)}")
    try:
        aws.dynamodb(profile).transact_write_items(TransactItems=list(actions))
    except ClientError as exc:
        if error_code(exc) != "TransactionCanceledException":
            raise
        reasons = exc.response.get("CancellationReasons") or []
        codes = [str(r.get("Code") or "None") for r in reasons]
        # Without reasons (should not happen) treat every action as a conflict: retry the lot.
        return codes if len(codes) == len(actions) else ["TransactionConflict"] * len(actions)
    return None


def projected(request: dict[str, Any], projection: Sequence[str] | None) -> dict[str, Any]:
    """The request reading only ``projection``'s attributes (names substituted: any name is safe)."""
    if projection:
        names = {f"#p{i}": name for i, name in enumerate(projection)}
        request["ExpressionAttributeNames"] = {**request.get("ExpressionAttributeNames", {}), **names}
        request["ProjectionExpression"] = ", ".join(names)
    return request


def get_items(
    table_name: str,
    item_keys: Iterable[dict[str, Any]],
    backoff: Backoff = DEFAULT_BACKOFF,
    *,
    consistent: bool = False,
    projection: Sequence[str] | None = None,
    profile: aws.Profile = aws.REQUEST_PATH,
    client: Any = None,
) -> dict[ItemKey, Item]:
    """BatchGetItem a known list of keys (one call per 100 keys when nothing is left unprocessed): the
    project's one BatchGetItem loop (the functions, and the CLI with its own ``client``).

    Missing items are simply absent from the result. ``UnprocessedKeys`` are retried with backoff;
    if some remain after the last try a ``RuntimeError`` is raised (a partial answer would lie).
    A ``projection`` must include the key attributes (items are returned by their key).
    """
    client = client or aws.dynamodb(profile)
    found: dict[ItemKey, Item] = {}
    unique = list({key_tuple(k): k for k in item_keys}.values())
    for chunk in chunked(unique, BATCH_GET_MAX):
        request = projected({"Keys": list(chunk), "ConsistentRead": consistent}, projection)
        pending: dict[str, Any] = {table_name: request}
        for attempt in range(backoff.attempts):
            response = client.batch_get_item(RequestItems=pending)
            for item in response.get("Responses", {}).get(table_name, []):
                found[key_tuple(item)] = item
            pending = response.get("UnprocessedKeys") or {}
            if not pending.get(table_name, {}).get("Keys"):
                pending = {}
                break
            backoff.pause(attempt)
        if pending:
            raise RuntimeError(f"DynamoDB left {len(pending[table_name]['Keys'])} key(s) unread after retries")
    return found


def query_partition(
    table_name: str,
    pk: str,
    *,
    limit: int,
    projection: Sequence[str] | None = None,
    consistent: bool = False,
    profile: aws.Profile = aws.REQUEST_PATH,
    client: Any | None = None,
) -> list[Item]:
    """Every item of one partition, at most ``limit`` (pages followed until then; ``client``: the CLI's)."""
    client = client if client is not None else aws.dynamodb(profile)
    args = projected(
        {
            "TableName": table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": PK},
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": consistent,
            "Limit": limit,
        },
        projection,
    )
    items: list[Item] = []
    while len(items) < limit:
        response = client.query(**args)
        items.extend(response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if not last:
            break
        args["ExclusiveStartKey"] = last
        args["Limit"] = limit - len(items)
    return items[:limit]
