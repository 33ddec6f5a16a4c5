"""Volume on DynamoDB Local: many batches of one day through the real writer (moto copies the whole
table per transaction action, so volumes like these run on AWS's own emulator only)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support import tables
from tests.support.pipeline import drain_queue, make_visit, send_visits
from visitor_tracker.resources import PipelineResources

NOW = datetime.now(UTC).replace(second=30, microsecond=0)

pytestmark = pytest.mark.parametrize("dynamodb_backend", ["dynamodb-local"], indirect=True)


def test_the_uniques_sketch_keeps_a_fixed_size_and_counts_repeat_visitors_once(
    pipeline_resources: PipelineResources,
) -> None:
    # GIVEN 1,200 visits of 400 visitors (each three times), in 12 batches
    send_visits(pipeline_resources, [make_visit(when=NOW, visitor=f"u{i % 400}") for i in range(1200)])
    assert drain_queue(pipeline_resources).failures == []
    # THEN the estimate is within the sketch's error, and no sketch item outgrows 2 KB of registers
    assert abs(tables.uniques(pipeline_resources, NOW) - 400) <= 400 * 0.07
    sketches = [i for i in tables.names(pipeline_resources, NOW) if i["sk"]["S"].startswith("u#")]
    assert sketches and all(len(bytes(i["registers"]["B"])) <= 2048 for i in sketches)
