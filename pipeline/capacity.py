"""Sizing for a target peak rate: writer concurrency, aggregate shards and queue alarm thresholds.

Pure arithmetic (no CDK), shared by the stack (``pipeline/config.py``) and figure 10
(``bench/10_spike.py``), whose simulation of a 20,000 visits/s hour is where the numbers come from:

- one writer environment (512 MB, about 0.29 vCPU) folds and counts a batch of 100 visits in about
  200 ms (figure 4's CPU per record scaled to its vCPU share, plus 3 DynamoDB calls at published
  latencies), so it sustains about ``WRITER_VISITS_PER_SECOND`` visits/s;
- the writers are given ``HEADROOM`` over the peak, so a queue built while they scale up drains;
- every writer environment keeps its own aggregate shard (day, hour, counter and name-tally items of
  that shard) and moves to another one after a transaction conflict, so there must be more shards
  than writers for conflicts to stay rare: ``SHARDS_PER_WRITER`` of them, a power of two.
"""

from __future__ import annotations

import math
from typing import Final

WRITER_VISITS_PER_SECOND: Final = 450
HEADROOM: Final = 1.3
SHARDS_PER_WRITER: Final = 2
MAX_SHARDS: Final = 128
MIN_WRITERS: Final = 2
QUEUE_DRAIN_SECONDS: Final = 300  # the backlog writers at full concurrency must clear within this


def writer_concurrency(peak_visits_per_second: int) -> int:
    """Writers needed to keep up with the peak, with headroom to drain what built up meanwhile."""
    return max(MIN_WRITERS, math.ceil(peak_visits_per_second * HEADROOM / WRITER_VISITS_PER_SECOND))


def aggregate_shards(writers: int) -> int:
    """Aggregate shards for that many writers: a power of two, at least ``SHARDS_PER_WRITER`` per writer."""
    if writers <= 1:
        return 1
    return min(MAX_SHARDS, 1 << math.ceil(math.log2(writers * SHARDS_PER_WRITER)))


def queue_depth_alarm(writers: int) -> int:
    """Messages the writers clear in ``QUEUE_DRAIN_SECONDS`` beyond the arrivals: a backlog above it is
    one they cannot catch up with in time at the peak (it is what the headroom buys)."""
    spare = writers * WRITER_VISITS_PER_SECOND * (1 - 1 / HEADROOM)
    return max(1_000, round(spare * QUEUE_DRAIN_SECONDS))
