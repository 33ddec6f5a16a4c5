"""Least privilege, action by action, per function.

Kept free of CDK imports so the integration tests can check these sets against the AWS calls the
functions really make (tests/integration/test_least_privilege.py), and tests/infra against the
synthesized template. TransactWriteItems is not an IAM action: a transaction is authorized per
contained action (UpdateItem, PutItem, ConditionCheckItem).
"""

from __future__ import annotations

from typing import Final

INGEST_TABLE_ACTIONS: Final = (
    "dynamodb:UpdateItem",  # atomic counter increment
    "dynamodb:GetItem",  # a bot's count (one shard) / today's daily salt
    "dynamodb:BatchGetItem",  # all counter shards in one request (COUNTER_SHARDS > 1)
    "dynamodb:PutItem",  # recovery path (the queue refused the visit) + daily salt creation
)
INGEST_QUEUE_ACTIONS: Final = ("sqs:SendMessage",)
WRITER_TABLE_ACTIONS: Final = (
    "dynamodb:BatchWriteItem",  # log items and recorded failure reasons, 25 a call
    "dynamodb:UpdateItem",  # aggregates and the log items' aggregated mark, inside transactions
    "dynamodb:BatchGetItem",  # the names already kept in an aggregate item (bounded top-N keys)
)
STATUS_TABLE_ACTIONS: Final = ("dynamodb:BatchGetItem",)  # one fixed set of keys per /status
STATUS_QUEUE_ACTIONS: Final = ("sqs:GetQueueAttributes",)
# ApproximateAgeOfOldestMessage is a CloudWatch metric only; GetMetricData has no resource-level
# permissions, so this one statement has Resource "*" (acknowledged in the stack with that reason).
STATUS_METRIC_ACTIONS: Final = ("cloudwatch:GetMetricData",)
