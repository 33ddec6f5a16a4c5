"""The access item family (``ACCESS/<token id>``): the owner's token and the shared links.

The status function only reads (one GetItem per guarded request, so a revoked link stops working at
once); the CLI, with the owner's own AWS credentials, creates, rotates, lists and revokes. A secret
is stored as it was issued: whoever can read the table can read every number it guards anyway, and
it lets ``visitor-tracker token show`` hand the owner their token again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from functions.core import aws
from functions.model import access, keys
from functions.tables.store import error_code, query_partition

SECRET = "secret"  # noqa: S105 - the attribute name
LABEL = "label"
CREATED = "created"
MAX_TOKENS = 1000  # shared links a listing reads; far beyond what an owner hands out


@dataclass(frozen=True)
class Token:
    """An issued token: its id, the full token to present, a label and when it was issued."""

    token_id: str
    token: str
    label: str
    created: str

    @property
    def is_owner(self) -> bool:
        return self.token_id == access.OWNER_ID


def _client(client: Any | None) -> Any:
    return client if client is not None else aws.dynamodb()


def _token(item: dict[str, Any]) -> Token:
    token_id = item[keys.SK]["S"]
    return Token(
        token_id=token_id,
        token=access.token_of(token_id, item[SECRET]["S"]),
        label=item.get(LABEL, {}).get("S", ""),
        created=item.get(CREATED, {}).get("S", ""),
    )


def stored_secret(table_name: str, token_id: str, *, client: Any | None = None) -> str | None:
    """The secret of a token id, or None when no such token exists (never issued, or revoked)."""
    item = _client(client).get_item(TableName=table_name, Key=keys.access_key(token_id)).get("Item")
    return item[SECRET]["S"] if item and SECRET in item else None


def issue(table_name: str, token_id: str, label: str, *, client: Any | None = None, replace: bool = True) -> Token:
    """Store a new secret for ``token_id`` (a rotation when it existed); returns the new token.

    ``replace=False`` keeps an existing token (``token ensure`` after a deploy): the one stored wins.
    """
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    item = {
        **keys.access_key(token_id),
        SECRET: {"S": access.new_secret()},
        LABEL: {"S": label[: access.MAX_LABEL_LENGTH]},
        CREATED: {"S": created},
    }
    request: dict[str, Any] = {"TableName": table_name, "Item": item}
    if not replace:
        request["ConditionExpression"] = "attribute_not_exists(#pk)"
        request["ExpressionAttributeNames"] = {"#pk": keys.PK}
    try:
        _client(client).put_item(**request)
    except ClientError as exc:  # the condition failed: a token already exists under this id, keep it
        existing = (
            None
            if replace or error_code(exc) != "ConditionalCheckFailedException"
            else lookup(table_name, token_id, client=client)
        )
        if existing is None:
            raise
        return existing
    return _token(item)


def lookup(table_name: str, token_id: str, *, client: Any | None = None) -> Token | None:
    item = (
        _client(client).get_item(TableName=table_name, Key=keys.access_key(token_id), ConsistentRead=True).get("Item")
    )
    return _token(item) if item and SECRET in item else None


def all_tokens(table_name: str, *, client: Any | None = None) -> list[Token]:
    """The owner's token and every shared link, oldest first."""
    items = query_partition(table_name, keys.access_pk(), limit=MAX_TOKENS, consistent=True, client=_client(client))
    return sorted((_token(item) for item in items if SECRET in item), key=lambda t: (t.created, t.token_id))


def revoke(table_name: str, token_id: str, *, client: Any | None = None) -> bool:
    """Delete a token; False when there was none by that id."""
    response = _client(client).delete_item(TableName=table_name, Key=keys.access_key(token_id), ReturnValues="ALL_OLD")
    return bool(response.get("Attributes"))
