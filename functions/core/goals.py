"""Goals the owner declares: a custom event by name, or a pageview of a path pattern. Pure.

Declared as one comma-separated string (the ``GOALS`` environment variable, the ``goals`` cdk.json
context key): ``Signup,page:/thanks*``. An entry is an event name, or ``page:`` and a path pattern
starting with ``/`` in which ``*`` matches any characters but ``/`` and ``**`` any characters at all
(Plausible's page goals). At most ``MAX_GOALS``: each goal has its own unique-converter sketches
(``UNIQUES_SHARDS`` items of at most 2 KB a day), which ``/status`` reads with the day's tallies, so
the number of goals bounds what one summary reads.

Here in ``core`` (not ``model``) because the settings parse them once at a cold start; matching a
visit is the model's (``functions.model.goals``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

MAX_GOALS = 10
MAX_EVENT_LENGTH = 64  # the custom events' own limit (functions.model.events.MAX_NAME_LENGTH)
MAX_PATTERN_LENGTH = 256
PAGE_PREFIX = "page:"
EVENT_KIND = "event"
PAGE_KIND = "page"
_FORBIDDEN = re.compile(r'[|=<>",#\x00-\x1f\x7f]')  # an event's forbidden characters, "," and "#" (the key)


class InvalidGoals(ValueError):
    """A goal list that cannot be used: the message says which entry and why."""


@dataclass(frozen=True)
class Goal:
    """One goal: ``kind`` is ``event`` or ``page``; ``target`` the event name or the path pattern."""

    kind: str
    target: str

    @property
    def label(self) -> str:
        """Its name in /status and the dashboard: ``Signup``, or ``Visit /thanks*`` for a page goal."""
        return self.target if self.kind == EVENT_KIND else f"Visit {self.target}"

    @property
    def spec(self) -> str:
        """How it is declared (``Signup``, ``page:/thanks*``): ``format_goals`` joins these."""
        return self.target if self.kind == EVENT_KIND else PAGE_PREFIX + self.target

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        parts = re.split(r"(\*\*|\*)", self.target)
        body = "".join(".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in parts)
        return re.compile(f"^{body}$")

    def matches_page(self, page: str) -> bool:
        """Whether a pageview of ``page`` (a path without query or fragment) completes this page goal."""
        return self.kind == PAGE_KIND and self._pattern.match(page) is not None

    def matches_event(self, name: str) -> bool:
        return self.kind == EVENT_KIND and self.target == name


def _goal(entry: str) -> Goal:
    if entry.lower().startswith(PAGE_PREFIX):
        pattern = entry[len(PAGE_PREFIX) :].strip()
        if not pattern.startswith("/"):
            raise InvalidGoals(f"a page goal's pattern must start with /, got {entry!r}")
        if len(pattern) > MAX_PATTERN_LENGTH or re.search(r"[\s,#\x00-\x1f\x7f]", pattern):
            raise InvalidGoals(
                f"a page goal's pattern must be a path of at most {MAX_PATTERN_LENGTH} characters "
                f"without spaces, commas or #, got {entry!r}"
            )
        return Goal(PAGE_KIND, pattern)
    name = re.sub(r"\s+", " ", entry).strip()
    if len(name) > MAX_EVENT_LENGTH or _FORBIDDEN.search(name):
        raise InvalidGoals(
            f"an event goal is an event name of at most {MAX_EVENT_LENGTH} characters without any of "
            f'| = < > " , #, got {entry!r}'
        )
    return Goal(EVENT_KIND, name)


def parse_goals(raw: str | list[str] | tuple[str, ...]) -> tuple[Goal, ...]:
    """The goals of a comma-separated string or a list of entries, in order; duplicates refused."""
    entries = raw.split(",") if isinstance(raw, str) else list(raw)
    goals: list[Goal] = []
    for entry in entries:
        if not isinstance(entry, str):
            raise InvalidGoals(f"a goal must be a string, got {entry!r}")
        if not entry.strip():
            continue
        goal = _goal(entry.strip())
        if any(g.label == goal.label for g in goals):
            raise InvalidGoals(f"the goal {goal.spec!r} is declared twice")
        goals.append(goal)
    if len(goals) > MAX_GOALS:
        raise InvalidGoals(f"at most {MAX_GOALS} goals, got {len(goals)}")
    return tuple(goals)


def format_goals(goals: tuple[Goal, ...]) -> str:
    """The declaration ``parse_goals`` reads back (the ``GOALS`` variable the stack sets)."""
    return ",".join(g.spec for g in goals)
