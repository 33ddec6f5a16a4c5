"""Per execution environment: the aggregate shard this writer adds to (``AGGREGATE_SHARDS`` > 1).

A writer keeps its shard from batch to batch, so two writers only meet on the same day, hour, counter
and name items when they picked the same shard; a transaction cancelled by a conflict means another
writer is there, and this one moves to another shard at random before retrying. With more shards
than writers (``pipeline/capacity.py`` sizes them) conflicts stay rare (figure 10).
"""

from __future__ import annotations

import random
import threading

from functions.core.environment import ENVIRONMENT


class AggregateShard:
    """The shard number this environment writes to, picked at random on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: int | None = None

    def current(self, shards: int) -> int:
        with self._lock:
            if shards <= 1:
                return 0
            if self._current is None or self._current >= shards:
                self._current = random.randrange(shards)
            return self._current

    def move(self, shards: int) -> int:
        """Another shard than the current one (the same when there is only one)."""
        with self._lock:
            if shards > 1:
                others = [n for n in range(shards) if n != self._current]
                self._current = random.choice(others)
            return self._current or 0

    def clear(self) -> None:
        with self._lock:
            self._current = None


SHARD = ENVIRONMENT.keep(AggregateShard())
