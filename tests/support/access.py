"""The owner's access token in tests: issued once per table, added to a request like the dashboard does."""

from __future__ import annotations

import os
from typing import Any

from functions.model.access import OWNER_ID
from functions.tables import access


def owner_token(table_name: str | None = None) -> str:
    """The owner token of the table (TABLE_NAME by default), issued on first use, like `token ensure`."""
    return access.issue(table_name or os.environ["TABLE_NAME"], OWNER_ID, "tests", replace=False).token


def owner_headers(table_name: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {owner_token(table_name)}"}


def signed(event: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    """The same API Gateway / function URL event, carrying ``Authorization: Bearer`` (the owner's by default)."""
    value = f"Bearer {token or owner_token()}"
    headers = dict(event.get("headers") or {})
    headers["authorization" if event.get("version") == "2.0" else "Authorization"] = value
    signed_event = {**event, "headers": headers}
    if isinstance(event.get("multiValueHeaders"), dict):
        signed_event["multiValueHeaders"] = {**event["multiValueHeaders"], "Authorization": [value]}
    return signed_event
