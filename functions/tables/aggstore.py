"""The aggregate item family (``AGG#...``): update actions for the counting transaction, sketch writes, reads.

Layout and meaning in ``functions.common.aggregates`` (pure); this module only talks to DynamoDB.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from functions.core import aws
from functions.core.definitions import TABLE
from functions.model import keys
from functions.model.attrs import Uniques, read_uniques
from functions.model.fold import Delta
from functions.model.keys import Item, ItemKey, key_dict, key_tuple
from functions.model.layout import (
    ALL_TIME,
    ALL_TIME_READ_MAX,
    GOAL_SKETCH_ATTR,
    NAMES_READ_MAX,
    REGISTERS,
    UNIQUES_SHARDS,
    VERSION,
    merge_shards,
    sharded,
)
from functions.tables import store


def update_action(table_name: str, delta: Delta, shard: int = 0, site: str | None = None) -> dict[str, Any]:
    """Transaction action adding ``delta`` to its aggregate item in ``shard`` of ``site`` (one expression,
    names substituted)."""
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
            "Key": key_dict(keys.in_site(sharded(delta.key, shard), site)),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def write_sketch(
    table_name: str,
    key: ItemKey,
    registers: bytes,
    version: int,
    expires_at: int,
    goals: Mapping[str, bytes] | None = None,
) -> bool:
    """Write a uniques sketch read at ``version`` (0: the item had none), with the goals' converter
    sketches that changed (``goals``: label -> sketch); False if another writer wrote it since
    (optimistic locking: re-read, merge, try again)."""
    names = {"#ver": VERSION, "#ttl": TABLE.ttl_attribute}
    values: dict[str, Any] = {
        ":ver": {"N": str(version)},
        ":next": {"N": str(version + 1)},
        ":ttl": {"N": str(expires_at)},
    }
    sets = ["#ver = :next", "#ttl = :ttl"]
    if registers:  # none yet: a day whose first batch only completes event goals
        names["#reg"], values[":reg"] = REGISTERS, {"B": registers}
        sets.append("#reg = :reg")
    for i, (label, sketch) in enumerate(sorted((goals or {}).items())):
        names[f"#g{i}"] = GOAL_SKETCH_ATTR + label
        values[f":g{i}"] = {"B": sketch}
        sets.append(f"#g{i} = :g{i}")
    try:
        aws.dynamodb(aws.WRITER).update_item(
            TableName=table_name,
            Key=key_dict(key),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="attribute_not_exists(#ver) OR #ver = :ver",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
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


def put_rollup(table_name: str, item: Item, site: str | None = None) -> None:
    """Store a finished month's rollup (the same content whoever writes it, so a race is harmless)."""
    aws.dynamodb().put_item(TableName=table_name, Item={**item, **keys.site_key(keys.key_dict(key_tuple(item)), site)})


def read_names(
    table_name: str,
    day: str,
    *,
    names_only: bool = False,
    shards: int = 1,
    only_shard: int | None = None,
    profile: aws.Profile = aws.REQUEST_PATH,
    site: str | None = None,
) -> list[Item]:
    """Every name tally of a period's partitions: a day, a month or all time (each bounded by the caps),
    one Query per aggregate shard (``only_shard``: that shard's partition alone, for its writer), of
    ``site`` (their keys as the model knows them)."""
    projection = [keys.SK] if names_only else None
    limit = ALL_TIME_READ_MAX if day == ALL_TIME else NAMES_READ_MAX
    wanted = range(shards) if only_shard is None else (only_shard,)
    pk = keys.names_pk(day)
    return [
        keys.item_out_of_site(item)
        for n in wanted
        for item in store.query_partition(
            table_name, keys.in_site(sharded((pk, ""), n), site)[0], limit=limit, projection=projection, profile=profile
        )
    ]


def read_aggregates(
    table_name: str, item_keys: list[keys.Key], shards: int = 1, site: str | None = None
) -> dict[ItemKey, Item]:
    """Day or hour items (any mix) of a site, every shard of each in one batch read, summed onto their
    shard-0 keys as the model knows them."""
    return read_site_items(
        table_name, [key_dict(sharded(key_tuple(k), n)) for n in range(shards) for k in item_keys], site
    )


def read_site_items(table_name: str, item_keys: list[keys.Key], site: str | None) -> dict[ItemKey, Item]:
    """Items of a site in one batch read, their keys as the model knows them, shards summed."""
    wanted = [keys.site_key(k, site) for k in item_keys]
    found = store.get_items(table_name, wanted)
    return merge_shards({keys.out_of_site(k): keys.item_out_of_site(item) for k, item in found.items()})
