"""Writer Lambda: SQS batch of visits -> DynamoDB log items and aggregates, with partial batch failures.

Powertools' ``BatchProcessor`` reports failures per record, but records must be written in bulk:
``BulkProcessor`` writes the whole batch first (``functions.writer.batch``), then the per-record
pass only reports each record's outcome, so failed records (and only those) are redelivered.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common import bots, devices
from functions.common.observability import logger, metrics, tracer
from functions.common.settings import get_settings
from functions.ingest.queue import CORRELATION_ID_ATTRIBUTE
from functions.writer.batch import BatchOutcome, BatchWriter, Message


class RecordFailed(Exception):
    """Raised by the record handler for a record the bulk write could not complete."""


class BulkProcessor(BatchProcessor):
    """A ``BatchProcessor`` that writes the whole batch at once before reporting per record."""

    def __init__(self) -> None:
        # Report an all-failed batch as failures (not an exception): the same redelivery, cleaner logs.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self.outcome = BatchOutcome()

    def process(self) -> list[tuple[Any, ...]]:
        settings = get_settings()
        writer = BatchWriter(
            settings.table_name,
            settings.log_ttl_days,
            bots.browser_of,
            bots.agent_of,
            device_of=devices.device_of,
            os_of=devices.os_of,
            counter_shards=settings.counter_shards,
        )
        self.outcome = writer.write([_message(record) for record in self.records])
        return super().process()


def _message(record: dict[str, Any]) -> Message:
    body = record.get("body")
    return Message(message_id=str(record.get("messageId", "")), body=body if isinstance(body, str) else "")


processor = BulkProcessor()


def record_handler(record: SQSRecord) -> None:
    """Report one record's outcome from the bulk write; raise for a failed one."""
    # The visit id, from the parsed body or else from the attribute ingest sets (poison bodies).
    attribute = record.message_attributes.get(CORRELATION_ID_ATTRIBUTE)
    visit_id = processor.outcome.visit_ids.get(record.message_id) or (attribute.string_value if attribute else None)
    logger.set_correlation_id(visit_id)
    try:
        reason = processor.outcome.failed.get(record.message_id)
        if reason is not None:
            logger.warning("Record failed", extra={"message_id": record.message_id, "reason": reason})
            raise RecordFailed(reason)
        logger.debug("Record written", extra={"message_id": record.message_id})
    finally:
        logger.set_correlation_id(None)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(event, record_handler, processor, context)
    outcome = processor.outcome
    failures = response.get("batchItemFailures") or []
    # Per batch, not per visit: one EMF line per batch costs a hundredth of one per visit in Logs.
    metrics.add_metric(name="RecordsWritten", unit=MetricUnit.Count, value=outcome.written)
    metrics.add_metric(name="VisitsCounted", unit=MetricUnit.Count, value=outcome.counted_in_total)
    metrics.add_metric(name="BotVisits", unit=MetricUnit.Count, value=outcome.bots)
    metrics.add_metric(name="BatchFailures", unit=MetricUnit.Count, value=len(failures))
    metrics.add_metric(name="DuplicatesSkipped", unit=MetricUnit.Count, value=outcome.duplicates)
    metrics.add_metric(name="UniquesDeferred", unit=MetricUnit.Count, value=outcome.uniques_deferred)
    logger.info(
        "Batch written",
        extra={
            "records": len(event.get("Records") or []),
            "written": outcome.written,
            "counted": outcome.counted,
            "duplicates": outcome.duplicates,
            "failed": len(outcome.failed),
        },
    )
    return dict(response)
