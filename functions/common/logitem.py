"""Visit record <-> DynamoDB log item: one conversion, used by the writer and by ingest's recovery path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from functions.common import keys
from functions.common.definitions import TABLE
from functions.common.visit import Visit

Item = dict[str, dict[str, Any]]


def expires_at(visit: Visit, ttl_days: int) -> int:
    """Epoch seconds ``ttl_days`` after the visit: DynamoDB's TTL deletes the item after that."""
    return int((visit.when + timedelta(days=ttl_days)).timestamp())


def to_log_item(visit: Visit, ttl_days: int, *, recovered: bool = False) -> Item:
    """The log item for a visit, in DynamoDB's JSON. Same visit -> same key, so rewrites are idempotent."""
    item: Item = dict(
        keys.log_key(keys.day_of(visit.when), visit.timestamp, visit.visit_id),
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
    for name in ("bot_class", "country", "utm_source", "utm_medium", "utm_campaign"):
        value = getattr(visit, name)
        if value:
            item[name] = {"S": value}
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
        schema_version=int(item["schema_version"]["N"]),
    )
