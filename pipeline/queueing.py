"""The visit queue between ingest and writer, and its dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.core.definitions import QUEUE
from pipeline import budget


class Queueing(Construct):
    """Visit queue + DLQ, both SSE-SQS encrypted and refusing non-TLS requests.

    SSE-SQS (SQS managed keys) rather than KMS: no key cost, no kms:GenerateDataKey/Decrypt grants on
    ingest and writer, no KMS request charge per message. The visibility timeout comes from
    definitions.QUEUE (six times the writer timeout, as AWS recommends for event source mappings).
    Queues hold only transient data, so they are deleted with the stack; the table is what is retained.
    """

    def __init__(self, scope: Construct, construct_id: str, *, max_receive_count: int, retain_failed: bool) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(QUEUE.dlq_retention_days),
            removal_policy=RemovalPolicy.RETAIN if retain_failed else RemovalPolicy.DESTROY,
        )
        self.queue = sqs.Queue(
            self,
            "VisitQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(budget.visibility_timeout_seconds()),
            retention_period=Duration.days(QUEUE.retention_days),
            receive_message_wait_time=Duration.seconds(QUEUE.receive_wait_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=max_receive_count),
        )
