"""The aggregate item family (``AGG#...``): update actions for the counting transaction, sketch writes, reads.

Layout and meaning in ``functions.common.aggregates`` (pure); this module only talks to DynamoDB.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from functions.core import aws
from functions.core.definitions import TABLE
from functions.model import keys
from functions.model.attrs import Uniques, read_uniques
from functions.model.fold import Delta
from functions.model.keys import Item, ItemKey, key_dict
from functions.model.layout import ALL_TIME, ALL_TIME_READ_MAX, NAMES_READ_MAX, REGISTERS, UNIQUES_SHARDS, VERSION
from functions.tables import store


def update_action(table_name: str, delta: Delta) -> dict[str, Any]:
    """Transaction action adding ``delta`` to its aggregate item (one expression, names substituted)."""
    names: dict[str, str] = {"#ttl": TABLE.ttl_attribute}
    values: dict[str, Any] = {":ttl": {"N": str(delta.expires_at)}}
    adds: list[str] = []
    for i, (name, amount) in enumerate(sorted(delta.counters.items())):
        names[f"#a{i}"] = name
        values[f":a{i}"] = {"N": str(amount)}
        adds.append(f"#a{i} :a{i}")
    expression = "SET #ttl = :ttl" + (" ADD " + ", ".join(adds) if adds else "")
    return {
        "Update": {
            "TableName": table_name,
            "Key": key_dict(delta.key),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def write_sketch(table_name: str, key: ItemKey, registers: bytes, version: int, expires_at: int) -> bool:
    """Write a uniques sketch read at ``version`` (0: the item had none); False if another writer
    wrote it since (optimistic locking: re-read, merge, try again)."""
    try:
        aws.dynamodb(aws.WRITER).update_item(
            TableName=table_name,
            Key=key_dict(key),
            UpdateExpression="SET #reg = :reg, #ver = :next, #ttl = :ttl",
            ConditionExpression="attribute_not_exists(#ver) OR #ver = :ver",
            ExpressionAttributeNames={"#reg": REGISTERS, "#ver": VERSION, "#ttl": TABLE.ttl_attribute},
            ExpressionAttributeValues={
                ":reg": {"B": registers},
                ":ver": {"N": str(version)},
                ":next": {"N": str(version + 1)},
                ":ttl": {"N": str(expires_at)},
            },
        )
    except ClientError as exc:
        if store.error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def read_sketch(table_name: str, key: ItemKey) -> Uniques:
    """One uniques shard, strongly consistent (its version must be the latest for the next write)."""
    response = aws.dynamodb(aws.WRITER).get_item(TableName=table_name, Key=key_dict(key), ConsistentRead=True)
    return read_uniques(response.get("Item"))


def uniques_shard_key(day: str, shard: int) -> ItemKey:
    key = keys.uniques_key(day, shard % UNIQUES_SHARDS)
    return key[keys.PK]["S"], key[keys.SK]["S"]


def put_rollup(table_name: str, item: Item) -> None:
    """Store a finished month's rollup (the same content whoever writes it, so a race is harmless)."""
    aws.dynamodb().put_item(TableName=table_name, Item=item)


def read_names(
    table_name: str, day: str, *, names_only: bool = False, profile: aws.Profile = aws.REQUEST_PATH
) -> list[Item]:
    """Every name tally of a period's partition: a day, a month or all time (bounded by the caps)."""
    projection = [keys.SK] if names_only else None
    limit = ALL_TIME_READ_MAX if day == ALL_TIME else NAMES_READ_MAX
    return store.query_partition(table_name, keys.names_pk(day), limit=limit, projection=projection, profile=profile)
