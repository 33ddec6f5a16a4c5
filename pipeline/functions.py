"""The three Lambda functions: ingest, writer and status.

All three share one asset (the ``functions`` package and nothing else), one runtime, arm64 and the
public Powertools layer of the exact Powertools release the tests run (pinned in pyproject.toml),
its ARN resolved in the target region by CloudFormation from AWS's public SSM parameter. Each has
its own IAM role with no managed policy: log permissions are granted on its own log group only, and
the stack grants data access action by action and key family by key family.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aws_cdk import CfnParameter, Duration, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from pipeline import budget, toolchain

# Python 3.14 is the newest Lambda runtime in aws-cdk-lib 2.275, and the Powertools layer is
# published for it (AWSLambdaPowertoolsPythonV3-python314-arm64).
RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE: Final = lambda_.Architecture.ARM_64
# The CloudFormation parameter (type AWS::SSM::Parameter::Value<String>) holding the layer ARN. Its
# logical id carries the pinned version: CloudFormation (and the CDK CLI) reuse a parameter's previous
# value on every update, so under a fixed id an upgrade of the pin would never reach a deployed stack;
# a new id is a new parameter, which starts from its new default.
POWERTOOLS_LAYER_PARAMETER_PREFIX: Final = "PowertoolsLayerArn"


def powertools_layer_parameter_id(version: str | None = None) -> str:
    """``PowertoolsLayerArn3x37x0`` for 3.37.0 (logical ids are alphanumeric)."""
    return POWERTOOLS_LAYER_PARAMETER_PREFIX + re.sub(r"[^A-Za-z0-9]", "x", version or toolchain.powertools_version())


HANDLERS: Final = {
    "ingest": "functions.ingest.handler.handler",
    "writer": "functions.writer.handler.handler",
    "status": "functions.status.handler.handler",
}

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
# Docker-style ignore rules: drop everything at the project root, keep the functions package, then
# drop caches inside it. The asset is therefore exactly functions/** (minus bytecode).
ASSET_EXCLUDE: Final = ["*", "!functions", "**/__pycache__", "**/*.pyc", "**/.mypy_cache", "**/.pytest_cache"]


@dataclass(frozen=True)
class FunctionSizing:
    """Memory and timeout of one function, chosen on purpose (see docs/deploy.md)."""

    memory_mb: int
    timeout_seconds: int


# ingest sits on the visitor's request path: 256 MB buys a faster cold start (CPU scales with
# memory). Its timeout is computed (pipeline/budget.py) from the botocore settings of its clients
# and the number of calls on its worst path, so a counted visit is never cut off before it is
# queued or written. Normal visits take tens of milliseconds.
# writer handles batches of up to QUEUE.batch_size visits: 512 MB for the concurrent writes, and
# its timeout computed the same way from its own client settings and worst path (the queue's
# visibility timeout is six times it).
# status answers small reads, cached in memory: 256 MB; 29 s for the lake's Athena queries.
SIZING: Final = {
    "ingest": FunctionSizing(memory_mb=256, timeout_seconds=budget.ingest_timeout_seconds()),
    "writer": FunctionSizing(memory_mb=512, timeout_seconds=budget.writer_timeout_seconds()),
    # 29 s: API Gateway's integration limit, for /status/explore's Athena queries (functions.lake.engines).
    "status": FunctionSizing(memory_mb=256, timeout_seconds=29),
}


def powertools_layer_parameter_name(version: str | None = None) -> str:
    """The public SSM parameter of the Powertools layer for RUNTIME, ARCHITECTURE and the pinned version."""
    return toolchain.powertools_layer_parameter(
        architecture="arm64" if ARCHITECTURE.name == "arm64" else "x86_64",
        python=RUNTIME.name,
        version=version or toolchain.powertools_version(),
    )


class TrackerFunctions(Construct):
    """Builds the three functions; exposes them as ``ingest``, ``writer`` and ``status``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: dict[str, str],
        log_retention: logs.RetentionDays,
        ingest_reserved_concurrency: int | None,
        retain_logs: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        code = lambda_.Code.from_asset(str(PROJECT_ROOT), exclude=ASSET_EXCLUDE, ignore_mode=IgnoreMode.DOCKER)
        # Resolved by CloudFormation at deploy time, in the stack's region: no AWS call at synthesis.
        layer_arn = CfnParameter(
            Stack.of(self),
            powertools_layer_parameter_id(),
            type="AWS::SSM::Parameter::Value<String>",
            default=powertools_layer_parameter_name(),
            description="AWS's public SSM parameter naming the Powertools layer of the pinned release",
        )
        layer = lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer", layer_arn.value_as_string)
        self.log_groups: dict[str, logs.LogGroup] = {}
        built: dict[str, lambda_.Function] = {}
        for name, handler in HANDLERS.items():
            log_group = logs.LogGroup(
                self,
                f"{name.capitalize()}Logs",
                retention=log_retention,
                removal_policy=RemovalPolicy.RETAIN if retain_logs else RemovalPolicy.DESTROY,
            )
            role = iam.Role(
                self,
                f"{name.capitalize()}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"visitor tracker {name} function",
            )
            # Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): this group only.
            log_group.grant(role, "logs:CreateLogStream", "logs:PutLogEvents")
            sizing = SIZING[name]
            built[name] = lambda_.Function(
                self,
                f"{name.capitalize()}Function",
                runtime=RUNTIME,
                architecture=ARCHITECTURE,
                handler=handler,
                code=code,
                layers=[layer],
                role=role,
                memory_size=sizing.memory_mb,
                timeout=Duration.seconds(sizing.timeout_seconds),
                tracing=lambda_.Tracing.ACTIVE,
                log_group=log_group,
                environment=environment,
                reserved_concurrent_executions=ingest_reserved_concurrency if name == "ingest" else None,
                # Ingest runs once per visit: its START/REPORT platform lines (INFO) alone would be its
                # biggest CloudWatch Logs cost. JSON format + system level WARN drops them (Lambda's
                # log-level filtering); its own WARN/ERROR lines and Lambda's metrics are unaffected.
                logging_format=lambda_.LoggingFormat.JSON if name == "ingest" else None,
                system_log_level_v2=lambda_.SystemLogLevel.WARN if name == "ingest" else None,
                description=f"visitor tracker: {name}",
            )
            self.log_groups[name] = log_group
        self.ingest = built["ingest"]
        self.writer = built["writer"]
        self.status = built["status"]
