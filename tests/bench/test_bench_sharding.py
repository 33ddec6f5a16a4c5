"""The sharding simulation (bench/7_sharding_sim.py) models the partition limits it claims to model."""

from __future__ import annotations

import importlib.util
import math
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    path = ROOT / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sim = _load("7_sharding_sim")


def test_token_bucket_throttles_only_what_exceeds_the_refill() -> None:
    bucket = sim.TokenBucket(rate=1000.0, burst_seconds=1.0, full=False)
    assert bucket.take(100.0, 0.1) == 0.0  # within one second's capacity
    # A full second of refill, then a demand 200 over it: exactly 200 throttled.
    bucket.tokens = 0.0
    assert bucket.take(1200.0, 1.0) == pytest.approx(200.0)


def test_full_burst_bank_absorbs_a_spike_a_spent_one_does_not() -> None:
    full = sim.TokenBucket(rate=1000.0, burst_seconds=300.0, full=True)
    spent = sim.TokenBucket(rate=1000.0, burst_seconds=300.0, full=False)
    assert full.take(50_000.0, 0.1) == 0.0
    assert spent.take(50_000.0, 0.1) > 40_000.0


def test_split_uniform_conserves_visits_and_is_even_on_average() -> None:
    rng = random.Random(1)
    totals = [0] * 8
    for _ in range(500):
        parts = sim.split_uniform(rng, 2000, 8)
        assert sum(parts) == 2000 and min(parts) >= 0
        totals = [a + b for a, b in zip(totals, parts, strict=True)]
    assert max(totals) / min(totals) < 1.02
    assert sum(sim.split_uniform(rng, 7, 4)) == 7  # the exact small-count path too


def test_poisson_mean_is_right_for_small_and_large_means() -> None:
    rng = random.Random(2)
    for mean in (3.0, 2000.0):
        draws = [sim.poisson(rng, mean) for _ in range(4000)]
        assert sum(draws) / len(draws) == pytest.approx(mean, rel=0.03)
    assert sim.poisson(rng, 0.0) == 0


def test_the_counter_is_written_once_per_transaction_not_per_visit() -> None:
    base = dict(shards=1, seconds=20.0, burst_seconds=1.0, burst_starts_full=False)
    res = sim.simulate(sim.SimConfig(rate=20_000.0, visits_per_write=50.0, **base))
    assert res.writes / res.visits == pytest.approx(1 / 50, rel=0.05)
    assert res.writes_throttled == 0  # 400 writes/s x 2 WRU fit one partition


def test_one_item_throttles_writes_above_its_write_limit_and_not_below() -> None:
    base = dict(shards=1, seconds=20.0, burst_seconds=1.0, burst_starts_full=False, visits_per_write=1.0)
    assert sim.simulate(sim.SimConfig(rate=400.0, **base)).writes_throttled == 0
    over = sim.simulate(sim.SimConfig(rate=1000.0, **base))  # 2,000 WRU/s against 1,000
    assert over.write_throttle_pct == pytest.approx(50.0, abs=3.0)


def test_every_visit_reads_every_shard_so_shards_do_not_raise_the_read_limit() -> None:
    base = dict(seconds=60.0, burst_seconds=1.0, burst_starts_full=False)
    under = sim.simulate(sim.SimConfig(rate=5_000.0, shards=32, **base))
    assert under.read_units_throttled == 0 and under.writes_throttled == 0
    for shards in (1, 32):
        over = sim.simulate(sim.SimConfig(rate=12_000.0, shards=shards, **base))  # 6,000 RCU/s per partition
        assert over.read_throttle_pct == pytest.approx(50.0, abs=3.0)
    shared = sim.simulate(sim.SimConfig(rate=5_000.0, shards=32, layout="shared", **base))
    assert shared.read_throttle_pct > 90  # one partition serves 32 items per visit


def test_simulation_is_seeded() -> None:
    cfg = sim.SimConfig(rate=1500.0, shards=1, seconds=5.0, burst_seconds=1.0, burst_starts_full=False)
    assert sim.simulate(cfg) == sim.simulate(cfg)


def test_staleness_read_limit_and_shard_count_arithmetic() -> None:
    assert sim.staleness_bound(20_000.0, 2.0) == 40_000.0
    assert sim.min_shards(20_000.0, headroom=0.8, visits_per_write=50.0) == 1
    assert sim.min_shards(20_000.0, headroom=0.8, visits_per_write=1.0) == 50
    assert sim.max_read_rate() == 6_000.0 and sim.max_read_rate(32) == 6_000.0
    assert sim.max_read_rate(32, "shared") == pytest.approx(187.5)
    assert sim.bank_lasts(2000.0) == pytest.approx(300.0)
    assert math.isinf(sim.bank_lasts(900.0))


def test_the_count_cache_makes_the_reads_one_per_environment_and_interval() -> None:
    # 20,000 visits/s keep about 500 ingest environments busy: 500 reads a second, not 20,000
    assert sim.max_read_rate(count_cache_seconds=1.0) == pytest.approx(240_000.0)
    base = {"seconds": 20.0, "burst_seconds": 1.0, "burst_starts_full": False, "shards": 8}
    per_visit = sim.simulate(sim.SimConfig(rate=20_000.0, **base))
    cached = sim.simulate(sim.SimConfig(rate=20_000.0, count_cache_seconds=1.0, **base))
    assert per_visit.read_throttle_pct > 60.0
    assert cached.read_throttle_pct == 0.0
    assert cached.read_units == pytest.approx(per_visit.read_units * 0.025, rel=0.05)
