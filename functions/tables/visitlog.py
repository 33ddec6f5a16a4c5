"""The visit log item family (``LOG#<day>#<bucket>``): the item of a visit, its write inside the counting
transaction, reads for the CLI.

A log item is written once, by a conditional Put in the same transaction that counts the visit:
the condition (no item with that key yet) is the exactly-once guard, so a redelivered record fails
it and is neither logged nor counted again. One write of the whole item, guard included.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from functions.core import aws
from functions.core.definitions import TABLE
from functions.model import keys
from functions.model.visit import Visit, utc_now
from functions.tables import store

Item = dict[str, dict[str, Any]]


def expires_at(visit: Visit, ttl_days: int) -> int:
    """Epoch seconds ``ttl_days`` after the visit: DynamoDB's TTL deletes the item after that."""
    return int((visit.when + timedelta(days=ttl_days)).timestamp())


def to_log_item(visit: Visit, ttl_days: int, *, recovered: bool = False) -> Item:
    """The log item for a visit, in DynamoDB's JSON. Same visit -> same key, so rewrites are idempotent."""
    item: Item = dict(
        keys.site_key(keys.log_key(keys.day_of(visit.when), visit.timestamp, visit.visit_id), visit.site),
        visit_id={"S": visit.visit_id},
        ts={"S": visit.timestamp},
        user_agent={"S": visit.user_agent},
        path={"S": visit.path},
        is_bot={"BOOL": visit.is_bot},
        counted={"BOOL": visit.counted},
        schema_version={"N": str(visit.schema_version)},
    )
    item[TABLE.ttl_attribute] = {"N": str(expires_at(visit, ttl_days))}
    if visit.ip is not None:
        item["ip"] = {"S": visit.ip}
    if visit.referrer:
        item["referrer"] = {"S": visit.referrer}
    if visit.visitor:
        item["visitor"] = {"S": visit.visitor}
    for name in ("bot_class", "country", "utm_source", "utm_medium", "utm_campaign", "event", "hostname", "screen"):
        value = getattr(visit, name)
        if value:
            item[name] = {"S": value}
    if visit.props:
        item["props"] = {"M": {k: {"S": v} for k, v in visit.props.items()}}
    if recovered:
        item["recovered"] = {"BOOL": True}
    return item


def from_log_item(item: Item) -> Visit:
    """The visit a log item holds (for the CLI's ``visits recent`` and for tests)."""

    def s(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if value else None

    return Visit(
        visit_id=item["visit_id"]["S"],
        timestamp=item["ts"]["S"],
        ip=s("ip"),
        user_agent=item["user_agent"]["S"],
        path=item["path"]["S"],
        referrer=s("referrer"),
        is_bot=item["is_bot"]["BOOL"],
        counted=item["counted"]["BOOL"],
        visitor=s("visitor"),
        bot_class=s("bot_class"),
        country=s("country"),
        utm_source=s("utm_source"),
        utm_medium=s("utm_medium"),
        utm_campaign=s("utm_campaign"),
        event=s("event"),
        hostname=s("hostname"),
        screen=s("screen"),
        props={k: v["S"] for k, v in item["props"]["M"].items()} if "props" in item else None,
        site=site_of_key(item),
        schema_version=int(item["schema_version"]["N"]),
    )


def site_of_key(item: Item) -> str | None:
    """The site of a log item, from its key (None: the default site)."""
    pk = item.get(keys.PK, {}).get("S", "")
    return pk.split("#", 2)[1] if pk.startswith(keys.SITE_MARK) else None


def put_new_action(table_name: str, item: Item) -> dict[str, Any]:
    """Transaction action: the log item, only if no item has its key yet (the exactly-once guard)."""
    return store.put_new_action(table_name, item)


def recent_visits(
    limit: int,
    *,
    table_name: str,
    client: Any = None,
    now: datetime | None = None,
    max_days: int = 7,
    site: str | None = None,
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
                ExpressionAttributeValues={":pk": {"S": keys.in_site((keys.log_pk(day, bucket), ""), site)[0]}},
                ScanIndexForward=False,
                Limit=limit,
            )
            day_visits.extend(from_log_item(item) for item in response.get("Items", []) if "visit_id" in item)
        day_visits.sort(key=lambda v: (v.timestamp, v.visit_id), reverse=True)
        found.extend(day_visits[: limit - len(found)])
        if len(found) >= limit:
            break
    return found
