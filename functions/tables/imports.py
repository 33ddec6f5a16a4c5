"""Imported access logs: one transaction per chunk group, its marker guarding against a second import.

``visitor-tracker import-logs`` (visitor_tracker/import_logs.py) tallies a chunk of log lines into the
automated-traffic aggregates with ``TransactWriteItems``: a conditional Put of the chunk's marker
(``keys.import_key``: no item with that key yet) and one ADD per aggregate item. Importing the same
chunk again fails the marker's condition, so the whole transaction, ADDs included, changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from functions.core.definitions import TABLE
from functions.model import keys
from functions.model.fold import Delta
from functions.tables import aggstore, store

MAX_UPDATES = 99  # TransactWriteItems takes 100 actions: the marker and 99 updates


def marker_action(
    table_name: str, digest: str, group: int, lines: int, expires_at: int, site: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        **keys.import_key(digest, group, site),
        "lines": {"N": str(lines)},
        TABLE.ttl_attribute: {"N": str(expires_at)},
    }
    return store.put_new_action(table_name, item)


def transaction(
    table_name: str,
    digest: str,
    group: int,
    deltas: Sequence[Delta],
    lines: int,
    expires_at: int,
    site: str | None = None,
) -> list[dict[str, Any]]:
    """One group of a chunk: its marker first, then at most ``MAX_UPDATES`` aggregate updates of ``site``."""
    if len(deltas) > MAX_UPDATES:
        raise ValueError(f"{len(deltas)} updates do not fit one transaction ({MAX_UPDATES} at most)")
    return [marker_action(table_name, digest, group, lines, expires_at, site)] + [
        aggstore.update_action(table_name, d, 0, site) for d in deltas
    ]


def write(client: Any, actions: Sequence[dict[str, Any]], attempts: int = 5) -> bool:
    """Run one group's transaction with ``client`` (the CLI's); False when its marker was already
    there (imported before: nothing changed). Conflicts with the writer are retried; other errors raise."""
    for attempt in range(attempts):
        try:
            client.transact_write_items(TransactItems=list(actions))
            return True
        except ClientError as exc:
            if store.error_code(exc) != "TransactionCanceledException":
                raise
            codes = [str(r.get("Code") or "None") for r in exc.response.get("CancellationReasons") or []]
            if codes and codes[0] == store.CONDITION_FAILED:
                return False
            if attempt + 1 == attempts:
                raise
            store.DEFAULT_BACKOFF.pause(attempt)
    return False
