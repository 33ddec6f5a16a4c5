"""Least privilege down to the key: per function, which DynamoDB actions on which item families.

Kept free of CDK imports: the stack turns these grants into IAM statements, tests/infra checks the
synthesized template against them, and tests/integration/test_least_privilege.py evaluates the
functions' real requests against the same statements (pipeline/iam_eval.py).

A grant is ``family -> actions``; a family is a set of partition-key patterns
(``functions.model.keys.FAMILY_LEADING_KEYS``) that IAM checks with ``dynamodb:LeadingKeys``
(``ForAllValues:StringLike``: every partition key a request touches must match one pattern).
Statements are grouped by action, so a batch that mixes two granted families (the writer's
``BatchWriteItem`` of log items and failure reasons) is allowed as one request.

``TransactWriteItems`` is not an IAM action: a transaction is authorized per contained action
(``Put`` -> ``PutItem``, ``Update`` -> ``UpdateItem``, ``ConditionCheck`` -> ``ConditionCheckItem``),
each against its own item's key. No function is granted ``Scan``: it names no partition key, and
``ForAllValues`` on an absent key is true, so a Scan grant would bypass the key condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from functions.model.keys import FAMILY_LEADING_KEYS

TableGrants = Mapping[str, tuple[str, ...]]

# Ingest: reads the counter (GetItem, or BatchGetItem of the shards) and increments it only inside its
# recovery transaction (the queue refused the visit), with the visit's guarded log Put; creates/reads
# the day's salt. Never aggregates or failure reasons.
INGEST_TABLE_GRANTS: Final[TableGrants] = {
    "counter": ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem"),
    "salt": ("dynamodb:PutItem", "dynamodb:GetItem"),
    "log": ("dynamodb:PutItem",),
}
# Writer: log items (the guarded Put inside its counting transaction), aggregates (the day's names and
# its sketch read, ADDs inside the transaction, the sketch's conditional update), the counter (its ADD
# inside the same transaction) and failure reasons for the CLI. Never the salt.
WRITER_TABLE_GRANTS: Final[TableGrants] = {
    "log": ("dynamodb:PutItem",),  # the guarded Put inside the counting transaction: nothing else
    "aggregates": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),
    "counter": ("dynamodb:UpdateItem",),
    "failure": ("dynamodb:BatchWriteItem", "dynamodb:PutItem"),
}
# Status: reads, and the one write of a finished month's rollup; never log items (they hold visitor
# IPs) nor the salt. It reads access tokens to check a caller, and never writes them (the CLI does,
# with the owner's own credentials).
STATUS_TABLE_GRANTS: Final[TableGrants] = {
    "counter": ("dynamodb:BatchGetItem", "dynamodb:GetItem"),
    "aggregates": ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"),
    "rollups": ("dynamodb:BatchGetItem", "dynamodb:PutItem"),
    "access": ("dynamodb:GetItem",),
}
TABLE_GRANTS: Final[Mapping[str, TableGrants]] = {
    "ingest": INGEST_TABLE_GRANTS,
    "writer": WRITER_TABLE_GRANTS,
    "status": STATUS_TABLE_GRANTS,
}

INGEST_QUEUE_ACTIONS: Final = ("sqs:SendMessage",)
STATUS_QUEUE_ACTIONS: Final = ("sqs:GetQueueAttributes",)
# ApproximateAgeOfOldestMessage is a CloudWatch metric only; GetMetricData has no resource-level
# permissions, so this one statement has Resource "*" (acknowledged in the stack with that reason).
STATUS_METRIC_ACTIONS: Final = ("cloudwatch:GetMetricData",)


def table_actions(grants: TableGrants) -> tuple[str, ...]:
    """Every DynamoDB action of a function, whatever the family (sorted, no duplicates)."""
    return tuple(sorted({action for actions in grants.values() for action in actions}))


# Flat views, for readers that only care about actions.
INGEST_TABLE_ACTIONS: Final = table_actions(INGEST_TABLE_GRANTS)
WRITER_TABLE_ACTIONS: Final = table_actions(WRITER_TABLE_GRANTS)
STATUS_TABLE_ACTIONS: Final = table_actions(STATUS_TABLE_GRANTS)


def leading_keys(families: tuple[str, ...] | list[str]) -> list[str]:
    """The ``dynamodb:LeadingKeys`` patterns of some families (unknown family: KeyError, on purpose)."""
    return sorted({pattern for family in families for pattern in FAMILY_LEADING_KEYS[family]})


def grouped(grants: TableGrants) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """``[(families, actions)]``: actions that share exactly the same families, one group each."""
    by_action: dict[str, set[str]] = {}
    for family, actions in grants.items():
        if family not in FAMILY_LEADING_KEYS:
            raise KeyError(f"unknown item family {family!r}")
        for action in actions:
            by_action.setdefault(action, set()).add(family)
    groups: dict[tuple[str, ...], list[str]] = {}
    for action, families in by_action.items():
        groups.setdefault(tuple(sorted(families)), []).append(action)
    return sorted((families, tuple(sorted(actions))) for families, actions in groups.items())


def table_policy_statements(grants: TableGrants, table_arn: Any) -> list[dict[str, Any]]:
    """IAM policy statements (JSON) granting ``grants`` on one table, each limited to its families' keys.

    ``table_arn`` is whatever the caller's document uses for the table: a CloudFormation
    expression in the stack, a plain ARN in tests.
    """
    return [
        {
            "Effect": "Allow",
            "Action": list(actions),
            "Resource": table_arn,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": leading_keys(families)}},
        }
        for families, actions in grouped(grants)
    ]
