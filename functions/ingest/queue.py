"""Putting a visit on the visit queue: ingest's one SQS call."""

from __future__ import annotations

from functions.common import aws
from functions.common.settings import Settings
from functions.common.visit import Visit

# Message attribute carrying the API Gateway request id, so the writer can log with the same
# correlation id without parsing the body first.
CORRELATION_ID_ATTRIBUTE = "correlation_id"


def send_visit(settings: Settings, visit: Visit) -> None:
    """One SendMessage of the visit record (the SDK retries transient errors itself)."""
    aws.sqs().send_message(
        QueueUrl=settings.queue_url,
        MessageBody=visit.to_json(),
        MessageAttributes={
            CORRELATION_ID_ATTRIBUTE: {"DataType": "String", "StringValue": visit.visit_id},
        },
    )
