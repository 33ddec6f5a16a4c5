"""Figure 10 — an hour at 20,000 visits/s after an idle start: today's design beside the new one.

A seeded, one-second-step simulation of the whole pipeline against the limits AWS documents, with
the writer's per-batch cost measured on this project's code (figure 4) and scaled to Lambda's CPU
share and DynamoDB's latencies. Pure Python, a few seconds. The two designs differ only in what
this issue changed: ingest's per-environment count cache (``COUNT_CACHE_SECONDS``), the aggregate
shards (``AGGREGATE_SHARDS``: each writer environment keeps one, moving after a conflict) and the
writer concurrency derived from ``peak_visits_per_second`` (``pipeline/capacity.py``).

Limits used (documented by AWS):

- Lambda scaling: each function can add 1,000 execution environments every 10 seconds, up to the
  account's concurrency (1,000 by default).
  https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
- SQS event source mapping, standard queue: starts with 5 concurrent batches, adds up to 300
  concurrent invocations a minute, at most 1,250 (or the mapping's maximum concurrency).
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
- Lambda CPU: proportional to memory, one full vCPU at 1,769 MB.
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
- DynamoDB partition: 3,000 read units and 1,000 write units a second; 300 s of unused capacity
  kept as burst; an eventually consistent read of up to 4 KB is 0.5 read unit, a transactional
  write 2 write units per KB. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling
- Transaction conflicts: a TransactWriteItems is cancelled when an item it writes is part of
  another transaction in progress.
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling
- API Gateway: 10,000 requests/s per account and region (REST and HTTP APIs together) unless AWS
  raises the quota, and the stage's own throttle (``throttle_rate_limit``, 100/s by default): 20,000
  visits/s need ``ingress=function-url`` (only Lambda's concurrency limits it), which is what both
  columns are priced on. https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
- SQS standard queues: nearly unlimited throughput.
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html

Model of a conflict: an item is held for ``LOCK_MS`` (the whole transaction: conservative) by each
transaction; two writers' transactions on one item overlap when they start within ``LOCK_MS`` of
each other, so with ``k`` other writers on the same items, each doing ``r`` transactions a second,
a transaction conflicts with probability ``1 - exp(-2 k r LOCK_MS)``. Today every transaction
writes the same day, hour, counter and popular-name items (k = every other writer); in the new
design only writers that happen to hold the same shard meet, and a writer that sees a conflict
moves to a random shard. A conflicted attempt is retried after the writer's backoff
(``store.DEFAULT_BACKOFF``); its write units are charged (conservative).
"""

from __future__ import annotations

import importlib
import math
import random
import sys
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Result, emit, table  # noqa: E402
from pipeline import capacity  # noqa: E402

_sharding = importlib.import_module("bench.7_sharding_sim")
_cost = importlib.import_module("bench.8_cost")
TokenBucket, poisson = _sharding.TokenBucket, _sharding.poisson

RATE = 20_000.0
IDLE_SECONDS = 60  # before the spike: nothing warm, every burst bank full
SPIKE_SECONDS = 3_600
AFTER_SECONDS = 3_600  # watched after the spike (a queue not drained by then is reported as such)
REPORT_EVERY = 300

# Lambda (documented limits above)
LAMBDA_NEW_ENVIRONMENTS_PER_10S = 1_000
ACCOUNT_CONCURRENCY = 1_000
ESM_START_CONCURRENCY = 5
ESM_ADD_PER_MINUTE = 300
ESM_MAX_CONCURRENCY = 1_250
FULL_VCPU_MB = 1_769
WRITER_MEMORY_MB = 512  # pipeline/functions.py
INGEST_SECONDS = 0.025  # warm ingest: one counter read (or none) and SendMessage, figure 8's assumption
# DynamoDB (documented limits above)
RCU_PER_PARTITION = 3_000.0
WCU_PER_PARTITION = 1_000.0
BURST_SECONDS = 300.0
RCU_PER_READ = 0.5
WRU_PER_ITEM = 2.0  # transactional, items under 1 KB
# Per-batch costs: figure 4 (this project's writer on DynamoDB Local) unless run_all hands its own.
RECORDS_PER_CPU_SECOND = 2_470.0  # figure 4a on this machine (docs/performance.md)
TRANSACTIONS_PER_BATCH = 2.0  # figure 4a: 3 calls per 100 records, the sketch write being the third
AGGREGATE_ITEMS_PER_TRANSACTION = 14  # day, hour, counter + the name packs a realistic batch touches
WRU_PER_BATCH = 250.0  # figure 4b (REST, 100 records, 30 pages): log Puts + aggregates + sketch
# DynamoDB's latencies: single-digit milliseconds per item operation; a transaction is two phases.
DYNAMODB_ITEM_MS = 8.0
TRANSACTION_MS = 2 * DYNAMODB_ITEM_MS + 8.0  # prepare + commit of ~50 items, with the round trips
LOCK_MS = TRANSACTION_MS
INVOKE_OVERHEAD_MS = 10.0
BACKOFF_MEAN_MS = 25.0  # store.DEFAULT_BACKOFF: full jitter over 50 ms, then 100 ms, ...
BATCH = 100
INGRESS = "function URL"  # API Gateway's default account quota (10,000 requests/s) is below the spike


@dataclass(frozen=True)
class Design:
    name: str
    count_cache_seconds: float | None  # None: ingest reads the counter for every visit
    writers: int  # the event source mapping's maximum concurrency
    shards: int  # aggregate shards (and counter shards) the writers spread over
    counter_shards: int


@dataclass
class Outcome:
    design: Design
    visits: int = 0
    ingest_throttled: int = 0
    counter_reads: int = 0
    counter_reads_throttled: int = 0
    transactions: int = 0
    conflicts: int = 0
    write_units_throttled: float = 0.0
    writer_seconds: float = 0.0
    drained_after: float | None = None  # seconds after the spike's end; None: not within AFTER_SECONDS
    max_depth: int = 0
    max_age: int = 0
    timeline: list[list[object]] = field(default_factory=list)
    cost: float = 0.0

    @property
    def conflict_pct(self) -> float:
        return 100.0 * self.conflicts / self.transactions if self.transactions else 0.0


def batch_seconds(records_per_cpu_second: float = RECORDS_PER_CPU_SECOND) -> float:
    """One batch of 100 in a warm writer: CPU at the function's vCPU share, its calls, the invoke."""
    cpu = BATCH / records_per_cpu_second / (WRITER_MEMORY_MB / FULL_VCPU_MB)
    calls = TRANSACTIONS_PER_BATCH * TRANSACTION_MS + DYNAMODB_ITEM_MS + INVOKE_OVERHEAD_MS
    return cpu + calls / 1000


def conflict_probability(others: int, tx_per_second: float) -> float:
    """A transaction meets one of ``others`` writers' transactions on a shared item."""
    return 1.0 - math.exp(-2.0 * others * tx_per_second * LOCK_MS / 1000)


class Writers:
    """The mapping's writer environments, each holding an aggregate shard."""

    def __init__(self, design: Design, rng: random.Random) -> None:
        self.design, self.rng = design, rng
        self.shards: list[int] = []
        self.limit = 0

    def scale(self, backlog: int, minute_fraction: float) -> None:
        cap = min(self.design.writers, ESM_MAX_CONCURRENCY)
        if backlog == 0:
            self.limit = 0
        elif self.limit == 0:
            self.limit = min(cap, ESM_START_CONCURRENCY)
        else:
            self.limit = min(cap, self.limit + round(ESM_ADD_PER_MINUTE * minute_fraction))
        wanted = min(self.limit, math.ceil(backlog / BATCH))
        while len(self.shards) < wanted:
            self.shards.append(self.rng.randrange(self.design.shards))
        del self.shards[wanted:]

    def second(self, batch_s: float) -> tuple[float, float, int]:
        """One second of every writer busy: (visits they can count, transaction attempts, conflicts
        drawn); a writer that saw a conflict moves to another shard."""
        groups: dict[int, int] = {}
        for s in self.shards:
            groups[s] = groups.get(s, 0) + 1
        visits = attempts_total = 0.0
        conflicts_total = 0
        for i, shard in enumerate(self.shards):
            tx_rate = TRANSACTIONS_PER_BATCH / batch_s
            p = min(conflict_probability(groups[shard] - 1, tx_rate), 0.99)
            # Each conflicted attempt costs the transaction and a backoff pause before the retry.
            retry_s = p / (1 - p) * (TRANSACTION_MS + BACKOFF_MEAN_MS) / 1000
            per_batch = batch_s + TRANSACTIONS_PER_BATCH * retry_s
            attempts = TRANSACTIONS_PER_BATCH / per_batch / (1 - p)
            conflicts = poisson(self.rng, attempts * p)
            attempts_total += attempts
            conflicts_total += conflicts
            visits += BATCH / per_batch
            if conflicts and self.design.shards > 1:
                self.shards[i] = self.rng.randrange(self.design.shards)
        return visits, attempts_total, conflicts_total


def simulate(design: Design, seed: int = 10, rate: float = RATE, batch_s: float | None = None) -> Outcome:
    rng = random.Random(seed)
    out = Outcome(design)
    batch_s = batch_s or batch_seconds()
    read_bucket = TokenBucket(RCU_PER_PARTITION, BURST_SECONDS, True)  # the busiest counter shard's partition
    write_bucket = TokenBucket(WCU_PER_PARTITION, BURST_SECONDS, True)  # the busiest aggregate partition
    queue: deque[list[int]] = deque()  # [second enqueued, visits]
    depth = 0
    ingest_envs = window_added = 0
    writers = Writers(design, rng)
    end = IDLE_SECONDS + SPIKE_SECONDS
    for t in range(end + AFTER_SECONDS):
        arrivals = poisson(rng, rate) if IDLE_SECONDS <= t < end else 0
        # Ingest: environments added at most 1,000 per 10 s, up to the account's concurrency.
        if t % 10 == 0:
            window_added = 0
        needed = math.ceil(arrivals * INGEST_SECONDS)
        add = min(
            max(0, needed - ingest_envs),
            LAMBDA_NEW_ENVIRONMENTS_PER_10S - window_added,
            ACCOUNT_CONCURRENCY - ingest_envs - len(writers.shards),
        )
        ingest_envs, window_added = ingest_envs + max(0, add), window_added + max(0, add)
        served = min(arrivals, int(ingest_envs / INGEST_SECONDS))
        out.ingest_throttled += arrivals - served
        out.visits += served
        # Counter reads: per visit (today) or per environment per cache interval (new).
        if design.count_cache_seconds is None:
            reads = served
        else:
            reads = min(served, math.ceil(ingest_envs / design.count_cache_seconds))
        out.counter_reads += reads * design.counter_shards
        throttled_units = read_bucket.take(reads * RCU_PER_READ, 1.0)
        out.counter_reads_throttled += round(throttled_units / RCU_PER_READ) * design.counter_shards
        if served:
            queue.append([t, served])
            depth += served
        # Writers: the mapping scales while there is a backlog, then count what they can.
        writers.scale(depth, 1 / 60)
        capacity_visits, attempts, conflicts = writers.second(batch_s) if writers.shards else (0.0, 0.0, 0)
        tx = capacity_visits / BATCH * TRANSACTIONS_PER_BATCH
        demand = tx / max(1, min(design.shards, len(writers.shards) or 1)) * AGGREGATE_ITEMS_PER_TRANSACTION
        throttled = write_bucket.take(demand * WRU_PER_ITEM, 1.0)
        out.write_units_throttled += throttled
        if demand:
            capacity_visits *= 1 - throttled / (demand * WRU_PER_ITEM)
        done = min(depth, int(capacity_visits))
        # Writers work (and bill) only for the batches there are: scale this second by their use.
        used = done / capacity_visits if capacity_visits else 0.0
        out.writer_seconds += len(writers.shards) * used
        out.transactions += round(attempts * used)
        out.conflicts += round(conflicts * used)
        depth -= done
        while done and queue:
            take = min(done, queue[0][1])
            queue[0][1] -= take
            done -= take
            if not queue[0][1]:
                queue.popleft()
        age = t - queue[0][0] if queue else 0
        out.max_depth, out.max_age = max(out.max_depth, depth), max(out.max_age, age)
        if t >= IDLE_SECONDS and (t - IDLE_SECONDS) % REPORT_EVERY == 0:
            out.timeline.append([f"{(t - IDLE_SECONDS) // 60} min", depth, age, len(writers.shards)])
        if t >= end and depth == 0 and out.drained_after is None:
            out.drained_after = float(t - end)
            break
    out.cost = hour_cost(out, batch_s)
    return out


def hour_cost(out: Outcome, batch_s: float) -> float:
    """Dollars for the hour: figure 8's per-visit prices with this run's reads, writer time and retries."""
    w = replace(
        _cost.Workload(),
        batch_wru=WRU_PER_BATCH,
        ours_counter_rru=out.counter_reads / max(1, out.visits) * RCU_PER_READ,
        writer_ms_per_batch=out.writer_seconds * 1000 / max(1.0, out.visits / BATCH),
    )
    per_visit = sum(_cost.ours_per_visit(w, ingress=INGRESS).values())
    conflicted_wru = out.conflicts * (WRU_PER_BATCH / TRANSACTIONS_PER_BATCH)
    return out.visits * per_visit + conflicted_wru * _cost.PRICES.wru_per_m / 1e6


def designs() -> tuple[Design, Design]:
    """Today's stack defaults, and the stack sized for 20,000 visits/s (``peak_visits_per_second``)."""
    writers = capacity.writer_concurrency(int(RATE))
    shards = capacity.aggregate_shards(writers)
    today = Design("today", None, writers=5, shards=1, counter_shards=1)
    new = Design("new", 1.0, writers=writers, shards=shards, counter_shards=shards)
    return today, new


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    m = measured or {}
    batch_s = batch_seconds(m.get("writer_records_per_cpu_s", RECORDS_PER_CPU_SECOND))
    today, new = designs()
    a, b = simulate(today, batch_s=batch_s), simulate(new, batch_s=batch_s)
    emit(
        f"Figure 10 — {RATE:,.0f} visits/s for {SPIKE_SECONDS // 60} minutes after {IDLE_SECONDS} s idle "
        f"(seeded simulation, 1 s steps).\nWriter batch of {BATCH}: {batch_s * 1000:.0f} ms "
        f"({RECORDS_PER_CPU_SECOND if 'writer_records_per_cpu_s' not in m else m['writer_records_per_cpu_s']:,.0f} "
        f"records per CPU-s at {WRITER_MEMORY_MB} MB's vCPU share, {TRANSACTIONS_PER_BATCH:.0f} transactions of "
        f"{TRANSACTION_MS:.0f} ms, a {DYNAMODB_ITEM_MS:.0f} ms sketch write).\n"
        f"today: counter read per visit, {today.writers} writers, 1 aggregate shard; new: count cached "
        f"{new.count_cache_seconds:.0f} s per ingest environment, {new.writers} writers "
        f"(peak_visits_per_second=20000), {new.shards} aggregate shards.\n"
    )
    rows = []
    for x, y in zip(a.timeline, b.timeline, strict=False):
        rows.append([x[0], x[1], x[2], x[3], y[1], y[2], y[3]])
    emit(
        table(
            "Queue over the spike (every 5 minutes)",
            ["time", "today depth", "today oldest (s)", "today writers", "new depth", "new oldest (s)", "new writers"],
            rows,
        )
    )

    def drained(o: Outcome) -> object:
        return o.drained_after if o.drained_after is not None else f"> {AFTER_SECONDS}"

    summary = [
        ["visits accepted", a.visits, b.visits],
        ["ingest requests throttled", a.ingest_throttled, b.ingest_throttled],
        ["counter item reads", a.counter_reads, b.counter_reads],
        ["counter reads throttled", a.counter_reads_throttled, b.counter_reads_throttled],
        ["counting transactions", a.transactions, b.transactions],
        ["% transactions conflicting", a.conflict_pct, b.conflict_pct],
        ["aggregate write units throttled", a.write_units_throttled, b.write_units_throttled],
        ["largest queue depth", a.max_depth, b.max_depth],
        ["oldest message, worst (s)", a.max_age, b.max_age],
        ["drained after the spike (s)", drained(a), drained(b)],
        ["cost of the hour ($)", a.cost, b.cost],
    ]
    emit("\n" + table("The hour, side by side", ["", "today", "new"], summary))
    emit(f"Priced on {INGRESS} ingress (a REST API would add $3.50 per million visits, and needs a quota raise).")
    emit(f"Cost per million visits: today ${a.cost / a.visits * 1e6:.2f}, new ${b.cost / b.visits * 1e6:.2f}.\n")
    drain_ok = b.drained_after is not None and b.drained_after <= 300
    return [
        Result(
            "10 spike",
            "counter reads throttled @20k/s for an hour",
            b.counter_reads_throttled,
            a.counter_reads_throttled,
            "0",
            b.counter_reads_throttled == 0,
        ),
        Result(
            "10 spike",
            "% counting transactions conflicting",
            round(b.conflict_pct, 3),
            round(a.conflict_pct, 1),
            "< 1 %",
            b.conflict_pct < 1.0,
        ),
        Result("10 spike", "s to drain the queue after the spike", drained(b), drained(a), "<= 300", drain_ok),  # type: ignore[arg-type]
        Result("10 spike", "$ for the hour (72M visits)", round(b.cost, 2), round(a.cost, 2), "reported", None),
    ]


if __name__ == "__main__":
    run("--quick" in sys.argv)
