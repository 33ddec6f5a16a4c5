"""Reading the table as a test observes it: consistent reads of the items the writer keeps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3

from functions.model import attrs, keys, summary
from functions.tables import counter
from visitor_tracker.resources import PipelineResources

COUNTER_SHARDS_READ = 4  # the most shards a test configures


def get(table: str, key: keys.Key) -> dict[str, Any]:
    return boto3.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})


def n(item: dict[str, Any], name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


def day_item(resources: PipelineResources, when: datetime) -> dict[str, Any]:
    return get(resources.table_name, keys.day_agg_key(keys.day_of(when)))


def hour_item(resources: PipelineResources, when: datetime) -> dict[str, Any]:
    return get(resources.table_name, keys.hour_agg_key(keys.hour_of(when)))


def names(resources: PipelineResources, when: datetime) -> list[dict[str, Any]]:
    """Every item of the day's name partition (tallies and uniques sketches)."""
    pages = (
        boto3.client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=resources.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.names_pk(keys.day_of(when))}},
            ConsistentRead=True,
        )
    )
    return [item for page in pages for item in page["Items"]]


def tallies(resources: PipelineResources, dim: str, when: datetime) -> dict[str, int]:
    return attrs.tallies(names(resources, when), dim)


def uniques(resources: PipelineResources, when: datetime) -> int:
    """The day's unique visitors as /status estimates them (exact at small sizes: sparse sketch)."""
    return int(summary.summarize({}, names(resources, when), when)["unique_visitors_today"])


def total(resources: PipelineResources, site: str | None = None) -> int:
    """A site's count (None: the default site's): every counter shard a test may have configured, summed."""
    return sum(
        counter.visits_of(get(resources.table_name, keys.site_key(keys.counter_key(s), site)) or None)
        for s in range(COUNTER_SHARDS_READ)
    )
