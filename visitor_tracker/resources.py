"""Create the table, queue and DLQ from the shared definitions (local mode and tests).

The CDK stack builds the same resources from the same ``functions.core.definitions``, so local mode
and the test fixtures cannot drift from the deployed infrastructure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from functions.core.definitions import QUEUE, TABLE


@dataclass(frozen=True)
class PipelineResources:
    table_name: str
    queue_url: str
    dlq_url: str
    queue_arn: str
    dlq_arn: str

    def environment(self) -> dict[str, str]:
        """The functions' environment variables that point at these resources."""
        return {"TABLE_NAME": self.table_name, "QUEUE_URL": self.queue_url, "DLQ_URL": self.dlq_url}

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def table_spec(table_name: str) -> dict[str, Any]:
    """CreateTable arguments for the tracker's table (the stack's shape: on-demand, pk/sk strings)."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [
            {"AttributeName": TABLE.partition_key, "AttributeType": "S"},
            {"AttributeName": TABLE.sort_key, "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": TABLE.partition_key, "KeyType": "HASH"},
            {"AttributeName": TABLE.sort_key, "KeyType": "RANGE"},
        ],
        "BillingMode": TABLE.billing_mode,
    }


def queue_attributes() -> dict[str, str]:
    return {
        "VisibilityTimeout": str(QUEUE.visibility_timeout_seconds),
        "MessageRetentionPeriod": str(QUEUE.retention_days * 86400),
        "ReceiveMessageWaitTimeSeconds": str(QUEUE.receive_wait_seconds),
    }


def create_resources(
    dynamodb: Any, sqs: Any, prefix: str = "visitor-tracker", *, visibility_timeout: int | None = None
) -> PipelineResources:
    """Create (or reuse) the table, the DLQ and the visit queue with its redrive policy.

    ``visibility_timeout`` overrides the deployed value (local mode and tests use a short one so
    failed records come back in seconds rather than minutes).
    """
    table_name = f"{prefix}-table"
    try:
        dynamodb.create_table(**table_spec(table_name))
    except dynamodb.exceptions.ResourceInUseException:
        pass  # kept from an earlier run (DynamoDB Local's data directory)
    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TABLE.ttl_attribute},
        )
    dlq_url = sqs.create_queue(
        QueueName=f"{prefix}-dlq",
        Attributes={"MessageRetentionPeriod": str(QUEUE.dlq_retention_days * 86400)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = queue_attributes()
    if visibility_timeout is not None:
        attributes["VisibilityTimeout"] = str(visibility_timeout)
    attributes["RedrivePolicy"] = json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(QUEUE.max_receive_count)}
    )
    queue_url = sqs.create_queue(QueueName=f"{prefix}-queue", Attributes=attributes)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return PipelineResources(table_name, queue_url, dlq_url, queue_arn, dlq_arn)
