"""Baseline writer: one PutItem per SQS record, no batching, no aggregates.

The obvious consumer of the visit queue: it writes the same log item as ours (so item sizes match)
with its own PutItem per record, and lets a failure fail the whole batch. Figure 4 runs it on the
same SQS events and the same moto table as ``functions.writer``.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

from functions.model.visit import Visit
from functions.tables.visitlog import to_log_item

TABLE_NAME = os.environ.get("TABLE_NAME", "")
LOG_TTL_DAYS = 30
dynamodb = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event.get("Records", []):
        visit = Visit.from_json(record["body"])
        dynamodb.put_item(TableName=TABLE_NAME, Item=to_log_item(visit, LOG_TTL_DAYS))
    return {"batchItemFailures": []}
