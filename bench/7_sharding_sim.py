"""Figure 7 — beyond one counter item: a seeded discrete-time simulation of DynamoDB partition limits.

A DynamoDB partition serves at most 1,000 write units/s and 3,000 read units/s. One counter item
therefore caps the tracker at about 1,000 counted visits/s; ingest's sharded counter spreads the
``ADD`` over ``COUNTER_SHARDS`` items and re-reads all shards with one BatchGetItem at most once per
``COUNTER_CACHE_SECONDS`` per warm function. This models each partition's write and read capacity as
a token bucket (refilled every tick; the bucket holds ``burst_seconds`` of unused capacity, 300 s
being DynamoDB's documented burst) and drives visits through that algorithm:

- each visit: 1 write (1 WCU, item < 1 KB) to a shard chosen uniformly at random;
- warm functions = arrival rate x ingest latency (Little's law); each one reads every shard
  (0.5 RCU per item, eventually consistent) once per cache period.

Two key layouts: ``item`` = every shard is its own partition: what ``keys.counter_key`` gives since
commit a753325 (pk ``COUNTER#<n>``); ``shared`` = all shards in one partition: the earlier layout
(pk ``COUNTER``, sk ``SHARD#<n>``), which only spreads load if DynamoDB's split-for-heat happens to
isolate the items. ``counter.read_shards`` reads the shards with one BatchGetItem of N keys: 0.5 RCU
per item (each rounded up to 4 KB), all charged to the one partition in the shared layout.
Pure Python, seeded, about a second.
"""

from __future__ import annotations

import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Result, emit, table  # noqa: E402
from functions.common import definitions as d  # noqa: E402

WCU_PER_PARTITION = 1_000.0
RCU_PER_PARTITION = 3_000.0
DYNAMODB_BURST_SECONDS = 300.0
RCU_PER_ITEM_READ = 0.5  # eventually consistent read of an item up to 4 KB
WCU_PER_WRITE = 1.0  # a counter item is far below 1 KB
SHARD_COUNTS = (1, 8, 16, 32, 64)
CHOSEN_SHARDS = 32
TARGET_RATE = 20_000.0


@dataclass(frozen=True)
class SimConfig:
    rate: float  # visits per second, sustained
    shards: int
    seconds: float = 600.0
    tick: float = 0.1
    burst_seconds: float = DYNAMODB_BURST_SECONDS
    burst_starts_full: bool = True  # traffic arrives after a quiet period (the bucket had time to fill)
    layout: str = "item"  # "item" | "shared"
    cache_seconds: float = d.COUNTER_CACHE_SECONDS
    ingest_latency: float = 0.020  # seconds a warm function is busy per visit
    seed: int = 7


@dataclass(frozen=True)
class SimResult:
    config: SimConfig
    writes: int
    writes_throttled: int
    read_units: float
    read_units_throttled: float
    tail_writes: int  # the last tail_seconds: steady state once any banked burst is spent
    tail_writes_throttled: int
    warm_functions: int

    @property
    def write_throttle_pct(self) -> float:
        return 100.0 * self.writes_throttled / self.writes if self.writes else 0.0

    @property
    def tail_throttle_pct(self) -> float:
        return 100.0 * self.tail_writes_throttled / self.tail_writes if self.tail_writes else 0.0

    @property
    def read_throttle_pct(self) -> float:
        return 100.0 * self.read_units_throttled / self.read_units if self.read_units else 0.0


class TokenBucket:
    """Capacity refilled at ``rate`` per second, holding at most ``burst_seconds`` of it."""

    def __init__(self, rate: float, burst_seconds: float, full: bool) -> None:
        self.rate = rate
        self.capacity = rate * max(burst_seconds, 1.0)  # at least one second: the per-second limit itself
        self.tokens = self.capacity if full else rate

    def take(self, amount: float, elapsed: float) -> float:
        """Refill for ``elapsed`` seconds, then serve ``amount``; returns the part that was throttled."""
        self.tokens = min(self.capacity, self.tokens + self.rate * elapsed)
        if amount <= self.tokens:
            self.tokens -= amount
            return 0.0
        throttled = amount - self.tokens
        self.tokens = 0.0
        return throttled


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: exact (Knuth) for small means, normal approximation above 30."""
    if mean <= 0:
        return 0
    if mean < 30:
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def split_uniform(rng: random.Random, total: int, parts: int) -> list[int]:
    """``total`` visits each sent to one of ``parts`` shards uniformly: a multinomial draw (sums to total).

    Sequential conditional binomials; small counts are drawn visit by visit, large ones through
    the normal approximation.
    """
    counts = [0] * parts
    remaining = total
    for i in range(parts - 1):
        if remaining == 0:
            break
        p = 1.0 / (parts - i)
        if remaining < 50:
            k = sum(1 for _ in range(remaining) if rng.random() < p)
        else:
            k = round(rng.gauss(remaining * p, math.sqrt(remaining * p * (1 - p))))
            k = min(max(k, 0), remaining)
        counts[i] = k
        remaining -= k
    counts[parts - 1] += remaining
    return counts


def warm_functions(rate: float, latency: float) -> int:
    """Concurrent execution environments needed for ``rate`` (Little's law), at least one."""
    return max(1, math.ceil(rate * latency))


def simulate(cfg: SimConfig, tail_seconds: float = 60.0) -> SimResult:
    rng = random.Random(cfg.seed)
    partitions = 1 if cfg.layout == "shared" else cfg.shards
    full = cfg.burst_starts_full
    wbuckets = [TokenBucket(WCU_PER_PARTITION, cfg.burst_seconds, full) for _ in range(partitions)]
    rbuckets = [TokenBucket(RCU_PER_PARTITION, cfg.burst_seconds, full) for _ in range(partitions)]
    warm = warm_functions(cfg.rate, cfg.ingest_latency)
    # Each warm function refreshes once per cache period: BatchGetItem of every shard.
    refreshes_per_tick = warm * cfg.tick / cfg.cache_seconds if cfg.shards > 1 else 0.0
    ticks = round(cfg.seconds / cfg.tick)
    tail_from = ticks - round(tail_seconds / cfg.tick)
    writes = throttled = tail_writes = tail_throttled = 0
    read_units = read_throttled = 0.0
    for t in range(ticks):
        arrivals = poisson(rng, cfg.rate * cfg.tick)
        per_shard = split_uniform(rng, arrivals, cfg.shards)
        refreshes = poisson(rng, refreshes_per_tick)
        if cfg.layout == "shared":
            w_demand = [float(arrivals) * WCU_PER_WRITE]
            # One BatchGetItem of N keys: every item is charged on its own (0.5 RCU each).
            r_demand = [refreshes * cfg.shards * RCU_PER_ITEM_READ]
        else:
            w_demand = [n * WCU_PER_WRITE for n in per_shard]
            r_demand = [refreshes * RCU_PER_ITEM_READ] * cfg.shards
        tick_throttled = 0.0
        for bucket, demand in zip(wbuckets, w_demand, strict=True):
            tick_throttled += bucket.take(demand, cfg.tick)
        for bucket, demand in zip(rbuckets, r_demand, strict=True):
            read_throttled += bucket.take(demand, cfg.tick)
            read_units += demand
        n_throttled = round(tick_throttled / WCU_PER_WRITE)
        writes += arrivals
        throttled += n_throttled
        if t >= tail_from:
            tail_writes += arrivals
            tail_throttled += n_throttled
    return SimResult(cfg, writes, throttled, read_units, read_throttled, tail_writes, tail_throttled, warm)


def staleness_bound(rate: float, shards: int, cache_seconds: float = d.COUNTER_CACHE_SECONDS) -> float:
    """Visits a returned count can miss: other shards' increments since this function's last read."""
    if shards <= 1:
        return 0.0
    return rate * cache_seconds * (shards - 1) / shards


def min_shards(rate: float, headroom: float = 0.8) -> int:
    """Shards needed so each one's mean write rate stays under ``headroom`` of a partition's limit."""
    return max(1, math.ceil(rate * WCU_PER_WRITE / (WCU_PER_PARTITION * headroom)))


def bank_lasts(rate_per_partition: float, limit: float = WCU_PER_PARTITION,
               burst_seconds: float = DYNAMODB_BURST_SECONDS) -> float:
    """Seconds a full burst bank hides an over-limit rate before throttling starts (inf if under)."""
    excess = rate_per_partition - limit
    return math.inf if excess <= 0 else burst_seconds * limit / excess


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    seconds = 30.0 if quick else 120.0
    base = SimConfig(rate=TARGET_RATE, shards=1, seconds=seconds, burst_seconds=1.0, burst_starts_full=False)
    emit(
        f"Figure 7 — counter sharding: seeded token-bucket simulation, {seconds:.0f} s of sustained Poisson traffic,\n"
        f"tick {base.tick} s, per partition {WCU_PER_PARTITION:.0f} WCU/s and {RCU_PER_PARTITION:.0f} RCU/s. "
        f"Throttling is simulated in steady state:\nDynamoDB's {DYNAMODB_BURST_SECONDS:.0f} s burst bank already "
        f"spent (buckets hold 1 s); 'bank lasts' is how long a full bank would\ndelay the first throttle. "
        f"COUNTER_CACHE_SECONDS = {d.COUNTER_CACHE_SECONDS} (functions.common.definitions), ingest latency "
        f"{base.ingest_latency * 1000:.0f} ms.\n"
    )
    rows = []
    results: dict[tuple[int, str], SimResult] = {}
    for layout in ("item", "shared"):
        for shards in SHARD_COUNTS:
            res = simulate(SimConfig(**{**base.__dict__, "shards": shards, "layout": layout}))
            results[(shards, layout)] = res
            per_partition = TARGET_RATE / shards if layout == "item" else TARGET_RATE
            rows.append(
                [
                    f"{shards} ({layout})",
                    per_partition,
                    res.write_throttle_pct,
                    bank_lasts(per_partition),
                    res.read_throttle_pct,
                    staleness_bound(TARGET_RATE, shards),
                ]
            )
    emit(
        table(
            f"{TARGET_RATE:,.0f} visits/s sustained, by COUNTER_SHARDS. item = a partition per shard (keys.counter_key "
            f"today); shared = all shards in one partition\n(the layout before a753325). Warm functions = "
            f"{warm_functions(TARGET_RATE, base.ingest_latency)}, each reading every shard once per cache period.",
            ["shards (layout)", "writes/s per partition", "% writes throttled", "bank lasts (s)",
             "% read units throttled", "staleness bound (visits)"],
            rows,
        )
    )
    one_item = []
    by_rate: dict[float, SimResult] = {}
    for rate in (500.0, 900.0, 1_000.0, 1_100.0, 1_500.0, 2_000.0, 5_000.0):
        res = simulate(SimConfig(**{**base.__dict__, "rate": rate}))
        by_rate[rate] = res
        one_item.append([int(rate), res.write_throttle_pct, bank_lasts(rate)])
    emit(
        "\n"
        + table(
            "Baseline: one counter item (the seed's design), by visit rate",
            ["visits/s", "% writes throttled", "bank lasts (s)"],
            one_item,
        )
    )
    chosen = results[(CHOSEN_SHARDS, "item")]
    emit(
        f"\nShards needed for {TARGET_RATE:,.0f} visits/s at 80% of a partition's write limit: "
        f"{min_shards(TARGET_RATE)}; chosen {CHOSEN_SHARDS} ({TARGET_RATE / CHOSEN_SHARDS:,.0f} writes/s per shard).\n"
        f"Staleness bound of the sharded count: a returned count misses at most the other shards' visits of the "
        f"last\nCOUNTER_CACHE_SECONDS, i.e. <= rate x {d.COUNTER_CACHE_SECONDS} s x (N-1)/N = "
        f"{staleness_bound(TARGET_RATE, CHOSEN_SHARDS):,.0f} visits at {TARGET_RATE:,.0f}/s with N = {CHOSEN_SHARDS} "
        "(one cache period of traffic).\nIt never overcounts and is exact once a read follows the last write by "
        "COUNTER_CACHE_SECONDS.\n"
        "A throttled write is counted once here; the SDK's retries would add load, so non-zero throttled shares\n"
        "are lower bounds.\n"
    )
    shared = results[(CHOSEN_SHARDS, "shared")]
    return [
        Result("7 sharding", f"% writes throttled @20k/s: {CHOSEN_SHARDS} shards vs 1 item",
               round(chosen.write_throttle_pct, 2), round(results[(1, "item")].write_throttle_pct, 2),
               "0 %", chosen.write_throttle_pct == 0.0 and chosen.read_throttle_pct == 0.0),
        Result("7 sharding", "one item: % writes throttled @900/s (ours col.) | @1,100/s (baseline col.)",
               f"{by_rate[900.0].write_throttle_pct:.2f}", f"{by_rate[1_100.0].write_throttle_pct:.2f}",
               "throttles > 1,000/s", by_rate[900.0].write_throttle_pct == 0 < by_rate[1_100.0].write_throttle_pct),
        Result("7 sharding", f"% writes | reads throttled @20k/s, {CHOSEN_SHARDS} shards in ONE partition",
               f"{shared.write_throttle_pct:.2f}", f"{shared.read_throttle_pct:.2f}",
               "needs a partition per shard", None),
    ]


if __name__ == "__main__":
    run("--quick" in sys.argv)
