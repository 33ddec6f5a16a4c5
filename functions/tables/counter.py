"""The visit counter item family: ``COUNTER_SHARDS`` items (``keys.counter_key(n)``) with a ``visits`` number.

The counter is incremented only inside the writer's exactly-once transaction (and ingest's recovery
transaction, conditional on the same log item), so a visit can never be counted twice, whatever the
SDK retries: ``increment_action`` is one action of those transactions, never a call on its own.
Ingest and status only read it. With N > 1 shards each transaction adds to a random shard (fewer
transactions meet on one hot item) and a reader sums them; ``COUNTER_SHARDS`` may be raised at any
time but never lowered (the shards above the new value would drop out of the total).
"""

from __future__ import annotations

from typing import Any

from functions.core import aws
from functions.core.settings import Settings
from functions.model import keys
from functions.tables import store

VISITS_ATTRIBUTE = "visits"


class CounterReadIncomplete(RuntimeError):
    """DynamoDB kept some shards unprocessed: an exact total cannot be given right now."""


def increment_action(table_name: str, shard: int, amount: int, site: str | None = None) -> dict[str, Any]:
    """Transaction action adding ``amount`` counted visits to a shard of a site's counter."""
    return {
        "Update": {
            "TableName": table_name,
            "Key": keys.site_key(keys.counter_key(shard), site),
            "UpdateExpression": "ADD #v :n",
            "ExpressionAttributeNames": {"#v": VISITS_ATTRIBUTE},
            "ExpressionAttributeValues": {":n": {"N": str(amount)}},
        }
    }


def visits_of(item: dict[str, Any] | None) -> int:
    return int((item or {}).get(VISITS_ATTRIBUTE, {}).get("N", "0"))


def read_shards(
    settings: Settings,
    *,
    consistent: bool = False,
    profile: aws.Profile = aws.REQUEST_PATH,
    site: str | None = None,
) -> dict[int, int]:
    """Every shard's value, ``{shard: visits}`` (0 before its first visit).

    One shard: one GetItem. More: one BatchGetItem of the ``COUNTER_SHARDS`` keys (its
    ``UnprocessedKeys`` retried by ``store.get_items``, which raises if some are still left).
    """
    if settings.counter_shards == 1:
        response = aws.dynamodb(profile).get_item(
            TableName=settings.table_name,
            Key=keys.site_key(keys.counter_key(0), site),
            ProjectionExpression="#v",
            ExpressionAttributeNames={"#v": VISITS_ATTRIBUTE},
            ConsistentRead=consistent,
        )
        return {0: visits_of(response.get("Item"))}
    wanted = {n: keys.site_key(keys.counter_key(n), site) for n in range(settings.counter_shards)}
    try:
        items = store.get_items(settings.table_name, wanted.values(), consistent=consistent, profile=profile)
    except RuntimeError as exc:
        raise CounterReadIncomplete(str(exc)) from exc
    return {n: visits_of(items.get((k[keys.PK]["S"], k[keys.SK]["S"]))) for n, k in wanted.items()}


def read_total(settings: Settings, *, consistent: bool = True, site: str | None = None) -> int:
    """A site's count: the sum of every shard (strongly consistent by default: exact once writes settle)."""
    return sum(read_shards(settings, consistent=consistent, site=site).values())
