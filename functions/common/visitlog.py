"""The visit log item family (``LOG#<day>#<bucket>``): writes inside the counting transaction, reads for the CLI.

A log item is written once, by a conditional Put in the same transaction that counts the visit:
the condition (no item with that key yet) is the exactly-once guard, so a redelivered record fails
it and is neither logged nor counted again. One write of the whole item, guard included.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from functions.common import aws, keys
from functions.common.logitem import Item, from_log_item
from functions.common.visit import Visit, utc_now


def put_new_action(table_name: str, item: Item) -> dict[str, Any]:
    """Transaction action: the log item, only if no item has its key yet."""
    return {
        "Put": {
            "TableName": table_name,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": keys.PK},
        }
    }


def recent_visits(
    limit: int,
    *,
    table_name: str,
    client: Any = None,
    now: datetime | None = None,
    max_days: int = 7,
) -> list[Visit]:
    """The ``limit`` most recent logged visits, newest first (the CLI's ``visits recent``).

    Reads newest-first from each of the day's log buckets (at most ``limit`` items each) and
    merges; goes back a day at a time, at most ``max_days`` days.
    """
    if limit <= 0:
        return []
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
