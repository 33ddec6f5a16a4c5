"""Least privilege: each function's IAM actions, listed action by action, on named resources."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from functions.model.keys import FAMILY_LEADING_KEYS
from pipeline.iam_eval import Request, is_allowed
from pipeline.lake import ATHENA_ACTIONS, GLUE_ACTIONS, RESULTS_ACTIONS, RESULTS_BUCKET_ACTIONS
from pipeline.permissions import TABLE_GRANTS, table_actions, table_policy_statements

from .conftest import INGRESS_VARIANTS
from .helpers import Synth, actions, actions_on, arn, as_list, logical_id, role_id, statements

pytestmark = pytest.mark.xdist_group("infra")

LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _table_actions(name: str) -> set[str]:
    return set(table_actions(TABLE_GRANTS[name]))


EXPECTED = {
    "ingest": LOGS | XRAY | _table_actions("ingest") | {"sqs:SendMessage"},
    "writer": LOGS
    | XRAY
    | _table_actions("writer")
    | {
        # What SqsEventSource grants to consume the queue (GetQueueUrl comes with it).
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "s3:PutObject",  # the lake's events/* (tests/infra/test_lake.py checks where)
        "s3:DeleteObject",  # the lake's rollups/*: late rows drop their day's stored panels
    },
    "status": LOGS
    | XRAY
    | _table_actions("status")
    | {"sqs:GetQueueAttributes", "cloudwatch:GetMetricData"}
    # The lake through Athena (tests/infra/test_lake.py checks on which resources).
    | {*ATHENA_ACTIONS, *GLUE_ACTIONS, *RESULTS_ACTIONS, *RESULTS_BUCKET_ACTIONS, "s3:GetObject", "s3:PutObject"},
}
# Spelled out once, so a change to pipeline/permissions.py is a visible change here too.
SPELLED_OUT = {
    "ingest": {
        "counter": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem"},
        "salt": {"dynamodb:PutItem", "dynamodb:GetItem"},
        "log": {"dynamodb:PutItem"},
    },
    "writer": {
        "log": {"dynamodb:PutItem"},
        "aggregates": {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"},
        "counter": {"dynamodb:UpdateItem"},
        "failure": {"dynamodb:BatchWriteItem", "dynamodb:PutItem"},
    },
    "status": {
        "counter": {"dynamodb:BatchGetItem", "dynamodb:GetItem"},
        "aggregates": {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"},
        "rollups": {"dynamodb:BatchGetItem", "dynamodb:PutItem"},
        "access": {"dynamodb:GetItem"},  # checks a caller's token; only the CLI issues and revokes
    },
}
# Every DynamoDB action any function could be tempted to use.
ALL_TABLE_ACTIONS = sorted(
    {a for grants in TABLE_GRANTS.values() for actions in grants.values() for a in actions}
    | {"dynamodb:DeleteItem", "dynamodb:Scan", "dynamodb:ConditionCheckItem"}
)
SAMPLE_KEY = {
    "counter": "COUNTER#3",
    "salt": "SALT",
    "log": "LOG#2026-12-01#7",
    "aggregates": "AGG#DAY",
    "failure": "FAILURE",
    "rollups": "ROLLUP",
    "access": "ACCESS",
}
SAMPLE_KEY |= {"aggregate names": "AGG#N#2026-12-01"}
FAMILY_OF_SAMPLE = {"aggregate names": "aggregates"}

VARIANTS = list(INGRESS_VARIANTS)


def test_grants_are_the_documented_ones() -> None:
    assert {name: {f: set(a) for f, a in grants.items()} for name, grants in TABLE_GRANTS.items()} == SPELLED_OUT
    assert set(SAMPLE_KEY) - set(FAMILY_OF_SAMPLE) == set(FAMILY_LEADING_KEYS)


@pytest.mark.parametrize("variant_name", VARIANTS)
@pytest.mark.parametrize("name", list(EXPECTED))
def test_exact_action_set_per_function(variant: Callable[[str], Synth], variant_name: str, name: str) -> None:
    synth = variant(variant_name)
    assert actions(synth, name) == EXPECTED[name]


@pytest.mark.parametrize("variant_name", VARIANTS)
@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_table_statement_is_limited_to_the_functions_key_families(
    variant: Callable[[str], Synth], variant_name: str, name: str
) -> None:
    # GIVEN the function's statements on the table in the synthesized template
    synth = variant(variant_name)
    table = arn(logical_id(synth, "AWS::DynamoDB::Table", "Table"))
    on_table = [st for st in statements(synth, name) if table in as_list(st["Resource"])]
    # THEN each one carries a ForAllValues:StringLike dynamodb:LeadingKeys condition, and nothing else
    assert on_table and all(set(st) == {"Effect", "Action", "Resource", "Condition"} for st in on_table)
    for st in on_table:
        assert list(st["Condition"]) == ["ForAllValues:StringLike"]
        assert list(st["Condition"]["ForAllValues:StringLike"]) == ["dynamodb:LeadingKeys"]
    # AND they are exactly the statements pipeline/permissions.py derives from the grants
    expected = table_policy_statements(TABLE_GRANTS[name], table)
    normalized = [dict(st, Action=sorted(as_list(st["Action"]))) for st in on_table]
    assert sorted(normalized, key=str) == sorted(expected, key=str)


@pytest.mark.parametrize("variant_name", VARIANTS)
@pytest.mark.parametrize("name", list(EXPECTED))
def test_template_allows_exactly_the_granted_family_action_pairs(
    variant: Callable[[str], Synth], variant_name: str, name: str
) -> None:
    """Evaluate the synthesized statements: every (family, action) granted is allowed, every other refused."""
    synth = variant(variant_name)
    table = arn(logical_id(synth, "AWS::DynamoDB::Table", "Table"))
    policy = statements(synth, name)
    for sample, pk in SAMPLE_KEY.items():
        family = FAMILY_OF_SAMPLE.get(sample, sample)
        for action in ALL_TABLE_ACTIONS:
            request = Request(action, table, {"dynamodb:LeadingKeys": (pk,)})
            granted = action in TABLE_GRANTS[name].get(family, ())
            assert is_allowed(policy, request) is granted, (name, family, action)
    # A batch mixing a granted and a refused family is refused as a whole
    if "log" not in TABLE_GRANTS[name]:
        mixed = Request("dynamodb:BatchGetItem", table, {"dynamodb:LeadingKeys": ("COUNTER#0", "LOG#2026-12-01#1")})
        assert not is_allowed(policy, mixed)
    # No function may Scan: ForAllValues over an absent key would be true
    assert not is_allowed(policy, Request("dynamodb:Scan", table, {}))


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
