"""Write one SQS batch of visits: each visit logged and counted exactly once, in one transaction.

Order of work for a batch (the handler adapts the SQS event, this module does the rest):

1. parse every body; a body that is not a valid visit fails alone (it will reach the DLQ);
2. drop repeated visit ids inside the batch (they share the fate of their first copy);
3. fold the visits into aggregate deltas (``functions.model.fold``), names beyond the day's
   caps redirected to ``(other)`` (``functions.writer.names``: one Query of the day's name partition when this
   environment does not know it yet, or at most once a minute when a new name must be decided);
4. count with ``TransactWriteItems``, the batch halved until each chunk fits in its 100 actions:
   each visit's log item as a conditional Put (the exactly-once guard: no item with its key yet),
   one ADD per aggregate item the chunk touches, one ADD to a counter shard. The cancellation
   reasons say which actions failed, by index: a log Put whose condition failed is a visit
   logged and counted by an earlier delivery (dropped, the rest retried at once); conflicts and
   throttling are retried after a backoff pause; anything else fails the chunk's records. With
   ``AGGREGATE_SHARDS`` > 1 the aggregate and counter ADDs go to this environment's shard
   (``functions.writer.shard``), and a conflict moves it to another before the retry;
5. merge the visitors into this environment's uniques sketch shard (``functions.writer.uniques``),
   outside the counting transaction, so losing a race on a sketch never fails or delays a count.

Calls per 100 records in the steady state: 2 ``TransactWriteItems`` (100 log Puts + the aggregate
items of a realistic mix) + 1 sketch ``UpdateItem`` = 3; a cold environment adds the Query.
Write units: a log item is written once (2 WRU per KB, transactional, guard included); an
aggregate update is charged on its own small item, so it costs what the batch touches, never
what the day already holds.

A record fails (and is redelivered by SQS) when its visit could not be counted after the retries;
why is logged with its message id and recorded in a ``FAILURE`` item for the CLI
(``functions.tables.failures``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field, replace

from functions.core import aws
from functions.core.goals import Goal
from functions.core.observability import logger
from functions.model import fold, keys, layout
from functions.model.attrs import Uniques, pack_names, read_uniques
from functions.model.fold import Delta, Namers
from functions.model.keys import key_tuple
from functions.model.visit import InvalidVisit, Visit
from functions.tables import aggstore, counter, failures, store, visitlog
from functions.tables.visitlog import to_log_item
from functions.writer.names import KNOWN, KnownNames, Loaded
from functions.writer.shard import SHARD, AggregateShard
from functions.writer.uniques import SKETCHES, SketchShards

MAX_TRANSACT_ACTIONS = store.TRANSACT_MAX


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
class BatchWriter:
    """Writes batches to one table; ``namers`` name user agents for the tallies. ``known`` and
    ``sketches`` are this environment's (tests give each simulated environment its own)."""

    table_name: str
    log_ttl_days: int
    namers: Namers
    _: KW_ONLY
    counter_shards: int = 1
    aggregate_shards: int = 1
    shard: AggregateShard = SHARD
    known: KnownNames = KNOWN
    sketches: SketchShards = SKETCHES
    backoff: store.Backoff = store.DEFAULT_BACKOFF
    goals: tuple[Goal, ...] = ()  # completions counted in the day item, converters sketched (step 5)
    site: str | None = None  # the site whose items this writer writes (None: the default site)
    # The lake (functions.lake.sink.appender): rows of every counted visit, now or before; a reason fails them.
    lake: Callable[[Sequence[Visit]], str | None] | None = None

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

        counted: list[Visit] = []
        already: list[Visit] = []
        reasons: dict[str, str] = {}
        for site, of_site in _by_site(visits).items():
            writer = self.for_site(site)
            now, before, failed = writer._count(of_site)
            counted += now
            already += before
            reasons.update(failed)
            # Visitors of earlier deliveries too: a sketch write lost with a crashed environment is
            # redone by the redelivery (merging the same visitors again changes nothing).
            outcome.uniques_deferred += writer.sketches.merge(self.table_name, now + before, self.goals)
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
        lake_failure = self.lake(counted + already) if self.lake is not None else None
        for visit in counted + already if lake_failure else ():
            for message_id in by_visit[visit.visit_id]:
                outcome.failed[message_id] = lake_failure or ""
                outcome.written -= 1
        if outcome.failed and not failures.record_failures(self.table_name, outcome.failed):
            logger.warning("Could not record every failure reason", extra={"count": len(outcome.failed)})
        return outcome

    def for_site(self, site: str | None) -> BatchWriter:
        """This writer for a site's own items (each site has its own names and sketches)."""
        if site == self.site:
            return self
        return replace(self, site=site, known=self.known.for_site(site), sketches=self.sketches.for_site(site))

    # --- counting ---------------------------------------------------------------------------

    def _deltas(self, visits: Iterable[Visit]) -> list[Delta]:
        """The batch's updates: day, hour and the packs of the (capped) names it brings."""
        deltas = fold.fold(visits, self.namers, self.goals).values()
        registered = {d.key for d in deltas if self._registered(d.key)}  # before capping places new names
        capped = fold.merge_deltas(fold.capped(d, self._admitted) for d in deltas)
        return fold.pack(fold.hosts_to_day(capped, registered.__contains__), self._slot)

    def _registered(self, key: keys.ItemKey) -> bool:
        """Whether a host name is already in the day's name tallies (its pageviews then touch no pack)."""
        parts = layout.split_name_key(key)
        return parts is not None and parts[1] == layout.HOST and self.known.placed(*parts, self._load_names)

    def _admitted(self, day: str, dim: str, name: str) -> bool:
        return self.known.admitted(day, dim, name, self._load_names)

    def _slot(self, day: str, dim: str, name: str) -> int:
        return self.known.slot(day, dim, name, self._load_names)

    def _load_names(self, day: str) -> Loaded | None:
        """The day's name partition: where each name is packed, and its sketches' versions for step 5."""
        shard = self.shard.current(self.aggregate_shards)
        try:
            items = aggstore.read_names(self.table_name, day, only_shard=shard, profile=aws.WRITER, site=self.site)
        except store.AWS_ERRORS as exc:
            logger.warning("Could not read the day's names", extra={"error": store.error_code(exc), "day": day})
            return None
        placed: Loaded = {}
        if keys.is_day(day) and shard == 0:  # the sketches live in shard 0's partition
            mine = layout.uniques_shard_key(day, self.sketches.shard)
            self.sketches.known[mine] = Uniques()  # absent from the partition: not written yet (version 0)
        for item in items:
            key = key_tuple(item)
            parts = layout.split_name_key(key)
            if parts is not None and parts[2].isdigit():
                for name in pack_names(item):
                    placed.setdefault((parts[1], name), int(parts[2]))
            elif key[1].startswith(layout.UNIQUES + "#"):
                self.sketches.known[key] = read_uniques(item)
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
        shard = self.shard.current(self.aggregate_shards)
        actions += [aggstore.update_action(self.table_name, d, shard, self.site) for d in deltas]
        in_total = sum(1 for v in visits if v.counted)
        if in_total:
            # With aggregate shards, the counter shard follows this writer's shard (one writer per item).
            spread = shard if self.aggregate_shards > 1 else random.randrange(self.counter_shards)
            actions.append(counter.increment_action(self.table_name, spread % self.counter_shards, in_total, self.site))
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
            if store.CONFLICT in causes and self.aggregate_shards > 1:
                # Another writer is on this shard: move (its packs are another partition's, so the
                # names are learnt again from there).
                self.shard.move(self.aggregate_shards)
                self.known.clear()
                deltas = self._deltas(pending)
            logger.info("Counting transaction retried", extra={"reasons": causes, "attempt": attempt})
            self.backoff.pause(attempt - 1)
        return [], already, None


def _by_site(visits: Sequence[Visit]) -> dict[str | None, list[Visit]]:
    """The batch's visits by site (each site's items are its own: a transaction per site's chunk)."""
    groups: dict[str | None, list[Visit]] = {}
    for visit in visits:
        groups.setdefault(visit.site, []).append(visit)
    return groups
