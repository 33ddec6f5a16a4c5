"""Local mode's event source mapping publishes the queue's oldest-message age, as SQS does in AWS,
and /status reads it."""

from __future__ import annotations

import json
import time

import boto3

from functions.status.handler import handler as status_handler
from functions.writer.handler import handler as writer_handler
from tests.support.access import signed
from tests.support.events import rest_event
from tests.support.pipeline import FakeContext, make_visit, send_visits
from visitor_tracker.local.esm import SqsEventSourceMapping
from visitor_tracker.resources import PipelineResources


def test_the_age_of_a_waiting_visit_reaches_status(pipeline_resources: PipelineResources) -> None:
    # GIVEN a visit that has waited on the queue for over a second
    send_visits(pipeline_resources, [make_visit(visit_id="waiting-1")])
    time.sleep(1.2)
    esm = SqsEventSourceMapping(
        boto3.client("sqs"),
        queue_url=pipeline_resources.queue_url,
        queue_arn=pipeline_resources.queue_arn,
        region="us-east-1",
        handler=writer_handler,
        batching_window_seconds=0,
        cloudwatch=boto3.client("cloudwatch"),
    )
    # WHEN the event source mapping takes it
    assert esm.poll_once() == 1
    # THEN /status reports its age (whole seconds), and the queue is empty
    body = json.loads(status_handler(signed(rest_event("/status")), FakeContext())["body"])
    assert body["oldest_message_age_seconds"] >= 1
    assert body["queue_depth"] == 0
    # AND an empty queue publishes 0 (when due), which is what a drained queue looks like
    assert esm.publish_age([], force=True) == 0.0
