"""Which names each day's tallies hold and the pack each is in: the writer's caps and packing.

Per execution environment (``KNOWN``): a day is loaded with one Query of its name partition; it is
reloaded only when a name not known yet must be placed and the last load is older than
``NAMES_REFRESH_SECONDS``. Names this writer places are added locally. A failed load admits the
name (the cap is approximate; nothing is lost).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from functions.core.environment import ENVIRONMENT
from functions.model import layout

KNOWN_DAYS_KEPT = 6  # periods: a few days, their months, all time
NAMES_REFRESH_SECONDS = 60.0

Loaded = dict[tuple[str, str], int]  # (dim, name) -> its pack
Loader = Callable[[str], Loaded | None]


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
        return sum(1 for d, n in self.packs if d == dim and n != layout.OTHER)

    def open_pack(self, dim: str) -> int:
        """The pack a new name goes to: the last one, or a fresh one once it is full."""
        last = max((p for d, p in self.sizes if d == dim), default=0)
        return last if self.sizes.get((dim, last), 0) < layout.PACK_NAMES else last + 1


class KnownNames:
    """The names each day's tallies hold and the pack each is in: they decide the caps and keep a
    name in the pack it first landed in."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._days: dict[str, _Day] = {}
        self._sites: dict[str, KnownNames] = {}

    def for_site(self, site: str | None) -> KnownNames:
        """The names of another site's tallies (this object is the default site's)."""
        if site is None:
            return self
        return self._sites.setdefault(site, KnownNames(self._clock))

    def _day(self, day: str, load: Loader, *, fresh: bool) -> _Day:
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

    def admitted(self, day: str, dim: str, name: str, load: Loader) -> bool:
        entry = self._day(day, load, fresh=False)
        if (dim, name) in entry.packs:
            return True
        entry = self._day(day, load, fresh=True)
        if (dim, name) in entry.packs:
            return True
        if entry.held(dim) < layout.cap(day, dim):
            entry.place(dim, name, entry.open_pack(dim))
            return True
        return False

    def placed(self, day: str, dim: str, name: str, load: Loader) -> bool:
        """Whether the name is already known in the day's tallies (by the last load or by this writer)."""
        return (dim, name) in self._day(day, load, fresh=False).packs

    def slot(self, day: str, dim: str, name: str, load: Loader) -> int:
        """The pack of an admitted name (placing it in the open pack when new)."""
        entry = self._day(day, load, fresh=False)
        if (dim, name) not in entry.packs:
            entry.place(dim, name, entry.open_pack(dim))
        return entry.packs[(dim, name)]

    def clear(self) -> None:
        self._days.clear()
        self._sites.clear()


KNOWN = ENVIRONMENT.keep(KnownNames())
