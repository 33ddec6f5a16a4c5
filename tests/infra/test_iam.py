"""Least privilege: each function's IAM actions, listed action by action, on named resources."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .helpers import Synth, actions, actions_on, arn, as_list, logical_id, role_id, statements

pytestmark = pytest.mark.xdist_group("infra")

LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

EXPECTED = {
    "ingest": LOGS
    | XRAY
    | {"dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "sqs:SendMessage"},
    "writer": LOGS
    | XRAY
    | {
        "dynamodb:BatchWriteItem",
        "dynamodb:UpdateItem",
        "dynamodb:BatchGetItem",
        # What SqsEventSource grants to consume the queue (GetQueueUrl comes with it).
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    },
    "status": LOGS | XRAY | {"dynamodb:BatchGetItem", "sqs:GetQueueAttributes", "cloudwatch:GetMetricData"},
}

VARIANTS = ["rest", "rest_keyed", "http", "function_url"]


@pytest.mark.parametrize("variant_name", VARIANTS)
@pytest.mark.parametrize("name", list(EXPECTED))
def test_exact_action_set_per_function(variant: Callable[[str], Synth], variant_name: str, name: str) -> None:
    synth = variant(variant_name)
    assert actions(synth, name) == EXPECTED[name]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_actions_are_on_the_right_resources(rest: Synth, name: str) -> None:
    # GIVEN the logical ids of the table, the queues and the function's log group
    table = arn(logical_id(rest, "AWS::DynamoDB::Table", "Table"))
    queue = arn(logical_id(rest, "AWS::SQS::Queue", "VisitQueue"))
    dlq = arn(logical_id(rest, "AWS::SQS::Queue", "DeadLetterQueue"))
    log_group = arn(logical_id(rest, "AWS::Logs::LogGroup", f"{name.capitalize()}Logs"))
    expected = EXPECTED[name]
    # THEN table actions are on the table only, queue actions on the queues, logs on its own group
    assert actions_on(rest, name, table) == {a for a in expected if a.startswith("dynamodb:")}
    assert actions_on(rest, name, log_group) == LOGS
    if name == "status":
        assert actions_on(rest, name, queue) == actions_on(rest, name, dlq) == {"sqs:GetQueueAttributes"}
    else:
        assert actions_on(rest, name, queue) == {a for a in expected if a.startswith("sqs:")}
        assert actions_on(rest, name, dlq) == set()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_no_wildcard_action_and_star_resource_only_for_xray(rest: Synth, name: str) -> None:
    # X-Ray's and CloudWatch GetMetricData's actions have no resource-level permissions
    unscoped = XRAY | ({"cloudwatch:GetMetricData"} if name == "status" else set())
    for st in statements(rest, name):
        assert st["Effect"] == "Allow"
        assert not [a for a in as_list(st["Action"]) if "*" in a], st
        if "*" in as_list(st["Resource"]):
            assert set(as_list(st["Action"])) <= unscoped, st


@pytest.mark.parametrize("name", list(EXPECTED))
def test_roles_have_no_managed_policies(rest: Synth, name: str) -> None:
    role = rest.resources[role_id(rest, name)]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]


def test_functions_have_separate_roles(rest: Synth) -> None:
    assert len({role_id(rest, name) for name in EXPECTED}) == 3
