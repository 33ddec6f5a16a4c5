"""Alarms per failure mode, the optional encrypted e-mail topic, and the dashboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.core import definitions as d
from pipeline.monitoring import RUNBOOK

from .helpers import Synth, function_id, function_props, logical_id

PROJECT_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.xdist_group("infra")


def _alarms(synth: Synth) -> dict[str, dict[str, Any]]:
    """Alarms by the construct name in their logical id (DlqNotEmpty, WriterErrors, ...)."""
    found = {}
    for key, res in synth.of_type("AWS::CloudWatch::Alarm").items():
        name = key.removeprefix("Monitoring")[:-8]  # drop the construct prefix and the hash
        found[name] = res["Properties"]
    return found


def test_alarm_set_per_ingress(rest: Synth, http: Synth, function_url: Synth) -> None:
    base = {
        "DlqNotEmpty",
        "QueueBacklog",
        "WriterErrors",
        "WriterThrottles",
        "IngestErrors",
        "IngestThrottles",
        "Recoveries",
        "RecoveryFailures",
    }
    assert set(_alarms(rest)) == base | {"Api5xx"}
    assert set(_alarms(http)) == base | {"Api5xx"}
    assert set(_alarms(function_url)) == base  # no gateway, no 5xx metric of its own


def test_dlq_alarm_fires_on_any_visible_message(rest: Synth) -> None:
    alarm = _alarms(rest)["DlqNotEmpty"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Namespace"] == "AWS/SQS"
    dlq_id = logical_id(rest, "AWS::SQS::Queue", "DeadLetterQueue")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_queue_backlog_alarm_on_oldest_message_age(rest: Synth) -> None:
    alarm = _alarms(rest)["QueueBacklog"]
    assert alarm["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert alarm["Threshold"] == 600
    assert logical_id(rest, "AWS::SQS::Queue", "VisitQueue") in json.dumps(alarm["Dimensions"])


@pytest.mark.parametrize(("alarm", "metric"), [("WriterErrors", "Errors"), ("WriterThrottles", "Throttles")])
def test_writer_alarms(rest: Synth, alarm: str, metric: str) -> None:
    props = _alarms(rest)[alarm]
    assert props["MetricName"] == metric and props["Namespace"] == "AWS/Lambda"
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id(rest, "writer")}}]
    assert props["Threshold"] == 0


def test_api_5xx_alarms(rest: Synth, http: Synth) -> None:
    rest_alarm = _alarms(rest)["Api5xx"]
    assert (rest_alarm["Namespace"], rest_alarm["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    http_alarm = _alarms(http)["Api5xx"]
    assert (http_alarm["Namespace"], http_alarm["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert logical_id(http, "AWS::ApiGatewayV2::Api", "") in json.dumps(http_alarm["Dimensions"])


def test_no_topic_without_alarm_email(rest: Synth) -> None:
    assert not rest.of_type("AWS::SNS::Topic")
    assert all("AlarmActions" not in alarm for alarm in _alarms(rest).values())


def test_alarm_email_topic_is_encrypted_tls_only_and_wired(rest_keyed: Synth) -> None:
    # GIVEN alarm_email=ops@example.com
    topic_id = logical_id(rest_keyed, "AWS::SNS::Topic", "AlarmTopic")
    topic = rest_keyed.resources[topic_id]["Properties"]
    key_id = logical_id(rest_keyed, "AWS::KMS::Key", "AlarmTopicKey")
    # THEN the topic is encrypted with a rotating key CloudWatch may use
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = rest_keyed.resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    cloudwatch_statements = [
        st for st in key["KeyPolicy"]["Statement"] if st["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch_statements and set(cloudwatch_statements[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    # AND refuses non-TLS publishing
    policy = rest_keyed.one("AWS::SNS::TopicPolicy")
    denies = [st for st in policy["PolicyDocument"]["Statement"] if st["Effect"] == "Deny"]
    assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # AND e-mails the address, and every alarm notifies the topic
    subscription = rest_keyed.one("AWS::SNS::Subscription")
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")
    for alarm in _alarms(rest_keyed).values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["OKActions"] == [{"Ref": topic_id}]


def test_cloudwatch_may_publish_to_the_topic_for_this_accounts_alarms_only(rest_keyed: Synth) -> None:
    # An AWS::SNS::TopicPolicy replaces SNS's default policy: CloudWatch must be allowed explicitly
    policy = rest_keyed.one("AWS::SNS::TopicPolicy")
    topic_id = logical_id(rest_keyed, "AWS::SNS::Topic", "AlarmTopic")
    assert policy["Topics"] == [{"Ref": topic_id}]
    (allow,) = [st for st in policy["PolicyDocument"]["Statement"] if st["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish" and allow["Resource"] == {"Ref": topic_id}
    account = {"Ref": "AWS::AccountId"}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": account}
    source = allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert source == [
        "arn:",
        {"Ref": "AWS::Partition"},
        ":cloudwatch:",
        {"Ref": "AWS::Region"},
        ":",
        account,
        ":alarm:*",
    ]


def test_the_alarm_key_follows_the_stack_removal_policy(rest_keyed: Synth, rest_all: Synth) -> None:
    kept = rest_keyed.resources[logical_id(rest_keyed, "AWS::KMS::Key", "AlarmTopicKey")]
    assert kept["DeletionPolicy"] == "Retain"
    destroyed = rest_all.resources[logical_id(rest_all, "AWS::KMS::Key", "AlarmTopicKey")]
    assert destroyed["DeletionPolicy"] == "Delete" and destroyed["Properties"]["PendingWindowInDays"] == 7
    dlq = rest_all.resources[logical_id(rest_all, "AWS::SQS::Queue", "DeadLetterQueue")]
    assert dlq["DeletionPolicy"] == "Delete"  # removal_policy=destroy: the failed visits go too


def test_two_trackers_in_one_account_have_distinct_alarms_and_metrics(rest: Synth, function_url: Synth) -> None:
    names = {
        synth.stack.stack_name: {a["AlarmName"] for a in _alarms(synth).values()} for synth in (rest, function_url)
    }
    assert names["VisitorTracker"] == {f"VisitorTracker-{name}" for name in _alarms(rest)}
    assert names["DocsTracker"] == {f"DocsTracker-{name}" for name in _alarms(function_url)}
    assert not names["VisitorTracker"] & names["DocsTracker"]
    ours = _alarms(rest)["Recoveries"]
    theirs = _alarms(function_url)["Recoveries"]
    assert (ours["Namespace"], theirs["Namespace"]) == ("VisitorTracker/VisitorTracker", "VisitorTracker/DocsTracker")
    assert ours["Dimensions"] != theirs["Dimensions"]


def test_no_alarm_email_is_a_synthesis_warning(rest: Synth, rest_keyed: Synth) -> None:
    def warnings(synth: Synth) -> str:
        return (synth.outdir / f"{synth.stack.stack_name}.metadata.json").read_text()

    assert "visitor-tracker:no-alarm-email" in warnings(rest)
    assert "visitor-tracker:no-alarm-email" not in warnings(rest_keyed)


def test_dashboard_covers_functions_queues_and_api(rest: Synth, function_url: Synth) -> None:
    body = json.dumps(rest.one("AWS::CloudWatch::Dashboard")["DashboardBody"])
    for fn in ("ingest", "writer", "status"):
        assert function_id(rest, fn) in body
    for queue in ("VisitQueue", "DeadLetterQueue"):
        assert logical_id(rest, "AWS::SQS::Queue", queue) in body
    assert "5XXError" in body
    assert "5XXError" not in json.dumps(function_url.one("AWS::CloudWatch::Dashboard")["DashboardBody"])


@pytest.mark.parametrize(("alarm", "metric"), [("IngestErrors", "Errors"), ("IngestThrottles", "Throttles")])
def test_ingest_alarms(rest: Synth, function_url: Synth, alarm: str, metric: str) -> None:
    for synth in (rest, function_url):
        props = _alarms(synth)[alarm]
        assert props["MetricName"] == metric and props["Namespace"] == "AWS/Lambda"
        assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id(synth, "ingest")}}]
        assert (props["ComparisonOperator"], props["Threshold"], props["Statistic"]) == (
            "GreaterThanThreshold",
            0,
            "Sum",
        )


@pytest.mark.parametrize("alarm", ["Recoveries", "RecoveryFailures"])
def test_loss_path_alarms_watch_the_metric_ingest_emits(rest: Synth, alarm: str) -> None:
    # GIVEN the metric as Powertools emits it (namespace, service dimension) from ingest's code
    props = _alarms(rest)[alarm]
    env = function_props(rest, "ingest")["Environment"]["Variables"]
    assert (props["Namespace"], props["MetricName"]) == (env["POWERTOOLS_METRICS_NAMESPACE"], alarm)
    assert props["Dimensions"] == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == f"{d.METRICS_NAMESPACE}/VisitorTracker"
    # THEN one such event in 5 minutes fires it; no data is no loss
    assert (props["Statistic"], props["Period"], props["Threshold"]) == ("Sum", 300, 0)
    assert props["TreatMissingData"] == "notBreaching"
    # AND ingest really emits a metric of that name (the alarm cannot watch a name nobody writes)
    source = (PROJECT_ROOT / "functions" / "ingest" / "service.py").read_text()
    assert f'"{alarm}"' in source


def test_every_alarm_says_what_to_do(rest_keyed: Synth) -> None:
    for name, props in _alarms(rest_keyed).items():
        assert props["AlarmDescription"] == RUNBOOK[name]
    docs = (PROJECT_ROOT / "docs" / "deploy.md").read_text()
    for name in RUNBOOK:
        assert f"`{name}`" in docs, f"docs/deploy.md does not say what to do when {name} fires"
