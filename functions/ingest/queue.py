"""Putting a visit on the visit queue: ingest's one SQS call."""

from __future__ import annotations

from functions.core import aws
from functions.core.definitions import CORRELATION_ID_ATTRIBUTE
from functions.core.settings import Settings
from functions.model.visit import Visit


def send_visit(settings: Settings, visit: Visit) -> None:
    """One SendMessage of the visit record (the SDK retries transient errors itself)."""
    aws.sqs().send_message(
        QueueUrl=settings.queue_url,
        MessageBody=visit.to_json(),
        MessageAttributes={
            CORRELATION_ID_ATTRIBUTE: {"DataType": "String", "StringValue": visit.visit_id},
        },
    )
