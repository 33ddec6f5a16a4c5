"""Write one SQS batch of visits: log items in bulk, each visit counted exactly once in the aggregates.

Order of work for a batch (the handler adapts the SQS event, this module does the rest):

1. parse every body; a body that is not a valid visit fails alone (it will reach the DLQ);
2. drop repeated visit ids inside the batch (they share the fate of their first copy);
3. read the uniques sketches of the batch's days (and, when the caps need them, day items): one
   ``BatchGetItem``;
4. count the visits with ``TransactWriteItems``: each transaction flags the visits' log items
   ``aggregated`` (condition: not flagged yet), ADDs the folded deltas to the day and hour items
   and writes each day's sketch merged with the visitors (condition: its ``version`` is still the
   one read), atomically. The cancellation reasons say which actions failed, by index: a visit
   whose flag already exists was counted by an earlier delivery (dropped, the rest retried at
   once); a sketch whose version moved was written by another writer (re-read, merged again and
   retried after a backoff pause). Conflicts and throttling are retried with backoff; a sketch
   the visitors do not change is not written at all;
5. write the full log items (flag included) with ``BatchWriteItem``, for the visits counted now or
   before. Rewriting a log item is an idempotent overwrite.

Calls per 100 records in the steady state: 1 ``BatchGetItem`` (the day's sketch, and the day item
when a batch brings tally names this environment has not seen while a family is under its cap, see
``KnownNames``) + 2 ``TransactWriteItems`` (at most 100 actions each: 97 flags + the day, hour and
uniques updates, then the rest) + 4 ``BatchWriteItem`` = 7. A lost sketch race adds a re-read and
a transaction. The sketch item is about 2 KB whatever the traffic (``functions.common.hll``).

Why count before logging: a ``PutRequest`` replaces the whole item, so a flag set after the put
would be wiped by the put of a redelivered copy and the visit counted twice. Flag first, then put
the item with the flag, and a redelivery always sees the flag. A crash between 4 and 5 leaves a
flag-only item; the record is redelivered and step 4 completes it.

A record fails (and is redelivered by SQS) when its visit could not be counted or logged after
the retries; why is logged with its message id and recorded in a ``FAILURE`` item for the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.common import aggregates, keys, store
from functions.common.aggregates import Delta, ItemKey, Uniques
from functions.common.definitions import QUEUE, TABLE
from functions.common.hll import Sketch
from functions.common.logitem import expires_at, to_log_item
from functions.common.observability import logger
from functions.common.visit import InvalidVisit, Visit, utc_now

# A transaction holds at most 100 actions: visits' flags plus one update per aggregate item.
MAX_TRANSACT_ACTIONS = store.TRANSACT_MAX
# An expression is at most 4 KB (each ADD term costs about 12 characters), and moto's parser (local
# mode, tests) overflows Python's recursion limit at about 170 ADD terms: stay well under both.
MAX_TERMS_PER_UPDATE = 120
KNOWN_DAYS_KEPT = 4
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
    written: int = 0  # records whose log item is written
    counted: int = 0  # visits added to the aggregates by this batch
    duplicates: int = 0  # records already counted (earlier delivery) or repeated in the batch
    visit_ids: dict[str, str] = field(default_factory=dict)  # message id -> visit id (correlation)


class KnownNames:
    """Per execution environment: the tally names each day item is known to hold (for the caps).

    Reading a day item costs one call, so it is read only when a batch brings a name not known yet
    while that family is still under its cap; afterwards names admitted by this writer are added
    locally. Old days are forgotten.
    """

    def __init__(self) -> None:
        self._days: dict[ItemKey, set[str]] = {}

    def needs_read(self, delta: Delta) -> bool:
        known = self._days.get(delta.key)
        if known is None:
            return True
        for name in aggregates.tally_names(delta) - known:
            prefix = next(p for p in aggregates.TALLY_PREFIXES if name.startswith(p))
            room = sum(1 for n in known if n.startswith(prefix)) < aggregates.CAPS[prefix]
            if name != prefix + aggregates.OTHER and room:
                return True
        return False

    def refresh(self, key: ItemKey, item: dict[str, Any] | None) -> None:
        self._days[key] = {n for n in (item or {}) if n.startswith(aggregates.TALLY_PREFIXES)}
        for old in sorted(self._days)[:-KNOWN_DAYS_KEPT]:
            del self._days[old]

    def names(self, key: ItemKey) -> set[str]:
        return self._days.setdefault(key, set())

    def clear(self) -> None:
        self._days.clear()


KNOWN = KnownNames()


def _fits(visit_count: int, terms: dict[ItemKey, set[str]]) -> bool:
    """Whether a transaction of ``visit_count`` flags plus these aggregate updates stays within limits."""
    # One spare term per tally family: the cap may add an "(other)" name.
    spare = len(aggregates.TALLY_PREFIXES)
    return visit_count + len(terms) <= MAX_TRANSACT_ACTIONS and all(
        len(names) + spare <= MAX_TERMS_PER_UPDATE for names in terms.values()
    )


class BatchWriter:
    """Writes batches to one table; ``browser_of`` classifies user agents for the browsers tally."""

    def __init__(
        self,
        table_name: str,
        log_ttl_days: int,
        browser_of: Callable[[str], str],
        *,
        known: KnownNames = KNOWN,
        backoff: store.Backoff = store.DEFAULT_BACKOFF,
    ) -> None:
        self.table_name = table_name
        self.log_ttl_days = log_ttl_days
        self.browser_of = browser_of
        self.known = known
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
        outcome.duplicates += len(already)
        to_log = counted + already
        unwritten = {
            item["visit_id"]["S"]
            for item in store.put_items(self.table_name, [self._log_item(v) for v in to_log], self.backoff)
        }
        for visit in to_log:
            if visit.visit_id in unwritten:
                reasons[visit.visit_id] = "log item not written after retries"
        for visit in visits:
            for message_id in by_visit[visit.visit_id]:
                if visit.visit_id in reasons:
                    outcome.failed[message_id] = reasons[visit.visit_id]
                else:
                    outcome.written += 1
        if outcome.failed:
            self._record_failures(outcome.failed)
        return outcome

    def _log_item(self, visit: Visit) -> dict[str, Any]:
        item = to_log_item(visit, self.log_ttl_days)
        item[store.AGGREGATED] = {"BOOL": True}
        return item

    # --- counting ---------------------------------------------------------------------------

    def _count(self, visits: Sequence[Visit]) -> tuple[list[Visit], list[Visit], dict[str, str]]:
        """Count the visits; return (counted now, counted before, {visit id: failure reason})."""
        counted: list[Visit] = []
        already: list[Visit] = []
        failed: dict[str, str] = {}
        if not visits:
            return counted, already, failed
        uniques = self._read_aggregates(visits)
        for chunk in self._chunks(visits):
            now, before, reason = self._count_chunk(chunk, uniques)
            counted.extend(now)
            already.extend(before)
            done = {v.visit_id for v in now} | {v.visit_id for v in before}
            for visit in chunk:
                if visit.visit_id not in done:
                    failed[visit.visit_id] = reason or "not counted"
        return counted, already, failed

    def _read_aggregates(self, visits: Iterable[Visit]) -> dict[ItemKey, Uniques]:
        """One BatchGetItem: the uniques sketches of the batch's days, and the day items whose tally
        names the cap cannot decide from memory. Returns the sketches as read."""
        deltas = self._fold(visits, capped=False)
        stale = [d.key for d in deltas if aggregates.is_day_key(d.key) and self.known.needs_read(d)]
        sketches = [d.key for d in deltas if aggregates.is_uniques_key(d.key)]
        if not stale and not sketches:
            return {}
        items = self._get(stale + sketches)
        if items is None:
            # Without the read the caps use what is known (approximate, nothing lost) and the
            # sketches start empty: their version condition fails if one exists, and it is re-read.
            return {key: Uniques() for key in sketches}
        for key in stale:
            self.known.refresh(key, items.get(key))
        return {key: aggregates.read_uniques(items.get(key)) for key in sketches}

    def _get(self, item_keys: Sequence[ItemKey]) -> dict[ItemKey, dict[str, Any]] | None:
        try:
            requested = [aggregates.key_dict(k) for k in item_keys]
            return store.get_items(self.table_name, requested, self.backoff, consistent=True)
        except (ClientError, BotoCoreError, RuntimeError) as exc:
            logger.warning("Could not read aggregates", extra={"error": store.error_code(exc), "items": len(item_keys)})
            return None

    def _fold(self, visits: Iterable[Visit], *, capped: bool = True) -> list[Delta]:
        deltas = list(aggregates.fold(visits, self.browser_of).values())
        if not capped:
            return list(deltas)
        return [
            aggregates.apply_caps(d, self.known.names(d.key)) if aggregates.is_day_key(d.key) else d for d in deltas
        ]

    def _chunks(self, visits: Sequence[Visit]) -> list[list[Visit]]:
        """Greedy packing: as many visits per transaction as fit with their aggregate updates."""
        chunks: list[list[Visit]] = []
        current: list[Visit] = []
        terms: dict[ItemKey, set[str]] = {}
        for visit in visits:
            contribution = {
                d.key: set(d.counters) | ({"#sketch"} if d.members else set())
                for d in aggregates.fold([visit], self.browser_of).values()
            }
            merged = {k: set(v) for k, v in terms.items()}
            for key, names in contribution.items():
                merged.setdefault(key, set()).update(names)
            if current and not _fits(len(current) + 1, merged):
                chunks.append(current)
                current, merged = [], contribution
            current.append(visit)
            terms = merged
        if current:
            chunks.append(current)
        return chunks

    def _count_chunk(
        self, chunk: Sequence[Visit], uniques: dict[ItemKey, Uniques]
    ) -> tuple[list[Visit], list[Visit], str | None]:
        """One chunk's transaction, retried; return (counted now, counted before, failure reason).

        ``uniques`` holds the sketches as last read or written; it is updated after a commit, so the
        next chunk writes on top of this one's.
        """
        pending = list(chunk)
        already: list[Visit] = []
        attempt = 0
        while pending:
            actions = [
                store.mark_aggregated_action(
                    self.table_name,
                    keys.log_key(keys.day_of(v.when), v.timestamp, v.visit_id),
                    expires_at(v, self.log_ttl_days),
                )
                for v in pending
            ]
            updates, merged = self._aggregate_actions(self._fold(pending), uniques)
            actions += [{"Update": update} for _, update in updates]
            try:
                codes = store.transact(actions)
            except (ClientError, BotoCoreError) as exc:
                if not store.is_retryable(exc):
                    logger.error("Aggregate transaction failed", extra={"error": store.error_code(exc)})
                    return [], already, f"aggregate transaction failed: {store.error_code(exc)}"
                codes = [store.error_code(exc)] * len(actions)
            if codes is None:
                for key, sketch in merged.items():
                    uniques[key] = Uniques(sketch=sketch, version=uniques[key].version + 1)
                return pending, already, None
            # Cancellation reasons by index: the flags first, then one action per aggregate item.
            duplicates = {v.visit_id for v, code in zip(pending, codes, strict=False) if code == store.CONDITION_FAILED}
            raced = [
                key
                for (key, _), code in zip(updates, codes[len(pending) :], strict=False)
                if code == store.CONDITION_FAILED and aggregates.is_uniques_key(key)
            ]
            if duplicates:
                # Counted by an earlier delivery: drop them (and retry the rest at once, unless a
                # sketch race needs a pause too).
                already.extend(v for v in pending if v.visit_id in duplicates)
                pending = [v for v in pending if v.visit_id not in duplicates]
                if not raced:
                    continue
            if raced:
                causes = ["unique visitors sketch changed since read"]
            else:
                causes = sorted({c for c in codes if c != "None"})
                if not all(c in store.RETRYABLE_CODES for c in causes):
                    logger.error("Aggregate transaction cancelled", extra={"reasons": causes})
                    return [], already, f"aggregate transaction cancelled: {', '.join(causes)}"
            attempt += 1
            if attempt >= self.backoff.attempts:
                logger.error("Aggregate transaction kept failing", extra={"reasons": causes, "attempts": attempt})
                return [], already, f"aggregate transaction retries exhausted: {', '.join(causes)}"
            logger.info("Aggregate transaction retried", extra={"reasons": causes, "attempt": attempt})
            self.backoff.pause(attempt - 1)
            if raced:
                # Another writer won: merge on top of what it wrote (a failed read retries as is).
                items = self._get(raced)
                if items is not None:
                    uniques.update({key: aggregates.read_uniques(items.get(key)) for key in raced})
        return [], already, None

    def _aggregate_actions(
        self, deltas: Sequence[Delta], uniques: dict[ItemKey, Uniques]
    ) -> tuple[list[tuple[ItemKey, dict[str, Any]]], dict[ItemKey, Sketch]]:
        """UpdateItem arguments per aggregate item, and the sketches they write (to keep on commit).

        A sketch the visitors leave unchanged (all seen before) is not written: no action, no cost.
        """
        updates: list[tuple[ItemKey, dict[str, Any]]] = []
        merged: dict[ItemKey, Sketch] = {}
        for delta in deltas:
            if not aggregates.is_uniques_key(delta.key):
                updates.append((delta.key, store.aggregate_update(self.table_name, delta)))
                continue
            read = uniques.setdefault(delta.key, Uniques())
            sketch = read.sketch.merge(Sketch.of(delta.members))
            if sketch == read.sketch and not read.legacy:
                continue
            merged[delta.key] = sketch
            update = store.sketch_update(
                self.table_name, delta.key, sketch.to_bytes(), read.version, delta.expires_at, drop_legacy=read.legacy
            )
            updates.append((delta.key, update))
        return updates, merged

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
