"""Figure 7 — beyond one counter item: a seeded discrete-time simulation of DynamoDB partition limits.

A DynamoDB partition serves at most 1,000 write units/s and 3,000 read units/s. The counter is now
written only by the writer, once per counting transaction (an ``ADD`` of the chunk's visits to one
shard chosen at random, 2 WRU: transactional, item < 1 KB), not once per visit; ingest reads it for
every visit (GetItem of the one shard, or one BatchGetItem of all ``COUNTER_SHARDS``: 0.5 RCU per
item, eventually consistent). This models each partition's write and read capacity as a token
bucket (refilled every tick; the bucket holds ``burst_seconds`` of unused capacity, 300 s being
DynamoDB's documented burst) and drives that traffic through it:

- counter writes: visits / ``visits_per_write`` per second (figure 4: 2 transactions per batch of
  100, so 50 visits per write), each to a uniformly random shard;
- counter reads: every visit reads every shard once.

Two key layouts: ``item`` = every shard is its own partition (``keys.counter_key``: pk
``COUNTER#<n>``); ``shared`` = all shards in one partition (pk ``COUNTER``, sk ``SHARD#<n>``, the
layout before a753325). The day and hour aggregate items take one ADD per transaction too (pk
``AGG#DAY`` / ``AGG#HOUR``): the same load as a 1-shard counter's writes. Pure Python, seeded,
about a second.
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

WCU_PER_PARTITION = 1_000.0
RCU_PER_PARTITION = 3_000.0
DYNAMODB_BURST_SECONDS = 300.0
RCU_PER_ITEM_READ = 0.5  # eventually consistent read of an item up to 4 KB
WCU_PER_WRITE = 2.0  # a transactional write of an item far below 1 KB
VISITS_PER_WRITE = 50.0  # figure 4: a batch of 100 records is 2 counting transactions
PIPELINE_DELAY_SECONDS = 2.0  # queue + batching window + transaction: what an answered count may miss
SHARD_COUNTS = (1, 8, 16, 32, 64)
CHOSEN_SHARDS = 32
TARGET_RATE = 20_000.0
INGEST_SECONDS = 0.025  # a warm ingest request: at rate r, about r x 0.025 environments are busy
STACK_COUNT_CACHE_SECONDS = 1.0  # the stack's count_cache_seconds: one read per environment per second


@dataclass(frozen=True)
class SimConfig:
    rate: float  # visits per second, sustained
    shards: int
    seconds: float = 600.0
    tick: float = 0.1
    burst_seconds: float = DYNAMODB_BURST_SECONDS
    burst_starts_full: bool = True  # traffic arrives after a quiet period (the bucket had time to fill)
    layout: str = "item"  # "item" | "shared"
    visits_per_write: float = VISITS_PER_WRITE  # visits counted by one writer transaction
    count_cache_seconds: float | None = None  # None: every visit reads the counter (COUNT_CACHE_SECONDS=0)
    seed: int = 7


@dataclass(frozen=True)
class SimResult:
    config: SimConfig
    visits: int
    writes: int  # counter writes (one per writer transaction)
    writes_throttled: int
    read_units: float
    read_units_throttled: float
    tail_writes: int  # the last tail_seconds: steady state once any banked burst is spent
    tail_writes_throttled: int

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


def simulate(cfg: SimConfig, tail_seconds: float = 60.0) -> SimResult:
    rng = random.Random(cfg.seed)
    partitions = 1 if cfg.layout == "shared" else cfg.shards
    full = cfg.burst_starts_full
    wbuckets = [TokenBucket(WCU_PER_PARTITION, cfg.burst_seconds, full) for _ in range(partitions)]
    rbuckets = [TokenBucket(RCU_PER_PARTITION, cfg.burst_seconds, full) for _ in range(partitions)]
    ticks = round(cfg.seconds / cfg.tick)
    tail_from = ticks - round(tail_seconds / cfg.tick)
    visits = writes = throttled = tail_writes = tail_throttled = 0
    read_units = read_throttled = 0.0
    for t in range(ticks):
        arrivals = poisson(rng, cfg.rate * cfg.tick)
        reads = float(arrivals)
        if cfg.count_cache_seconds is not None:  # one read per busy ingest environment per interval
            reads = min(reads, cfg.rate * INGEST_SECONDS / cfg.count_cache_seconds * cfg.tick)
        transactions = poisson(rng, cfg.rate * cfg.tick / cfg.visits_per_write)
        per_shard = split_uniform(rng, transactions, cfg.shards)
        if cfg.layout == "shared":
            w_demand = [float(transactions) * WCU_PER_WRITE]
            # One BatchGetItem of N keys per visit: every item is charged on its own (0.5 RCU each).
            r_demand = [reads * cfg.shards * RCU_PER_ITEM_READ]
        else:
            w_demand = [n * WCU_PER_WRITE for n in per_shard]
            r_demand = [reads * RCU_PER_ITEM_READ] * cfg.shards  # every read reads every shard
        tick_throttled = 0.0
        for bucket, demand in zip(wbuckets, w_demand, strict=True):
            tick_throttled += bucket.take(demand, cfg.tick)
        for bucket, demand in zip(rbuckets, r_demand, strict=True):
            read_throttled += bucket.take(demand, cfg.tick)
            read_units += demand
        n_throttled = round(tick_throttled / WCU_PER_WRITE)
        visits += arrivals
        writes += transactions
        throttled += n_throttled
        if t >= tail_from:
            tail_writes += transactions
            tail_throttled += n_throttled
    return SimResult(cfg, visits, writes, throttled, read_units, read_throttled, tail_writes, tail_throttled)


def staleness_bound(rate: float, delay_seconds: float = PIPELINE_DELAY_SECONDS) -> float:
    """Visits an answered count can miss: the others still on their way through queue and writer."""
    return rate * delay_seconds


def min_shards(rate: float, headroom: float = 0.8, visits_per_write: float = VISITS_PER_WRITE) -> int:
    """Shards needed so each one's mean counter write rate stays under ``headroom`` of a partition's limit."""
    return max(1, math.ceil(rate / visits_per_write * WCU_PER_WRITE / (WCU_PER_PARTITION * headroom)))


def max_read_rate(shards: int = 1, layout: str = "item", count_cache_seconds: float | None = None) -> float:
    """Visits/s the counter reads sustain: every read reads each shard (0.5 RCU), so a partition per
    shard does not raise it; all shards in one partition lower it N-fold. Without the count cache
    every visit reads; with it, each busy ingest environment once per interval."""
    per_visit = RCU_PER_ITEM_READ * (shards if layout == "shared" else 1)
    if count_cache_seconds is not None:
        per_visit *= INGEST_SECONDS / count_cache_seconds
    return RCU_PER_PARTITION / per_visit


def bank_lasts(rate_per_partition: float, limit: float = WCU_PER_PARTITION,
               burst_seconds: float = DYNAMODB_BURST_SECONDS) -> float:
    """Seconds a full burst bank hides an over-limit rate before throttling starts (inf if under)."""
    excess = rate_per_partition - limit
    return math.inf if excess <= 0 else burst_seconds * limit / excess


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    seconds = 30.0 if quick else 120.0
    visits_per_write = VISITS_PER_WRITE
    if measured and measured.get("writer_calls_per_100"):
        # figure 4's calls per 100 records, less the sketch UpdateItem: the counting transactions
        visits_per_write = 100.0 / max(1.0, measured["writer_calls_per_100"] - 1.0)
    base = SimConfig(rate=TARGET_RATE, shards=1, seconds=seconds, burst_seconds=1.0, burst_starts_full=False,
                     visits_per_write=visits_per_write)
    emit(
        f"Figure 7 — counter sharding: seeded token-bucket simulation, {seconds:.0f} s of sustained Poisson traffic,\n"
        f"tick {base.tick} s, per partition {WCU_PER_PARTITION:.0f} WCU/s and {RCU_PER_PARTITION:.0f} RCU/s. "
        f"Throttling is simulated in steady state:\nDynamoDB's {DYNAMODB_BURST_SECONDS:.0f} s burst bank already "
        f"spent (buckets hold 1 s); 'bank lasts' is how long a full bank would\ndelay the first throttle. "
        f"The counter is written once per writer transaction ({visits_per_write:.0f} visits per write, "
        f"{WCU_PER_WRITE:.0f} WRU), read by every visit.\n"
    )
    rows = []
    results: dict[tuple[int, str], SimResult] = {}
    for layout in ("item", "shared"):
        for shards in SHARD_COUNTS:
            res = simulate(SimConfig(**{**base.__dict__, "shards": shards, "layout": layout}))
            results[(shards, layout)] = res
            writes_per_s = TARGET_RATE / visits_per_write
            per_partition = writes_per_s / shards if layout == "item" else writes_per_s
            rows.append(
                [
                    f"{shards} ({layout})",
                    per_partition,
                    res.write_throttle_pct,
                    bank_lasts(per_partition * WCU_PER_WRITE),
                    res.read_throttle_pct,
                    max_read_rate(shards, layout),
                ]
            )
    emit(
        table(
            f"{TARGET_RATE:,.0f} visits/s sustained, by COUNTER_SHARDS. item = a partition per shard (keys.counter_key "
            f"today); shared = all shards in one partition\n(the layout before a753325).",
            ["shards (layout)", "counter writes/s per partition", "% writes throttled", "bank lasts (s)",
             "% read units throttled", "visits/s the reads sustain"],
            rows,
        )
    )
    one_item = []
    by_rate: dict[float, SimResult] = {}
    for rate in (1_000.0, 5_000.0, 6_000.0, 7_000.0, 20_000.0, 30_000.0):
        res = simulate(SimConfig(**{**base.__dict__, "rate": rate}))
        by_rate[rate] = res
        one_item.append([int(rate), rate / visits_per_write, res.write_throttle_pct, res.read_throttle_pct])
    emit(
        "\n"
        + table(
            "One counter item (COUNTER_SHARDS=1), by visit rate",
            ["visits/s", "counter writes/s", "% writes throttled", "% read units throttled"],
            one_item,
        )
    )
    chosen = results[(CHOSEN_SHARDS, "item")]
    emit(
        f"\nShards the counter writes need for {TARGET_RATE:,.0f} visits/s at 80% of a partition's write limit: "
        f"{min_shards(TARGET_RATE, visits_per_write=visits_per_write)} (the day and hour items take the same "
        "one write per transaction).\n"
        f"Reads: when each visit reads every shard, {max_read_rate():,.0f} visits/s saturate a shard's "
        "partition whatever COUNTER_SHARDS is;\n"
        f"with the stack's count cache (one read per busy ingest environment per {STACK_COUNT_CACHE_SECONDS:.0f} s, "
        f"COUNT_CACHE_SECONDS) they sustain {max_read_rate(count_cache_seconds=STACK_COUNT_CACHE_SECONDS):,.0f}.\n"
        "An answered count misses at most the visits still in the pipeline and those of the cache's interval: "
        f"about rate x ({PIPELINE_DELAY_SECONDS:.0f} + {STACK_COUNT_CACHE_SECONDS:.0f}) s = "
        f"{staleness_bound(TARGET_RATE, PIPELINE_DELAY_SECONDS + STACK_COUNT_CACHE_SECONDS):,.0f} at "
        f"{TARGET_RATE:,.0f}/s; it never overcounts.\n"
        "A throttled request is counted once here; the SDK's retries would add load, so non-zero throttled shares\n"
        "are lower bounds.\n"
    )
    one = results[(1, "item")]
    cached = simulate(SimConfig(**{**base.__dict__, "shards": CHOSEN_SHARDS,
                                   "count_cache_seconds": STACK_COUNT_CACHE_SECONDS}))
    sustained = max_read_rate(count_cache_seconds=STACK_COUNT_CACHE_SECONDS)
    return [
        Result("7 sharding", f"% counter writes throttled @20k/s: {CHOSEN_SHARDS} shards vs 1 item",
               round(chosen.write_throttle_pct, 2), round(one.write_throttle_pct, 2), "0 %",
               chosen.write_throttle_pct == 0.0),
        Result("7 sharding", f"% counter read units throttled @20k/s: {CHOSEN_SHARDS} shards, count cached 1 s "
               "vs 1 item read per visit", round(cached.read_throttle_pct, 2), round(one.read_throttle_pct, 2),
               "0 %", cached.read_throttle_pct == 0.0),
        Result("7 sharding", "visits/s ingest's counter reads sustain: count cached 1 s vs read per visit",
               sustained, max_read_rate(), f">= {TARGET_RATE:,.0f}", sustained >= TARGET_RATE),
    ]


if __name__ == "__main__":
    run("--quick" in sys.argv)
