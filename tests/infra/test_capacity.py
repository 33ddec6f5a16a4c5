"""peak_visits_per_second sizes the writers, the aggregate shards and the queue-depth alarm (issue 24)."""

from __future__ import annotations

import pytest

from pipeline import capacity
from pipeline.config import ContextError, TrackerConfig

from .helpers import Synth, function_props

pytestmark = pytest.mark.xdist_group("infra")


def test_the_peak_derives_the_writers_shards_and_alarm_threshold() -> None:
    config = TrackerConfig(peak_visits_per_second=20_000, ingress="function-url")
    # 20,000 x 1.3 headroom / 450 visits/s per writer; two shards per writer, a power of two
    assert config.writer_concurrency == 58
    assert config.shards == 128
    env = config.function_environment()
    assert (env["AGGREGATE_SHARDS"], env["COUNTER_SHARDS"], env["COUNT_CACHE_SECONDS"]) == ("128", "128", "1")
    assert config.queue_depth_alarm == capacity.queue_depth_alarm(58) == 1_806_923


def test_explicit_settings_override_what_the_peak_derives() -> None:
    config = TrackerConfig(
        peak_visits_per_second=2_000, throttle_rate_limit=2_000, writer_max_concurrency=10, aggregate_shards=16
    )
    assert (config.writer_concurrency, config.shards) == (10, 16)
    assert config.queue_depth_alarm == capacity.queue_depth_alarm(10)
    # counter shards never below the aggregate shards: a writer adds to its own shard's counter
    assert TrackerConfig(aggregate_shards=8, counter_shards=2).function_environment()["COUNTER_SHARDS"] == "8"


def test_a_peak_the_api_throttle_would_refuse_stops_the_synth() -> None:
    with pytest.raises(ContextError, match="raise throttle_rate_limit .* or use ingress=function-url"):
        TrackerConfig(peak_visits_per_second=20_000)  # REST, 100 requests/s: 99.5 % of the peak refused
    assert TrackerConfig(peak_visits_per_second=5_000, throttle_rate_limit=5_000).writer_concurrency == 15


def test_without_a_peak_the_stack_is_as_before() -> None:
    config = TrackerConfig()
    assert (config.writer_concurrency, config.shards, config.queue_depth_alarm) == (5, 1, None)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"peak_visits_per_second": "lots"}, "peak_visits_per_second must be an integer, got 'lots'"),
        ({"peak_visits_per_second": 0}, "peak_visits_per_second must be between 1 and 100000, got 0"),
        ({"aggregate_shards": 129}, "aggregate_shards must be between 1 and 128, got 129"),
    ],
)
def test_bad_sizing_values_stop_the_synth(context: dict[str, object], message: str) -> None:
    with pytest.raises(ContextError, match=message):
        TrackerConfig.from_context(context)


def test_the_synthesized_stack_is_sized_for_the_peak(peak: Synth) -> None:
    mapping = peak.one("AWS::Lambda::EventSourceMapping")
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 58}
    for name in ("ingest", "writer", "status"):
        env = function_props(peak, name)["Environment"]["Variables"]
        assert (env["AGGREGATE_SHARDS"], env["COUNTER_SHARDS"]) == ("128", "128")
    alarms = {k: r["Properties"] for k, r in peak.of_type("AWS::CloudWatch::Alarm").items() if "QueueDepth" in k}
    (alarm,) = alarms.values()
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", capacity.queue_depth_alarm(58))
    assert not peak.nag_violations()
