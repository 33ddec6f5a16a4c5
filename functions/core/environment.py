"""What a warm execution environment keeps between invocations, in one place with one reset.

Lambda reuses an environment for many invocations: clients, settings, the last count answered, the
day's salt, the names a writer has placed, its sketch versions, cached metric reads. Each of those is
registered here when its module is imported, so ``ENVIRONMENT.reset()`` gives tests (and local mode
after it changes endpoints) a cold environment without knowing every module's caches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, TypeVar


class Clearable(Protocol):
    def clear(self) -> None: ...


class Cached(Protocol):
    def cache_clear(self) -> None: ...


C = TypeVar("C", bound=Clearable)
F = TypeVar("F", bound=Cached)


class Environment:
    """Per-environment state: registered parts, forgotten together by ``reset``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forget: list[Callable[[], None]] = []

    def keep(self, part: C) -> C:
        """Register state with a ``clear()`` method; returns it, so a module writes ``X = ENVIRONMENT.keep(X())``."""
        with self._lock:
            self._forget.append(part.clear)
        return part

    def cached(self, function: F) -> F:
        """Register a ``functools.cache``'d function (its results are per environment too)."""
        with self._lock:
            self._forget.append(function.cache_clear)
        return function

    def reset(self) -> None:
        """Forget everything registered: the next invocation behaves like a cold start."""
        with self._lock:
            forget = list(self._forget)
        for clear in forget:
            clear()


ENVIRONMENT = Environment()
