"""Writer Lambda: an SQS batch of visits -> DynamoDB log items and aggregates, with partial batch failures.

The batch is written in bulk (``functions.writer.batch``: one counting transaction per chunk, not
per record), then the handler answers Lambda's ``batchItemFailures`` itself, as the SQS event
source mapping documents for ``ReportBatchItemFailures``: failed records, and only those, are
redelivered. An event without records answers an empty list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from functions.core.definitions import CORRELATION_ID_ATTRIBUTE
from functions.core.handler import run
from functions.core.observability import count, logger, tracer
from functions.core.settings import Settings
from functions.lake import sink
from functions.model import bots, browsers, devices
from functions.model.fold import Namers
from functions.writer.batch import BatchWriter, Message

NAMERS = Namers(browsers.browser_of, bots.agent_of, device_of=devices.device_of, os_of=devices.os_of)
Records = Sequence[Mapping[str, Any]]


def _records(event: Any) -> Records:
    records = event.get("Records") if isinstance(event, Mapping) else None
    return [r for r in records if isinstance(r, Mapping)] if isinstance(records, list) else []


def _message(record: Mapping[str, Any]) -> Message:
    body = record.get("body")
    return Message(message_id=str(record.get("messageId", "")), body=body if isinstance(body, str) else "")


def _correlation_attribute(record: Mapping[str, Any]) -> str | None:
    """The visit id ingest put in a message attribute (for records whose body cannot be parsed)."""
    attribute = (record.get("messageAttributes") or {}).get(CORRELATION_ID_ATTRIBUTE) or {}
    value = attribute.get("stringValue")
    return value if isinstance(value, str) else None


def write_batch(records: Records, settings: Settings) -> dict[str, Any]:
    """Write the batch, log each failed record with its reason, answer the failed message ids."""
    writer = BatchWriter(
        settings.table_name,
        settings.log_ttl_days,
        NAMERS,
        counter_shards=settings.counter_shards,
        aggregate_shards=settings.aggregate_shards,
        goals=settings.goals,
        lake=sink.appender(settings.default_site, goals=settings.goals),
    )
    outcome = writer.write([_message(record) for record in records])
    failures = []
    for record in records:
        message_id = str(record.get("messageId", ""))
        reason = outcome.failed.get(message_id)
        if reason is None:
            continue
        logger.set_correlation_id(outcome.visit_ids.get(message_id) or _correlation_attribute(record))
        logger.warning("Record failed", extra={"message_id": message_id, "reason": reason})
        failures.append({"itemIdentifier": message_id})
    logger.set_correlation_id(None)
    # Per batch, not per visit: one EMF line per batch costs a hundredth of one per visit in Logs.
    count("RecordsWritten", outcome.written)
    count("VisitsCounted", outcome.counted_in_total)
    count("BotVisits", outcome.bots)
    count("BatchFailures", len(failures))
    count("DuplicatesSkipped", outcome.duplicates)
    count("UniquesDeferred", outcome.uniques_deferred)
    logger.info(
        "Batch written",
        extra={
            "records": len(records),
            "written": outcome.written,
            "counted": outcome.counted,
            "duplicates": outcome.duplicates,
            "failed": len(outcome.failed),
        },
    )
    return {"batchItemFailures": failures}


def _refuse(status: int, message: str) -> dict[str, Any]:
    """A misconfigured writer fails the invocation: SQS redelivers the whole batch once it is fixed."""
    raise RuntimeError(f"{message} ({status})")


@tracer.capture_lambda_handler
def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point of the SQS event source mapping."""
    return run(event, context, parse=_records, correlation_id=lambda _: None, answer=write_batch, refuse=_refuse)
