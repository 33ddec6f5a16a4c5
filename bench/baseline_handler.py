"""The baseline: the seed's synchronous design, kept deliberately plain.

One handler that, in the request path, increments the counter (UpdateItem ADD) and writes the log
item (PutItem) straight into DynamoDB, then answers ``{"visitor_count": N}``. boto3 client at module
level, json, no Powertools: what a first version of a visitor counter looks like. The benches run it
exactly the way they run ours (same events, same moto, same server), so only the design differs.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

TABLE_NAME = os.environ.get("TABLE_NAME", "")
LOG_TTL_DAYS = 30
dynamodb = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_context = event.get("requestContext") or {}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    source_ip = (request_context.get("identity") or {}).get("sourceIp") or (
        (request_context.get("http") or {}).get("sourceIp")
    )
    request_id = request_context.get("requestId") or str(time.time_ns())
    now = datetime.now(UTC)

    result = dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": "COUNTER#0"}, "sk": {"S": "COUNTER"}},
        UpdateExpression="ADD visits :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    count = int(result["Attributes"]["visits"]["N"])

    timestamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    dynamodb.put_item(
        TableName=TABLE_NAME,
        Item={
            "pk": {"S": f"LOG#{now:%Y-%m-%d}"},
            "sk": {"S": f"{timestamp}#{request_id}"},
            "ip": {"S": source_ip or "unknown"},
            "user_agent": {"S": headers.get("user-agent", "")[:512]},
            "path": {"S": event.get("path") or event.get("rawPath") or "/"},
            "expires_at": {"N": str(int((now + timedelta(days=LOG_TTL_DAYS)).timestamp()))},
        },
    )
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        "body": json.dumps({"visitor_count": count}),
    }
