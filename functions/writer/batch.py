"""Write one SQS batch of visits: each visit logged and counted exactly once, in one transaction.

Order of work for a batch (the handler adapts the SQS event, this module does the rest):

1. parse every body; a body that is not a valid visit fails alone (it will reach the DLQ);
2. drop repeated visit ids inside the batch (they share the fate of their first copy);
3. fold the visits into aggregate deltas (``functions.common.aggregates``), names beyond the day's
   caps redirected to ``(other)`` (``KnownNames``: one Query of the day's name partition when this
   environment does not know it yet, or at most once a minute when a new name must be decided);
4. count with ``TransactWriteItems``, the batch halved until each chunk fits in its 100 actions:
   each visit's log item as a conditional Put (the exactly-once guard: no item with its key yet),
   one ADD per aggregate item the chunk touches, one ADD to a counter shard. The cancellation
   reasons say which actions failed, by index: a log Put whose condition failed is a visit
   logged and counted by an earlier delivery (dropped, the rest retried at once); conflicts and
   throttling are retried after a backoff pause; anything else fails the chunk's records;
5. merge the visitors into this environment's uniques sketch shard: one conditional UpdateItem
   (optimistic locking), outside the counting transaction, so losing a race on a sketch never
   fails or delays a count. A sketch write that keeps losing keeps its visitors for the next batch
   of this environment (the merge is idempotent): the estimate converges, the counts never wait.

Calls per 100 records in the steady state: 2 ``TransactWriteItems`` (100 log Puts + the aggregate
items of a realistic mix) + 1 sketch ``UpdateItem`` = 3; a cold environment adds the Query.
Write units: a log item is written once (2 WRU per KB, transactional, guard included); an
aggregate update is charged on its own small item, so it costs what the batch touches, never
what the day already holds.

A record fails (and is redelivered by SQS) when its visit could not be counted after the retries;
why is logged with its message id and recorded in a ``FAILURE`` item for the CLI.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from functions.common import aggregates, aggstore, aws, counter, keys, store, visitlog
from functions.common.aggregates import Delta, ItemKey, Uniques
from functions.common.definitions import QUEUE, TABLE
from functions.common.hll import Sketch
from functions.common.logitem import to_log_item
from functions.common.observability import logger
from functions.common.visit import InvalidVisit, Visit, utc_now

MAX_TRANSACT_ACTIONS = store.TRANSACT_MAX
KNOWN_DAYS_KEPT = 6  # periods: a few days, their months, all time
NAMES_REFRESH_SECONDS = 60.0
SKETCH_ATTEMPTS = 4
FAILURE_TTL_DAYS = QUEUE.dlq_retention_days


@dataclass(frozen=True)
class Message:
    """The part of an SQS record the writer needs."""

    message_id: str
    body: str


@dataclass
class BatchOutcome:
    """What became of a batch: failed message ids with their reason, and counts for metrics."""

    failed: dict[str, str] = field(default_factory=dict)
    written: int = 0  # records whose visit is logged and counted (now or by an earlier delivery)
    counted: int = 0  # visits logged and counted by this batch
    counted_in_total: int = 0  # of those, visits that add to visitor_count (humans, or bots with COUNT_BOTS)
    bots: int = 0  # automated visits logged by this batch
    duplicates: int = 0  # records already counted (earlier delivery) or repeated in the batch
    uniques_deferred: int = 0  # visitors kept for a later sketch write (the sketch kept losing races)
    visit_ids: dict[str, str] = field(default_factory=dict)  # message id -> visit id (correlation)


@dataclass
class _Day:
    loaded_at: float
    packs: dict[tuple[str, str], int] = field(default_factory=dict)  # (dim, name) -> its pack
    sizes: dict[tuple[str, int], int] = field(default_factory=dict)  # (dim, pack) -> names in it

    def place(self, dim: str, name: str, pack: int) -> None:
        if (dim, name) not in self.packs:
            self.packs[(dim, name)] = pack
            self.sizes[(dim, pack)] = self.sizes.get((dim, pack), 0) + 1

    def held(self, dim: str) -> int:
        return sum(1 for d, n in self.packs if d == dim and n != aggregates.OTHER)

    def open_pack(self, dim: str) -> int:
        """The pack a new name goes to: the last one, or a fresh one once it is full."""
        last = max((p for d, p in self.sizes if d == dim), default=0)
        return last if self.sizes.get((dim, last), 0) < aggregates.PACK_NAMES else last + 1


Loaded = dict[tuple[str, str], int]


class KnownNames:
    """Per execution environment: the names each day's tallies hold and the pack each is in.

    They decide the caps and keep a name in the pack it first landed in. A day is loaded with one
    Query of its name partition (which also returns the uniques sketches, handed to the writer); it is
    reloaded only when a name not known yet must be placed and the last load is older than
    ``NAMES_REFRESH_SECONDS``. Names this writer places are added locally. A failed load admits the
    name (the cap is approximate; nothing is lost).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._days: dict[str, _Day] = {}

    def _day(self, day: str, load: Callable[[str], Loaded | None], *, fresh: bool) -> _Day:
        entry = self._days.get(day)
        if entry is None or (fresh and self._clock() - entry.loaded_at >= NAMES_REFRESH_SECONDS):
            loaded = load(day) or {}
            new = _Day(self._clock())
            for (dim, name), pack_index in sorted(loaded.items(), key=lambda kv: kv[1]):
                new.place(dim, name, pack_index)
            for (dim, name), pack_index in (entry.packs if entry else {}).items():
                new.place(dim, name, pack_index)
            self._days[day] = entry = new
            for old in sorted(self._days)[:-KNOWN_DAYS_KEPT]:
                del self._days[old]
        return entry

    def admitted(self, day: str, dim: str, name: str, load: Callable[[str], Loaded | None]) -> bool:
        entry = self._day(day, load, fresh=False)
        if (dim, name) in entry.packs:
            return True
        entry = self._day(day, load, fresh=True)
        if (dim, name) in entry.packs:
            return True
        if entry.held(dim) < aggregates.cap(day, dim):
            entry.place(dim, name, entry.open_pack(dim))
            return True
        return False

    def slot(self, day: str, dim: str, name: str, load: Callable[[str], Loaded | None]) -> int:
        """The pack of an admitted name (placing it in the open pack when new)."""
        entry = self._day(day, load, fresh=False)
        if (dim, name) not in entry.packs:
            entry.place(dim, name, entry.open_pack(dim))
        return entry.packs[(dim, name)]

    def clear(self) -> None:
        self._days.clear()


class SketchShards:
    """Per execution environment: its uniques shard, the last version it knows of each day's
    sketch, and visitors still to be merged (a write that kept losing)."""

    def __init__(self, shard: int | None = None) -> None:
        self.shard = random.randrange(aggregates.UNIQUES_SHARDS) if shard is None else shard
        self.known: dict[ItemKey, Uniques] = {}
        self.pending: dict[str, set[str]] = {}

    def clear(self) -> None:
        self.known.clear()
        self.pending.clear()


KNOWN = KnownNames()
SKETCHES = SketchShards()


class BatchWriter:
    """Writes batches to one table; ``browser_of`` / ``agent_of`` name user agents for the tallies."""

    def __init__(
        self,
        table_name: str,
        log_ttl_days: int,
        browser_of: Callable[[str], str],
        agent_of: Callable[[str], str],
        *,
        device_of: Callable[[str], str] | None = None,
        os_of: Callable[[str], str] | None = None,
        counter_shards: int = 1,
        known: KnownNames = KNOWN,
        sketches: SketchShards = SKETCHES,
        backoff: store.Backoff = store.DEFAULT_BACKOFF,
    ) -> None:
        self.table_name = table_name
        self.log_ttl_days = log_ttl_days
        self.browser_of = browser_of
        self.agent_of = agent_of
        self.device_of = device_of
        self.os_of = os_of
        self.counter_shards = counter_shards
        self.known = known
        self.sketches = sketches
        self.backoff = backoff

    # --- the whole batch ------------------------------------------------------------------

    def write(self, messages: Sequence[Message]) -> BatchOutcome:
        outcome = BatchOutcome()
        by_visit: dict[str, list[str]] = {}  # visit id -> message ids carrying it
        visits: list[Visit] = []
        for message in messages:
            try:
                visit = Visit.from_json(message.body)
            except InvalidVisit as exc:
                outcome.failed[message.message_id] = f"invalid visit: {exc}"
                logger.warning("Invalid visit record", extra={"message_id": message.message_id, "reason": str(exc)})
                continue
            outcome.visit_ids[message.message_id] = visit.visit_id
            if visit.visit_id in by_visit:
                outcome.duplicates += 1
            else:
                visits.append(visit)
            by_visit.setdefault(visit.visit_id, []).append(message.message_id)

        counted, already, reasons = self._count(visits)
        outcome.counted = len(counted)
        outcome.counted_in_total = sum(1 for v in counted if v.counted)
        outcome.bots = sum(1 for v in counted if v.is_bot)
        outcome.duplicates += len(already)
        for visit in visits:
            for message_id in by_visit[visit.visit_id]:
                if visit.visit_id in reasons:
                    outcome.failed[message_id] = reasons[visit.visit_id]
                else:
                    outcome.written += 1
        # Visitors of earlier deliveries too: a sketch write lost with a crashed environment is
        # redone by the redelivery (merging the same visitors again changes nothing).
        outcome.uniques_deferred = self._merge_uniques(counted + already)
        if outcome.failed:
            self._record_failures(outcome.failed)
        return outcome

    # --- counting ---------------------------------------------------------------------------

    def _deltas(self, visits: Iterable[Visit]) -> list[Delta]:
        """The batch's updates: day, hour and the packs of the (capped) names it brings."""
        deltas = aggregates.fold(
            visits, self.browser_of, self.agent_of, device_of=self.device_of, os_of=self.os_of
        ).values()
        capped = aggregates.merge_deltas(aggregates.capped(d, self._admitted) for d in deltas)
        return aggregates.pack(capped, self._slot)

    def _admitted(self, day: str, dim: str, name: str) -> bool:
        return self.known.admitted(day, dim, name, self._load_names)

    def _slot(self, day: str, dim: str, name: str) -> int:
        return self.known.slot(day, dim, name, self._load_names)

    def _load_names(self, day: str) -> Loaded | None:
        """The day's name partition: where each name is packed, and its sketches' versions for step 5."""
        try:
            items = aggstore.read_names(self.table_name, day, profile=aws.WRITER)
        except store.AWS_ERRORS as exc:
            logger.warning("Could not read the day's names", extra={"error": store.error_code(exc), "day": day})
            return None
        placed: Loaded = {}
        if keys.is_day(day):
            mine = aggstore.uniques_shard_key(day, self.sketches.shard)
            self.sketches.known[mine] = Uniques()  # absent from the partition: not written yet (version 0)
        for item in items:
            key = aggregates.key_tuple(item)
            parts = aggregates.split_name_key(key)
            if parts is not None and parts[2].isdigit():
                for name in aggregates.pack_names(item):
                    placed.setdefault((parts[1], name), int(parts[2]))
            elif key[1].startswith(aggregates.UNIQUES + "#"):
                self.sketches.known[key] = aggregates.read_uniques(item)
        return placed

    def _count(self, visits: Sequence[Visit]) -> tuple[list[Visit], list[Visit], dict[str, str]]:
        """Log and count the visits; return (counted now, counted before, {visit id: failure reason})."""
        counted: list[Visit] = []
        already: list[Visit] = []
        failed: dict[str, str] = {}
        for chunk, deltas in self._chunks(visits):
            now, before, reason = self._count_chunk(chunk, deltas)
            counted.extend(now)
            already.extend(before)
            done = {v.visit_id for v in now} | {v.visit_id for v in before}
            for visit in chunk:
                if visit.visit_id not in done:
                    failed[visit.visit_id] = reason or "not counted"
        return counted, already, failed

    def _chunks(self, visits: Sequence[Visit]) -> list[tuple[list[Visit], list[Delta]]]:
        """The batch in chunks whose transaction fits (log Puts, aggregate updates, one counter shard),
        each with its updates: halved until it fits, so a batch costs a few folds, not one per visit."""
        fitted: list[tuple[list[Visit], list[Delta]]] = []
        pending = [list(visits)]
        while pending:
            chunk = pending.pop()
            deltas = self._deltas(chunk)
            if len(chunk) == 1 or len(chunk) + len(deltas) + 1 <= MAX_TRANSACT_ACTIONS:
                fitted.append((chunk, deltas))
            else:
                middle = len(chunk) // 2
                pending += [chunk[middle:], chunk[:middle]]  # the first half is counted first
        return fitted

    def _actions(self, visits: Sequence[Visit], deltas: Sequence[Delta]) -> list[dict[str, object]]:
        """The chunk's transaction: the log Puts first (their indexes are the visits'), then the rest."""
        actions: list[dict[str, object]] = [
            visitlog.put_new_action(self.table_name, to_log_item(v, self.log_ttl_days)) for v in visits
        ]
        actions += [aggstore.update_action(self.table_name, d) for d in deltas]
        in_total = sum(1 for v in visits if v.counted)
        if in_total:
            shard = random.randrange(self.counter_shards)
            actions.append(counter.increment_action(self.table_name, shard, in_total))
        return actions

    def _count_chunk(
        self, chunk: Sequence[Visit], deltas: Sequence[Delta]
    ) -> tuple[list[Visit], list[Visit], str | None]:
        """One chunk's transaction, retried; return (counted now, counted before, failure reason)."""
        pending = list(chunk)
        already: list[Visit] = []
        attempt = 0
        while pending:
            try:
                codes = store.transact(self._actions(pending, deltas))
            except store.AWS_ERRORS as exc:
                logger.error("Counting transaction failed", extra={"error": store.error_code(exc)})
                return [], already, f"counting transaction failed: {store.error_code(exc)}"
            if codes is None:
                return pending, already, None
            duplicates = {v.visit_id for v, code in zip(pending, codes, strict=False) if code == store.CONDITION_FAILED}
            if duplicates:
                # Logged and counted by an earlier delivery: drop them, retry the rest at once.
                already.extend(v for v in pending if v.visit_id in duplicates)
                pending = [v for v in pending if v.visit_id not in duplicates]
                deltas = self._deltas(pending)
                continue
            causes = sorted({c for c in codes if c not in ("None", store.CONDITION_FAILED)})
            if not causes or not set(causes) <= store.RETRYABLE_CANCELLATIONS:
                logger.error("Counting transaction cancelled", extra={"reasons": causes})
                return [], already, f"counting transaction cancelled: {', '.join(causes) or 'unknown'}"
            attempt += 1
            if attempt >= self.backoff.attempts:
                logger.error("Counting transaction kept failing", extra={"reasons": causes, "attempts": attempt})
                return [], already, f"counting transaction retries exhausted: {', '.join(causes)}"
            logger.info("Counting transaction retried", extra={"reasons": causes, "attempt": attempt})
            self.backoff.pause(attempt - 1)
        return [], already, None

    # --- unique visitors --------------------------------------------------------------------

    def _merge_uniques(self, visits: Sequence[Visit]) -> int:
        """Merge the visitors into this environment's sketch shard; return how many wait for later."""
        by_day = aggregates.visitors_by_day(visits)
        for day, members in self.sketches.pending.items():
            by_day.setdefault(day, set()).update(members)
        self.sketches.pending = {}
        deferred = 0
        for day, members in sorted(by_day.items()):
            if not self._merge_day(day, members):
                self.sketches.pending[day] = members
                deferred += len(members)
        return deferred

    def _merge_day(self, day: str, members: set[str]) -> bool:
        key = aggstore.uniques_shard_key(day, self.sketches.shard)
        addition = Sketch.of(members)
        read = self.sketches.known.get(key)
        try:
            for _ in range(SKETCH_ATTEMPTS):
                if read is None:
                    read = aggstore.read_sketch(self.table_name, key)
                merged = read.sketch.merge(addition)
                if merged == read.sketch and read.version:
                    self.sketches.known[key] = read
                    return True  # nothing new for this shard: no write, no cost
                if aggstore.write_sketch(
                    self.table_name, key, merged.to_bytes(), read.version, aggregates.uniques_expires_at(day)
                ):
                    self.sketches.known[key] = Uniques(sketch=merged, version=read.version + 1)
                    return True
                read = None  # another writer wrote this shard since: read it again and merge on top
        except store.AWS_ERRORS as exc:
            logger.warning("Uniques sketch not written", extra={"error": store.error_code(exc), "day": day})
            self.sketches.known.pop(key, None)
            return False
        self.sketches.known.pop(key, None)
        logger.warning("Uniques sketch kept changing: visitors kept for the next batch", extra={"day": day})
        return False

    # --- failures ---------------------------------------------------------------------------

    def _record_failures(self, failed: dict[str, str]) -> None:
        """Best effort: why each message failed, for ``visitor-tracker dlq list``."""
        expires = int((utc_now() + timedelta(days=FAILURE_TTL_DAYS)).timestamp())
        items = [
            dict(
                keys.failure_key(message_id),
                reason={"S": reason[:1000]},
                at={"S": utc_now().isoformat()},
                **{TABLE.ttl_attribute: {"N": str(expires)}},
            )
            for message_id, reason in failed.items()
        ]
        # One try, no waiting: the records are failing anyway, the reason is a nicety for the CLI.
        if store.put_items(self.table_name, items, store.Backoff(attempts=1)):
            logger.warning("Could not record every failure reason", extra={"count": len(items)})


def reset_state() -> None:
    """Forget the per-environment caches (tests: a fresh table)."""
    KNOWN.clear()
    SKETCHES.clear()

