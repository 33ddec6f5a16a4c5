"""The one stack: storage, queueing, functions, ingress and monitoring, wired with explicit grants."""

from __future__ import annotations

from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from functions.core import definitions as d
from functions.lake.config import ENV_ATHENA_DATABASE, ENV_ATHENA_WORKGROUP, ENV_LAKE_BUCKET
from pipeline.api import (
    SCRIPT_PATH,
    ApiKeySettings,
    FunctionUrlIngress,
    HttpIngress,
    Ingress,
    IngressSettings,
    RestIngress,
)
from pipeline.config import TrackerConfig, cdk_json_context
from pipeline.front_door import FrontDoor, FrontDoorSettings
from pipeline.functions import TrackerFunctions
from pipeline.lake import Lake
from pipeline.monitoring import Monitoring
from pipeline.nag import acknowledge
from pipeline.permissions import (
    INGEST_QUEUE_ACTIONS,
    STATUS_METRIC_ACTIONS,
    STATUS_QUEUE_ACTIONS,
    TABLE_GRANTS,
    TableGrants,
    table_policy_statements,
)
from pipeline.queueing import Queueing
from pipeline.storage import Storage

OUTPUT_API_KEY_ID: Final = "ApiKeyId"
OUTPUT_FRONT_DOOR_URL: Final = "FrontDoorUrl"
OUTPUT_FRONT_DOOR_DOMAIN: Final = "FrontDoorDomain"
OUTPUT_SCRIPT_URL: Final = "ScriptUrl"
OUTPUT_ATHENA_WORKGROUP: Final = "AthenaWorkgroup"  # visitor-tracker query --stack reads these two
OUTPUT_ATHENA_DATABASE: Final = "AthenaDatabase"

_RETENTION_NAMES: Final = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
    60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
    365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS",
    1827: "FIVE_YEARS", 2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip


def retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs retention enum for a number of days TrackerConfig already validated."""
    return logs.RetentionDays[_RETENTION_NAMES[days]]


class VisitorTrackerStack(cdk.Stack):
    """API -> ingest -> SQS -> writer -> DynamoDB, plus status, alarms and a dashboard."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TrackerConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="Serverless website visitor tracker", **kwargs)
        self.config = config
        # One tag on every taggable resource, for cost allocation and to find the tracker's resources.
        cdk.Tags.of(self).add("project", d.POWERTOOLS_SERVICE_NAME)
        log_retention = retention(config.log_retention_days)

        self.storage = Storage(self, "Storage", retain=not config.destroy_on_delete)
        self.queueing = Queueing(
            self, "Queueing", max_receive_count=config.max_receive_count, retain_failed=not config.destroy_on_delete
        )
        table = self.storage.table
        queue = self.queueing.queue
        dlq = self.queueing.dead_letter_queue

        environment = {
            d.ENV_TABLE_NAME: table.table_name,
            d.ENV_QUEUE_URL: queue.queue_url,
            d.ENV_DLQ_URL: dlq.queue_url,
            **config.function_environment(),
        }
        self.functions = TrackerFunctions(
            self,
            "Functions",
            environment=environment,
            log_retention=log_retention,
            ingest_reserved_concurrency=config.ingest_concurrency_ceiling,
            retain_logs=not config.destroy_on_delete,
        )
        fns = self.functions
        # The lake (issue 22): the writer appends every counted visit's row, status asks Athena.
        self.lake = Lake(
            self, "Lake", retention_days=config.lake_retention_days, retain=not config.destroy_on_delete,
            name=config.stack_name,
        )  # fmt: skip
        fns.writer.add_environment(ENV_LAKE_BUCKET, self.lake.bucket.bucket_name)
        fns.status.add_environment(ENV_LAKE_BUCKET, self.lake.bucket.bucket_name)
        fns.status.add_environment(ENV_ATHENA_WORKGROUP, self.lake.workgroup.ref)
        fns.status.add_environment(ENV_ATHENA_DATABASE, self.lake.database_name)
        self.lake.grant_writer(fns.writer)
        self.lake.grant_reader(fns.status)
        for name, fn in (("ingest", fns.ingest), ("writer", fns.writer), ("status", fns.status)):
            self._grant_table(fn, TABLE_GRANTS[name], table.table_arn)
        queue.grant(fns.ingest, *INGEST_QUEUE_ACTIONS)
        queue.grant(fns.status, *STATUS_QUEUE_ACTIONS)
        dlq.grant(fns.status, *STATUS_QUEUE_ACTIONS)
        fns.status.add_to_role_policy(iam.PolicyStatement(actions=list(STATUS_METRIC_ACTIONS), resources=["*"]))
        # The event source grants the writer what consuming needs (Receive/Delete/
        # ChangeMessageVisibility/GetQueueAttributes/GetQueueUrl) on this queue only.
        fns.writer.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=d.QUEUE.batch_size,
                max_batching_window=Duration.seconds(d.QUEUE.max_batching_window_seconds),
                report_batch_item_failures=True,
                max_concurrency=config.writer_concurrency,
            )
        )

        self.ingress = self._ingress(config, log_retention)
        if config.ingress == "function-url" and config.ingest_concurrency_ceiling is None:
            cdk.Annotations.of(fns.ingest).add_warning_v2(
                "visitor-tracker:unthrottled-function-url",
                "ingress=function-url without ingest_reserved_concurrency: nothing caps ingest's concurrency "
                "(abuse = cost). Reserve some once the account's concurrency quota allows it (docs/deploy.md).",
            )
        self.front_door: FrontDoor | None = None
        if config.front_door == "cloudfront":
            self.front_door = FrontDoor(
                self,
                "FrontDoor",
                origin_domain=self.ingress.origin_domain,
                origin_path=self.ingress.origin_path,
                settings=FrontDoorSettings(
                    path_prefix=config.front_door_path,
                    waf_rate_limit=config.front_door_waf_rate_limit,
                    web_acl_arn=config.front_door_web_acl_arn,
                ),
            )
            # The functions that read a visitor's address trust it only with the distribution's secret.
            for fn in (fns.ingest, fns.status):
                fn.add_environment(d.ENV_FRONT_DOOR_SECRET, self.front_door.secret)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            ingest=fns.ingest,
            writer=fns.writer,
            status=fns.status,
            queue=queue,
            dead_letter_queue=dlq,
            api_server_errors=self.ingress.server_errors,
            oldest_message_alarm_seconds=config.oldest_message_alarm_seconds,
            queue_depth_alarm=config.queue_depth_alarm,
            alarm_email=config.alarm_email,
            metrics_namespace=config.metrics_namespace,
            service_name=config.service_name,
            retain_key=not config.destroy_on_delete,
        )

        cdk.CfnOutput(self, d.OUTPUT_API_URL, value=self.ingress.api_url, description="Tracking endpoint (GET)")
        cdk.CfnOutput(self, d.OUTPUT_STATUS_URL, value=self.ingress.status_url, description="GET /status")
        cdk.CfnOutput(self, d.OUTPUT_TABLE_NAME, value=table.table_name)
        cdk.CfnOutput(self, d.OUTPUT_QUEUE_URL, value=queue.queue_url)
        cdk.CfnOutput(self, d.OUTPUT_DLQ_URL, value=dlq.queue_url)
        cdk.CfnOutput(self, OUTPUT_ATHENA_WORKGROUP, value=self.lake.workgroup.ref)
        cdk.CfnOutput(self, OUTPUT_ATHENA_DATABASE, value=self.lake.database_name)
        cdk.CfnOutput(self, "LakeBucket", value=self.lake.bucket.bucket_name, description="Raw events (docs/lake.md)")
        script_base = self.front_door.url if self.front_door is not None else self.ingress.api_url
        cdk.CfnOutput(
            self,
            OUTPUT_SCRIPT_URL,
            value=script_base + SCRIPT_PATH,
            description='The site\'s script: <script defer src="..."></script> (docs/script.md)',
        )
        if self.front_door is not None:
            cdk.CfnOutput(
                self,
                OUTPUT_FRONT_DOOR_URL,
                value=self.front_door.url,
                description="The tracker through CloudFront (serve it on your site's domain: docs/deploy.md)",
            )
            cdk.CfnOutput(self, OUTPUT_FRONT_DOOR_DOMAIN, value=self.front_door.distribution.distribution_domain_name)
        if isinstance(self.ingress, RestIngress) and self.ingress.api_key is not None:
            cdk.CfnOutput(
                self,
                OUTPUT_API_KEY_ID,
                value=self.ingress.api_key.key_id,
                description="aws apigateway get-api-key --include-value --api-key <id> shows the key",
            )
        self._acknowledge_nag_findings()

    @staticmethod
    def _grant_table(fn: lambda_.Function, grants: TableGrants, table_arn: str) -> None:
        """One statement per group of actions sharing the same item families, keyed by dynamodb:LeadingKeys."""
        for statement in table_policy_statements(grants, table_arn):
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=statement["Action"], resources=[statement["Resource"]], conditions=statement["Condition"]
                )
            )

    def _ingress(self, config: TrackerConfig, log_retention: logs.RetentionDays) -> Ingress:
        settings = IngressSettings(
            allowed_origins=config.cors_origins,
            throttle_rate_limit=config.throttle_rate_limit,
            throttle_burst_limit=config.throttle_burst_limit,
            log_retention=log_retention,
            retain_logs=not config.destroy_on_delete,
            log_client_ip=config.ip_mode == "full",
            logging_role=config.api_gateway_logging_role,
        )
        fns = self.functions
        if config.ingress == "http":
            return HttpIngress(self, "Ingress", ingest=fns.ingest, status=fns.status, settings=settings)
        if config.ingress == "function-url":
            return FunctionUrlIngress(self, "Ingress", ingest=fns.ingest, status=fns.status, settings=settings)
        return RestIngress(
            self,
            "Ingress",
            ingest=fns.ingest,
            status=fns.status,
            settings=settings,
            api_keys=ApiKeySettings(
                mode=config.api_key,
                rate_limit=config.usage_plan_rate_limit,
                burst_limit=config.usage_plan_burst_limit,
                quota_per_day=config.usage_plan_quota_per_day,
            ),
            waf_rate_limit=config.waf_rate_limit,
        )

    def _acknowledge_nag_findings(self) -> None:
        """cdk-nag findings that are deliberate, each with the reason it is acceptable here."""
        xray = (
            "X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do "
            "not support resource-level permissions, so their resource must be '*'."
        )
        metric = (
            " The status function also reads the queue's ApproximateAgeOfOldestMessage with "
            "cloudwatch:GetMetricData, which has no resource-level permissions either (read-only, "
            "at most once a minute per warm function)."
        )
        for fn in (self.functions.ingest, self.functions.writer, self.functions.status):
            if fn.role is not None:
                reason = xray + (metric if fn is self.functions.status else "")
                acknowledge(fn.role, "AwsSolutions-IAM5[Resource::*]", reason)


def build_app(
    context: dict[str, Any] | None = None, *, outdir: str | None = None, use_cdk_json: bool = True
) -> tuple[cdk.App, VisitorTrackerStack]:
    """The CDK app with cdk-nag: cdk.json context, overridden by ``context`` / ``-c`` values."""
    app = cdk.App(outdir=outdir, context=context or {})
    merged = dict(cdk_json_context()) if use_cdk_json else {}
    for key in list(merged) + list(context or {}):
        value = app.node.try_get_context(key)
        if value is not None:
            merged[key] = value
    # Keys given only with `cdk synth -c key=value` reach the app through CDK_CONTEXT_JSON.
    for field in TrackerConfig.__dataclass_fields__:
        value = app.node.try_get_context(field)
        if value is not None:
            merged[field] = value
    config = TrackerConfig.from_context(merged)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = VisitorTrackerStack(app, config.stack_name, config=config)
    return app, stack
