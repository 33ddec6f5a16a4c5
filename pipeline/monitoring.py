"""Alarms that say when visits are being lost or delayed, an optional e-mail topic, a dashboard."""

from __future__ import annotations

from aws_cdk import Annotations, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(5)

# What to do when each alarm fires: the alarm description, and docs/deploy.md "When an alarm fires".
RUNBOOK: dict[str, str] = {
    "DlqNotEmpty": "Visits failed processing 5 times and wait in the DLQ: `visitor-tracker dlq list`, fix the "
    "cause, then `visitor-tracker dlq redrive`.",
    "QueueBacklog": "The writer is not keeping up: the oldest queued visit is getting old. Check WriterErrors/"
    "WriterThrottles and DynamoDB throttling; raise peak_visits_per_second (or writer_max_concurrency) if the "
    "queue only grows.",
    "QueueDepth": "More visits are queued than the writers sized for peak_visits_per_second clear in 5 minutes: "
    "traffic is above the peak the stack was sized for. Raise peak_visits_per_second and redeploy.",
    "WriterErrors": "The writer function failed whole invocations: read its log group; records are retried "
    "by SQS and reach the DLQ after max_receive_count receives.",
    "WriterThrottles": "The writer was throttled: account concurrency is exhausted. Lower other functions' use "
    "or request a higher Lambda concurrency quota.",
    "IngestErrors": "The ingest function failed invocations (timeouts, crashes): those visits are lost. Read "
    "its log group for the error.",
    "IngestThrottles": "Ingest was throttled (reserved concurrency or account quota): visitors got 429/502 and "
    "those visits were not counted. Raise ingest_reserved_concurrency or the account's quota.",
    "Recoveries": "SQS refused visits and ingest wrote them straight to the table: they are logged but not in "
    "the /status aggregates. Check the SQS service health and the queue policy.",
    "RecoveryFailures": "A visit exists only as a `visit recovery` log line (SQS and DynamoDB both failed): "
    "find the lines in ingest's log group (field recovery_record) and replay them; check DynamoDB health.",
    "Api5xx": "The API answered 5xx to visitors: check IngestErrors, IngestThrottles and the API's logs.",
}


def ingest_metric(name: str, *, namespace: str, service: str) -> cloudwatch.Metric:
    """A metric ingest emits through Powertools (EMF): namespace and ``service`` dimension as the stack sets
    them (both per stack, so two trackers in one account and region never share a metric or an alarm)."""
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map={"service": service},
        period=PERIOD,
        statistic="Sum",
    )


class Monitoring(Construct):
    """One alarm per way a visit can be lost or delayed, each described with what to do when it fires."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ingest: lambda_.IFunction,
        writer: lambda_.IFunction,
        status: lambda_.IFunction,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        api_server_errors: cloudwatch.IMetric | None,
        oldest_message_alarm_seconds: int,
        alarm_email: str | None,
        metrics_namespace: str,
        service_name: str,
        retain_key: bool,
        queue_depth_alarm: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.stack_name = Stack.of(self).stack_name
        self.metrics_namespace = metrics_namespace
        self.service_name = service_name
        self.topic: sns.Topic | None = None
        if alarm_email is not None:
            self.topic = self._topic(alarm_email, retain_key=retain_key)
        else:
            Annotations.of(self).add_warning_v2(
                "visitor-tracker:no-alarm-email",
                "alarm_email is not set: the alarms change state in CloudWatch but notify nobody (docs/deploy.md, "
                "'Alarms'). Set it with -c alarm_email=you@example.com.",
            )
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._alarm(
            "DlqNotEmpty",
            dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=0,
            description=RUNBOOK["DlqNotEmpty"],
        )
        self._alarm(
            "QueueBacklog",
            queue.metric_approximate_age_of_oldest_message(period=Duration.minutes(1), statistic="Maximum"),
            threshold=oldest_message_alarm_seconds,
            description=RUNBOOK["QueueBacklog"],
        )
        if queue_depth_alarm is not None:  # sized for a peak (pipeline/capacity.py): a backlog beyond it
            self._alarm(
                "QueueDepth",
                queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1), statistic="Maximum"),
                threshold=queue_depth_alarm,
                description=RUNBOOK["QueueDepth"],
            )
        self._alarm(
            "WriterErrors",
            writer.metric_errors(period=PERIOD, statistic="Sum"),
            threshold=0,
            description=RUNBOOK["WriterErrors"],
        )
        self._alarm(
            "WriterThrottles",
            writer.metric_throttles(period=PERIOD, statistic="Sum"),
            threshold=0,
            description=RUNBOOK["WriterThrottles"],
        )
        self._alarm(
            "IngestErrors",
            ingest.metric_errors(period=PERIOD, statistic="Sum"),
            threshold=0,
            description=RUNBOOK["IngestErrors"],
        )
        self._alarm(
            "IngestThrottles",
            ingest.metric_throttles(period=PERIOD, statistic="Sum"),
            threshold=0,
            description=RUNBOOK["IngestThrottles"],
        )
        for name in ("Recoveries", "RecoveryFailures"):
            self._alarm(name, self.ingest_metric(name), threshold=0, description=RUNBOOK[name])
        if api_server_errors is not None:
            self._alarm(
                "Api5xx",
                api_server_errors,
                threshold=0,
                description=RUNBOOK["Api5xx"],
            )
        self.dashboard = self._dashboard(ingest, writer, status, queue, dead_letter_queue, api_server_errors)

    def ingest_metric(self, name: str) -> cloudwatch.Metric:
        return ingest_metric(name, namespace=self.metrics_namespace, service=self.service_name)

    def _topic(self, email: str, *, retain_key: bool) -> sns.Topic:
        # CloudWatch cannot publish to a topic encrypted with the AWS managed aws/sns key (its key
        # policy cannot be changed), so the topic gets a small customer managed key, removed with the
        # stack unless the stack retains its data.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            enable_key_rotation=True,
            description="visitor tracker alarms",
            removal_policy=RemovalPolicy.RETAIN if retain_key else RemovalPolicy.DESTROY,
            pending_window=None if retain_key else Duration.days(7),
        )
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True, display_name="Visitor tracker")
        # With enforce_ssl the topic gets an AWS::SNS::TopicPolicy, which replaces SNS's default policy:
        # without this statement nothing allows CloudWatch to publish and every alarm e-mail is lost.
        # Scoped to this account's alarms.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
                    },
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    def _alarm(self, name: str, metric: cloudwatch.IMetric, *, threshold: float, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_name=f"{self.stack_name}-{name}",  # per stack: two trackers in one account stay apart
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        if self.topic is not None:
            alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
            alarm.add_ok_action(cw_actions.SnsAction(self.topic))
        self.alarms[name] = alarm

    def _dashboard(
        self,
        ingest: lambda_.IFunction,
        writer: lambda_.IFunction,
        status: lambda_.IFunction,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        api_server_errors: cloudwatch.IMetric | None,
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        functions = {"ingest": ingest, "writer": writer, "status": status}
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Invocations",
                left=[fn.metric_invocations(period=PERIOD, label=name) for name, fn in functions.items()],
            ),
            cloudwatch.GraphWidget(
                title="Errors / throttles",
                left=[fn.metric_errors(period=PERIOD, label=f"{name} errors") for name, fn in functions.items()]
                + [writer.metric_throttles(period=PERIOD, label="writer throttles")]
                + [ingest.metric_throttles(period=PERIOD, label="ingest throttles")],
                right=[self.ingest_metric("Recoveries"), self.ingest_metric("RecoveryFailures")],
            ),
            cloudwatch.GraphWidget(
                title="Duration p99 (ms)",
                left=[fn.metric_duration(period=PERIOD, statistic="p99", label=name) for name, fn in functions.items()],
            ),
        )
        queue_widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title="Queue",
                left=[
                    queue.metric_approximate_number_of_messages_visible(period=PERIOD, label="visible"),
                    queue.metric_number_of_messages_sent(period=PERIOD, label="sent"),
                ],
                right=[queue.metric_approximate_age_of_oldest_message(period=PERIOD, label="oldest age (s)")],
            ),
            cloudwatch.SingleValueWidget(
                title="DLQ visible messages",
                metrics=[dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD)],
            ),
        ]
        if api_server_errors is not None:
            queue_widgets.append(cloudwatch.GraphWidget(title="API 5xx", left=[api_server_errors]))
        dashboard.add_widgets(*queue_widgets)
        return dashboard
