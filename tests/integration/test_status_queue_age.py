"""/status reports the age of the oldest queued message from SQS's CloudWatch metric, cheaply."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3

from functions.core import aws as aws_clients
from functions.status.handler import handler as status_handler
from tests.support.access import signed
from tests.support.events import rest_event
from tests.support.pipeline import FakeContext
from visitor_tracker.resources import PipelineResources


def _status() -> dict:
    response = status_handler(signed(rest_event("/status")), FakeContext())
    assert response["statusCode"] == 200
    return json.loads(response["body"])


def _publish_age(queue_url: str, seconds: float, when: datetime) -> None:
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": queue_url.rsplit("/", 1)[-1]}],
                "Timestamp": when,
                "Value": seconds,
                "Unit": "Seconds",
            }
        ],
    )


def test_age_is_null_without_a_datapoint(pipeline_resources: PipelineResources) -> None:
    assert _status()["oldest_message_age_seconds"] is None


def test_age_comes_from_the_newest_datapoint_and_is_read_once_a_minute(
    pipeline_resources: PipelineResources,
) -> None:
    # GIVEN the queue's metric with an older and a newer datapoint
    now = datetime.now(UTC)
    _publish_age(pipeline_resources.queue_url, 30, now - timedelta(minutes=3))
    _publish_age(pipeline_resources.queue_url, 95, now - timedelta(seconds=30))
    calls: list[str] = []
    aws_clients.cloudwatch().meta.events.register(
        "before-call.cloudwatch.GetMetricData", lambda **_: calls.append("GetMetricData")
    )
    # WHEN /status is read three times
    ages = [_status()["oldest_message_age_seconds"] for _ in range(3)]
    # THEN it reports the newest datapoint, and CloudWatch was asked once (cached for a minute)
    assert ages == [95, 95, 95]
    assert calls == ["GetMetricData"]


def test_a_failing_metric_read_does_not_fail_status(pipeline_resources: PipelineResources) -> None:
    def fail(**_: object) -> None:
        raise RuntimeError("injected CloudWatch outage")

    aws_clients.cloudwatch().meta.events.register("before-call.cloudwatch.GetMetricData", fail)
    body = _status()
    assert body["oldest_message_age_seconds"] is None
    assert body["visitor_count"] == 0
