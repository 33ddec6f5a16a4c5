"""Unique visitors: each batch's visitors merged into this environment's HyperLogLog sketch shard,
and each goal's converters into the goal's shard of the same number (``functions.model.goals``).

One conditional UpdateItem (optimistic locking on ``version``), outside the counting transaction, so
losing a race on a sketch never fails or delays a count. A sketch write that keeps losing keeps its
visitors for the next batch of this environment (the merge is idempotent): the estimate converges,
the counts never wait.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from functions.core.environment import ENVIRONMENT
from functions.core.goals import Goal
from functions.core.observability import logger
from functions.model import fold, goals, layout
from functions.model.attrs import Uniques
from functions.model.keys import ItemKey
from functions.model.sketches import Sketch
from functions.model.visit import Visit
from functions.tables import aggstore, store

SKETCH_ATTEMPTS = 4


class SketchShards:
    """Per execution environment: its uniques shard, the last version it knows of each day's
    sketch, and visitors still to be merged (a write that kept losing)."""

    def __init__(self, shard: int | None = None) -> None:
        self.shard = random.randrange(layout.UNIQUES_SHARDS) if shard is None else shard
        self.known: dict[ItemKey, Uniques] = {}
        self.pending: dict[ItemKey, tuple[str, set[str]]] = {}  # sketch key -> (day, members)

    def clear(self) -> None:
        self.known.clear()
        self.pending.clear()

    def merge(self, table_name: str, visits: Sequence[Visit], goal_list: Sequence[Goal] = ()) -> int:
        """Merge the visitors (and each goal's converters) into this environment's shards; return how
        many wait for a later batch."""
        wanted: dict[ItemKey, tuple[str, set[str]]] = {
            layout.uniques_shard_key(day, self.shard): (day, members)
            for day, members in fold.visitors_by_day(visits).items()
        }
        for (day, label), members in goals.converters(visits, goal_list).items():
            wanted[layout.goal_uniques_key(day, label, self.shard)] = (day, members)
        for key, (day, members) in self.pending.items():
            wanted.setdefault(key, (day, set()))[1].update(members)
        self.pending = {}
        deferred = 0
        for key, (day, members) in sorted(wanted.items()):
            if not self._merge_day(table_name, key, day, members):
                self.pending[key] = (day, members)
                deferred += len(members)
        return deferred

    def _merge_day(self, table_name: str, key: ItemKey, day: str, members: set[str]) -> bool:
        addition = Sketch.of(members)
        read = self.known.get(key)
        try:
            for _ in range(SKETCH_ATTEMPTS):
                if read is None:
                    read = aggstore.read_sketch(table_name, key)
                merged = read.sketch.merge(addition)
                if merged == read.sketch and read.version:
                    self.known[key] = read
                    return True  # nothing new for this shard: no write, no cost
                expires_at = layout.uniques_expires_at(day)
                if aggstore.write_sketch(table_name, key, merged.to_bytes(), read.version, expires_at):
                    self.known[key] = Uniques(sketch=merged, version=read.version + 1)
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
