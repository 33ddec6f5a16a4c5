"""Table, queues, functions, event source, asset and outputs of the synthesized stack."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template
from aws_lambda_powertools.shared import version as powertools_version

from functions.core.definitions import QUEUE
from pipeline import budget, toolchain
from pipeline.functions import HANDLERS, SIZING, powertools_layer_parameter_id

from .conftest import INGRESS_VARIANTS
from .helpers import Synth, function_id, function_props, logical_id

pytestmark = pytest.mark.xdist_group("infra")

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_table_is_on_demand_keyed_as_definitions_with_ttl_pitr_and_encryption(rest: Synth) -> None:
    Template.from_json(rest.template).has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": Match.array_with(
                    [
                        {"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                    ]
                ),
                "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
                "TableName": Match.absent(),
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_removal_policy_destroy_deletes_table_and_logs(rest_all: Synth) -> None:
    table = next(iter(rest_all.of_type("AWS::DynamoDB::Table").values()))
    assert table["DeletionPolicy"] == "Delete"
    assert {lg.get("DeletionPolicy") for lg in rest_all.of_type("AWS::Logs::LogGroup").values()} == {"Delete"}


def test_queue_settings_come_from_definitions(rest: Synth) -> None:
    # GIVEN the default stack
    queue_id = logical_id(rest, "AWS::SQS::Queue", "VisitQueue")
    dlq_id = logical_id(rest, "AWS::SQS::Queue", "DeadLetterQueue")
    queue = rest.resources[queue_id]["Properties"]
    dlq = rest.resources[dlq_id]["Properties"]
    # THEN the queue mirrors definitions.QUEUE and redrives to the DLQ
    # six times the writer's timeout, both computed from the writer's client settings (test_budget.py)
    assert queue["VisibilityTimeout"] == budget.visibility_timeout_seconds() == QUEUE.visibility_timeout_seconds
    assert queue["MessageRetentionPeriod"] == 4 * 86400
    assert queue["ReceiveMessageWaitTimeSeconds"] == 20
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert dlq["MessageRetentionPeriod"] == 14 * 86400
    # AND the DLQ (failed visits) is kept like the table; the visit queue is transient
    assert rest.resources[dlq_id]["DeletionPolicy"] == "Retain"
    assert rest.resources[queue_id]["DeletionPolicy"] == "Delete"
    # AND both are encrypted at rest and have no physical name
    for props in (queue, dlq):
        assert props["SqsManagedSseEnabled"] is True
        assert "QueueName" not in props


def test_both_queues_refuse_non_tls_requests(rest: Synth) -> None:
    policies = rest.of_type("AWS::SQS::QueuePolicy").values()
    protected: set[str] = set()
    for policy in policies:
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            if st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}:
                protected.update(q["Ref"] for q in policy["Properties"]["Queues"])
    assert protected == set(rest.of_type("AWS::SQS::Queue"))


def test_max_receive_count_comes_from_context(rest_all: Synth) -> None:
    queue = rest_all.resources[logical_id(rest_all, "AWS::SQS::Queue", "VisitQueue")]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3


@pytest.mark.parametrize("name", list(HANDLERS))
def test_functions_runtime_arch_layer_tracing_sizing(rest: Synth, name: str) -> None:
    props = function_props(rest, name)
    assert props["Handler"] == HANDLERS[name]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["MemorySize"] == SIZING[name].memory_mb
    assert props["Timeout"] == SIZING[name].timeout_seconds
    assert "FunctionName" not in props
    # The public Powertools layer, resolved by CloudFormation from the stack's SSM parameter
    assert props["Layers"] == [{"Ref": powertools_layer_parameter_id()}]


@pytest.mark.parametrize("variant_name", INGRESS_VARIANTS)
def test_powertools_layer_is_the_pinned_release_from_aws_public_ssm_parameter(
    variant: Callable[[str], Synth], variant_name: str
) -> None:
    """Tested code = deployed code: the layer is the Powertools release the tests import."""
    synth = variant(variant_name)
    layer_parameters = [name for name in synth.template["Parameters"] if name.startswith("PowertoolsLayer")]
    assert layer_parameters == [powertools_layer_parameter_id()]
    parameter = synth.template["Parameters"][layer_parameters[0]]
    # An SSM parameter type: CloudFormation reads it in the target region at deploy time (no synth lookup)
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    pinned = toolchain.powertools_version()
    assert parameter["Default"] == f"/aws/service/powertools/python/arm64/python3.14/{pinned}"
    # AND the version the tests run is that pin
    assert metadata.version("aws-lambda-powertools") == pinned
    assert powertools_version.VERSION == pinned
    # AND the parameter's logical id carries the pin, so an upgrade is a new parameter with a new
    # default (CloudFormation reuses an existing parameter's previous value on every update)
    assert powertools_layer_parameter_id() == "PowertoolsLayerArn" + pinned.replace(".", "x")
    assert powertools_layer_parameter_id("3.38.1") == "PowertoolsLayerArn3x38x1" != powertools_layer_parameter_id()
    # AND synthesis recorded no context lookup (which would need credentials)
    assert not (synth.outdir / "cdk.context.json").exists()
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    assert not manifest.get("missing")


def test_powertools_pin_is_exact_in_pyproject(tmp_path: Path) -> None:
    loose = tmp_path / "pyproject.toml"
    loose.write_text('[project]\nname = "x"\ndependencies = ["aws-lambda-powertools[tracer]>=3.0,<4"]\n')
    with pytest.raises(toolchain.ToolchainError, match="exactly"):
        toolchain.powertools_version(loose)


def test_ingest_drops_its_platform_log_lines_the_others_keep_them(rest: Synth) -> None:
    configs = {name: function_props(rest, name)["LoggingConfig"] for name in HANDLERS}
    assert (configs["ingest"]["LogFormat"], configs["ingest"]["SystemLogLevel"]) == ("JSON", "WARN")
    assert all("SystemLogLevel" not in c for n, c in configs.items() if n != "ingest")


def test_writer_timeout_is_the_shared_definition(rest: Synth) -> None:
    # computed from the writer's client settings (pipeline/budget.py); local mode uses the same number
    assert function_props(rest, "writer")["Timeout"] == budget.writer_timeout_seconds() == QUEUE.writer_timeout_seconds


@pytest.mark.parametrize("name", list(HANDLERS))
def test_each_function_logs_to_its_own_group_with_retention(rest: Synth, name: str) -> None:
    log_group_ref = function_props(rest, name)["LoggingConfig"]["LogGroup"]
    log_group = rest.resources[log_group_ref["Ref"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == 30
    assert log_group["DeletionPolicy"] == "Retain"


def test_log_retention_comes_from_context(rest_all: Synth) -> None:
    retentions = {lg["Properties"]["RetentionInDays"] for lg in rest_all.of_type("AWS::Logs::LogGroup").values()}
    assert retentions == {90}


def _lake_bucket(synth: Synth) -> dict[str, str]:
    return {"LAKE_BUCKET": {"Ref": logical_id(synth, "AWS::S3::Bucket", "LakeBucket")}}  # type: ignore[dict-item]


LAKE_ENVIRONMENT = {
    "ingest": lambda synth: {},
    "writer": _lake_bucket,
    "status": lambda synth: {
        **_lake_bucket(synth),
        "ATHENA_WORKGROUP": {"Ref": logical_id(synth, "AWS::Athena::WorkGroup", "LakeWorkgroup")},
        "ATHENA_DATABASE": "visitortracker_lake",
    },
}


@pytest.mark.parametrize("name", list(HANDLERS))
def test_environment_variables_default(rest: Synth, name: str) -> None:
    env = function_props(rest, name)["Environment"]["Variables"]
    table_id = logical_id(rest, "AWS::DynamoDB::Table", "Table")
    assert env == {
        "TABLE_NAME": {"Ref": table_id},
        "QUEUE_URL": {"Ref": logical_id(rest, "AWS::SQS::Queue", "VisitQueue")},
        "DLQ_URL": {"Ref": logical_id(rest, "AWS::SQS::Queue", "DeadLetterQueue")},
        "LOG_TTL_DAYS": "30",
        "ALLOWED_ORIGINS": "*",
        "IP_MODE": "full",
        "COUNT_BOTS": "false",
        "COUNT_DATACENTERS": "false",
        "EXCLUDE_IPS": "",
        "EXCLUDE_PATHS": "",
        "RESPECT_DNT": "false",
        "GOALS": "",
        "SITES": "",
        "COUNTER_SHARDS": "1",
        "STATUS_CACHE_SECONDS": "5",
        "PUBLIC_DASHBOARD": "false",  # private by default: /status and /dashboard need a token
        "PUBLIC_COUNTERS": "all",
        "COUNT_CACHE_SECONDS": "1",
        "AGGREGATE_SHARDS": "1",
        "POWERTOOLS_SERVICE_NAME": "VisitorTracker",  # per stack: the stack's name ...
        "POWERTOOLS_METRICS_NAMESPACE": "VisitorTracker/VisitorTracker",  # ... in the namespace too
        **LAKE_ENVIRONMENT[name](rest),  # the lake (issue 22): the writer puts, status asks Athena
    }


def test_environment_variables_follow_context(rest_all: Synth) -> None:
    env = function_props(rest_all, "ingest")["Environment"]["Variables"]
    assert env["ALLOWED_ORIGINS"] == "https://www.example.com,https://blog.example.com"
    assert env["IP_MODE"] == "hashed"
    assert env["COUNT_BOTS"] == "true"
    assert env["COUNT_DATACENTERS"] == "true"
    assert env["COUNTER_SHARDS"] == "4"
    assert env["GOALS"] == "Signup,page:/thanks*"  # cdk.json's list, as the functions' settings read it


def test_writer_event_source_mapping(rest: Synth, rest_all: Synth) -> None:
    mapping = rest.one("AWS::Lambda::EventSourceMapping")
    assert mapping["FunctionName"] == {"Ref": function_id(rest, "writer")}
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [logical_id(rest, "AWS::SQS::Queue", "VisitQueue"), "Arn"]}
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumBatchingWindowInSeconds"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 5}
    assert rest_all.one("AWS::Lambda::EventSourceMapping")["ScalingConfig"] == {"MaximumConcurrency": 10}


def test_ingest_reserved_concurrency_off_by_default_and_set_from_context(
    rest: Synth, rest_all: Synth, function_url: Synth, variant: Callable[[str], Synth]
) -> None:
    # Opt-in everywhere, function URLs included: a new account's quota leaves nothing to reserve
    assert "ReservedConcurrentExecutions" not in function_props(rest, "ingest")
    assert "ReservedConcurrentExecutions" not in function_props(function_url, "ingest")
    assert function_props(variant("function_url_reserved"), "ingest")["ReservedConcurrentExecutions"] == 5
    assert function_props(rest_all, "ingest")["ReservedConcurrentExecutions"] == 50
    for name in ("writer", "status"):
        assert "ReservedConcurrentExecutions" not in function_props(rest_all, name)


def _asset_files(synth: Synth) -> set[str]:
    code = function_props(synth, "ingest")["Code"]
    asset_dir = synth.outdir / f"asset.{code['S3Key'].removesuffix('.zip')}"
    assert asset_dir.is_dir(), f"asset folder {asset_dir} missing"
    return {p.relative_to(asset_dir).as_posix() for p in asset_dir.rglob("*") if p.is_file()}


def test_asset_is_exactly_the_functions_package(rest: Synth) -> None:
    # GIVEN the asset folder the three functions deploy
    files = _asset_files(rest)
    codes = {str(function_props(rest, name)["Code"]) for name in HANDLERS}
    assert len(codes) == 1, "the three functions share one asset"
    # THEN it holds functions/** and nothing else: no .venv, tests, pipeline, cdk.out, caches
    assert files, "empty asset"
    assert all(f.startswith("functions/") for f in files), sorted(f for f in files if not f.startswith("functions/"))
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    # AND every source file of the package is in it
    expected = {
        p.relative_to(PROJECT_ROOT).as_posix()
        for p in (PROJECT_ROOT / "functions").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc" and ".mypy_cache" not in p.parts
    }
    assert files == expected
    assert {"functions/__init__.py", "functions/core/definitions.py"} <= files


def test_outputs_use_the_shared_keys(rest: Synth) -> None:
    outputs = rest.template["Outputs"]
    for key in ("ApiUrl", "StatusUrl", "TableName", "QueueUrl", "DlqUrl"):
        assert key in outputs, key
    assert outputs["TableName"]["Value"] == {"Ref": logical_id(rest, "AWS::DynamoDB::Table", "Table")}
    assert outputs["QueueUrl"]["Value"] == {"Ref": logical_id(rest, "AWS::SQS::Queue", "VisitQueue")}
    assert outputs["DlqUrl"]["Value"] == {"Ref": logical_id(rest, "AWS::SQS::Queue", "DeadLetterQueue")}


def test_no_physical_names_anywhere(rest_keyed: Synth) -> None:
    name_keys = {"TableName", "QueueName", "FunctionName", "RoleName", "TopicName", "Name", "DashboardName"}
    for logical, res in rest_keyed.resources.items():
        if res["Type"] in ("AWS::Lambda::EventSourceMapping", "AWS::Lambda::Permission"):
            continue  # FunctionName there is a reference to the function
        for key in name_keys & set(res.get("Properties", {})):
            value = res["Properties"][key]
            if res["Type"] == "AWS::CloudFront::Function":
                # CDK derives it from the region and the construct path: unique per stack and region.
                assert "VisitorTracker" in json.dumps(value), logical
                continue
            if res["Type"] in ("AWS::ApiGateway::RestApi", "AWS::WAFv2::WebACL"):
                # Required labels, not unique identifiers: derived from the stack / construct path.
                assert isinstance(value, str) and value, logical
                continue
            assert not isinstance(value, str), f"{logical} has a hard-coded {key}={value!r}"


def test_resources_carry_the_project_tag(rest: Synth) -> None:
    tag = {"Key": "project", "Value": "visitor-tracker"}
    for resource_type in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Lambda::Function", "AWS::IAM::Role"):
        for logical, res in rest.of_type(resource_type).items():
            assert tag in res["Properties"].get("Tags", []), logical
