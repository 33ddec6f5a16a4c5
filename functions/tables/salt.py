"""The daily salt item family (``SALT/<day>``): a random secret for hashed IPs and visitor ids.

Deleted by TTL ``SALT_TTL_DAYS`` after its day starts, so yesterday's hashes cannot be recomputed.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from functions.core import aws
from functions.core.definitions import SALT_TTL_DAYS, TABLE
from functions.core.settings import Settings
from functions.model import keys
from functions.model.privacy import new_salt

SALT_ATTRIBUTE = "salt"


def _expires_at(day: str) -> int:
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    return int((start + timedelta(days=SALT_TTL_DAYS)).timestamp())


def _salt_bytes(value: Any) -> bytes:
    # Parsed responses give bytes; an unmodelled error payload may carry base64 text.
    return bytes(value) if isinstance(value, bytes | bytearray) else base64.b64decode(value)


def get_or_create_salt(settings: Settings, day: str) -> bytes:
    """The salt of ``day`` (YYYY-MM-DD): one conditional PutItem, whoever gets there first wins.

    Losing the race returns the winner's item in the same call (ReturnValuesOnConditionCheckFailure),
    with a consistent GetItem as the fallback, so every function hashes with the same secret. A
    retried put whose first attempt was applied loses to itself: the same salt comes back.
    """
    salt = new_salt()
    item = dict(keys.salt_key(day), **{SALT_ATTRIBUTE: {"B": salt}})
    item[TABLE.ttl_attribute] = {"N": str(_expires_at(day))}
    client = aws.dynamodb()
    try:
        client.put_item(
            TableName=settings.table_name,
            Item=item,
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": keys.PK},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return salt
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        existing = exc.response.get("Item")
    if not existing or SALT_ATTRIBUTE not in existing:
        existing = client.get_item(TableName=settings.table_name, Key=keys.salt_key(day), ConsistentRead=True).get(
            "Item", {}
        )
    if SALT_ATTRIBUTE not in existing:  # expired between the check and the read: no hashes this time
        raise ClientError({"Error": {"Code": "SaltUnavailable", "Message": "the day's salt vanished"}}, "GetItem")
    return _salt_bytes(existing[SALT_ATTRIBUTE]["B"])
