"""The failure item family (``FAILURE/<sqs message id>``): why the writer gave up on a message, for
``visitor-tracker dlq list``. Kept as long as the DLQ keeps messages."""

from __future__ import annotations

from datetime import timedelta

from functions.core.definitions import QUEUE, TABLE
from functions.model import keys
from functions.model.visit import utc_now
from functions.tables import store

FAILURE_TTL_DAYS = QUEUE.dlq_retention_days
MAX_REASON_CHARS = 1000


def record_failures(table_name: str, failed: dict[str, str]) -> bool:
    """Best effort, one try and no waiting (the records are failing anyway, the reason is a nicety for
    the CLI): True when every reason was stored."""
    now = utc_now()
    expires = int((now + timedelta(days=FAILURE_TTL_DAYS)).timestamp())
    items = [
        dict(
            keys.failure_key(message_id),
            reason={"S": reason[:MAX_REASON_CHARS]},
            at={"S": now.isoformat()},
            **{TABLE.ttl_attribute: {"N": str(expires)}},
        )
        for message_id, reason in failed.items()
    ]
    return not store.put_items(table_name, items, store.Backoff(attempts=1))
