"""Unique visitors: each batch's visitors merged into this environment's HyperLogLog sketch shard,
with each goal's converters in the same item (``functions.model.goals``): one write a batch, whatever its goals.

One conditional UpdateItem (optimistic locking on ``version``), outside the counting transaction, so
losing a race on a sketch never fails or delays a count. A sketch write that keeps losing keeps its
visitors for the next batch of this environment (the merge is idempotent): the estimate converges,
the counts never wait.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from functions.core.environment import ENVIRONMENT
from functions.core.goals import Goal
from functions.core.observability import logger
from functions.model import fold, goals, layout
from functions.model.attrs import Uniques
from functions.model.keys import ItemKey, in_site
from functions.model.sketches import Sketch
from functions.model.visit import Visit
from functions.tables import aggstore, store

SKETCH_ATTEMPTS = 4


@dataclass
class DayMembers:
    """What one day's sketch item should gain: visitors, and each goal's converters (by goal label)."""

    visitors: set[str] = field(default_factory=set)
    goals: dict[str, set[str]] = field(default_factory=dict)

    def update(self, other: DayMembers) -> None:
        self.visitors |= other.visitors
        for label, members in other.goals.items():
            self.goals.setdefault(label, set()).update(members)

    def __len__(self) -> int:
        return len(self.visitors) + sum(len(m) for m in self.goals.values())


class SketchShards:
    """Per execution environment: its uniques shard, the last version it knows of each day's
    sketch, and visitors still to be merged (a write that kept losing)."""

    def __init__(self, shard: int | None = None, site: str | None = None) -> None:
        self.shard = random.randrange(layout.UNIQUES_SHARDS) if shard is None else shard
        self.site = site  # None: the default site (this object holds the other sites' shards)
        self.known: dict[ItemKey, Uniques] = {}
        self.pending: dict[str, DayMembers] = {}
        self._sites: dict[str, SketchShards] = {}

    def for_site(self, site: str | None) -> SketchShards:
        """Another site's sketches, in the same shard number."""
        if site is None:
            return self
        return self._sites.setdefault(site, SketchShards(self.shard, site))

    def clear(self) -> None:
        self.known.clear()
        self.pending.clear()
        self._sites.clear()

    def merge(self, table_name: str, visits: Sequence[Visit], goal_list: Sequence[Goal] = ()) -> int:
        """Merge the visitors and each goal's converters into this environment's shard (one item a day);
        return how many wait for a later batch."""
        by_day = {day: DayMembers(visitors) for day, visitors in fold.visitors_by_day(visits).items()}
        for (day, label), converters in goals.converters(visits, goal_list).items():
            by_day.setdefault(day, DayMembers()).goals[label] = converters
        for day, waiting in self.pending.items():
            by_day.setdefault(day, DayMembers()).update(waiting)
        self.pending = {}
        deferred = 0
        for day in sorted(by_day):
            if not self._merge_day(table_name, day, by_day[day]):
                self.pending[day] = by_day[day]
                deferred += len(by_day[day])
        return deferred

    def _merge_day(self, table_name: str, day: str, members: DayMembers) -> bool:
        key = layout.uniques_shard_key(day, self.shard)
        addition = Sketch.of(members.visitors)
        goal_additions = {label: Sketch.of(m) for label, m in members.goals.items()}
        read = self.known.get(key)
        try:
            for _ in range(SKETCH_ATTEMPTS):
                if read is None:
                    read = aggstore.read_sketch(table_name, in_site(key, self.site))
                merged = read.sketch.merge(addition)
                changed = {
                    label: union
                    for label, sketch in goal_additions.items()
                    if (union := read.goals.get(label, Sketch()).merge(sketch)) != read.goals.get(label)
                }
                if merged == read.sketch and not changed and read.version:
                    self.known[key] = read
                    return True  # nothing new for this shard: no write, no cost
                expires_at = layout.uniques_expires_at(day)
                goal_bytes = {label: sketch.to_bytes() for label, sketch in changed.items()}
                stored = in_site(key, self.site)
                if aggstore.write_sketch(table_name, stored, merged.to_bytes(), read.version, expires_at, goal_bytes):
                    self.known[key] = Uniques(merged, read.version + 1, {**read.goals, **changed})
                    return True
                read = None  # another writer wrote this shard since: read it again and merge on top
        except store.AWS_ERRORS as exc:
            logger.warning("Uniques sketch not written", extra={"error": store.error_code(exc), "day": day})
            self.known.pop(key, None)
            return False
        self.known.pop(key, None)
        logger.warning("Uniques sketch kept changing: visitors kept for the next batch", extra={"day": day})
        return False


SKETCHES = ENVIRONMENT.keep(SketchShards())
