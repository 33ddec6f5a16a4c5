"""The period a ``/status?range=...`` asks for: pure parsing, no AWS.

``today``, ``yesterday``, ``7d`` and ``30d`` (ending today) and ``from``/``to`` (days, at most
``MAX_DAYS``) are read day by day; ``12mo`` (this month and the 11 before) month by month. Each
day or month costs one item and one Query of its name partition, so a range's reads are bounded
by its length, never by its traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

MAX_DAYS = 31
NAMED = ("today", "yesterday", "7d", "30d", "12mo")


class BadRange(ValueError):
    """A range the status function cannot read: the client gets a 400."""


@dataclass(frozen=True)
class Range:
    name: str
    start: date
    end: date  # inclusive
    granularity: Literal["day", "month"]

    def periods(self) -> list[str]:
        """Days (YYYY-MM-DD) or months (YYYY-MM), oldest first."""
        if self.granularity == "day":
            return [(self.start + timedelta(days=i)).isoformat() for i in range((self.end - self.start).days + 1)]
        months = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadRange(f"{name} must be a day (YYYY-MM-DD), got {value[:20]!r}") from exc


def parse(query: dict[str, str], now: datetime) -> Range | None:
    """The requested range, None when the request asks for none (the plain /status)."""
    today = now.date()
    name = (query.get("range") or "").strip().lower()
    if "from" in query or "to" in query:
        start = _day(query.get("from", ""), "from")
        end = _day(query["to"], "to") if query.get("to") else today
        if start > end:
            raise BadRange("from must not be after to")
        if end > today:
            raise BadRange("to must not be in the future")
        if (end - start).days + 1 > MAX_DAYS:
            raise BadRange(f"a from/to range spans at most {MAX_DAYS} days; use range=12mo for longer")
        return Range("custom", start, end, "day")
    if not name:
        return None
    if name == "today":
        return Range(name, today, today, "day")
    if name == "yesterday":
        return Range(name, today - timedelta(days=1), today - timedelta(days=1), "day")
    if name in ("7d", "30d"):
        return Range(name, today - timedelta(days=int(name[:-1]) - 1), today, "day")
    if name == "12mo":
        year, month = today.year, today.month - 11
        if month < 1:
            year, month = year - 1, month + 12
        return Range(name, date(year, month, 1), today, "month")
    raise BadRange(f"range must be one of {', '.join(NAMED)} (or from/to days), got {name[:20]!r}")
