"""What ``GET /status/explore`` asks for: the dimensions, their filters and a funnel's steps. Pure.

Filters are ``f.<dimension>=<value>`` query parameters, combined with AND; each keeps the visits
(sessions) that match: a visit's own attributes (its entry and exit page, and the referrer, channel,
campaign, country, device, browser, OS, screen and host name of its first event), or "has at least
one": a pageview of ``page``, a custom ``event``, a completed ``goal``. ``(none)`` matches an unknown value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from functions.core.goals import EVENT_KIND, PAGE_KIND, PAGE_PREFIX, Goal

# Dimension -> the column of a visit it filters and groups by (docs/lake.md: the table schema).
VISIT_DIMENSIONS = {
    "entry_page": "entry_page",
    "exit_page": "exit_page",
    "referrer": "referrer",
    "channel": "channel",
    "source": "utm_source",
    "medium": "utm_medium",
    "campaign": "utm_campaign",
    "country": "country",
    "device": "device",
    "browser": "browser",
    "os": "os",
    "screen": "screen",
    "hostname": "hostname",
}
EVENT_DIMENSIONS = ("page", "event", "goal")
DIMENSIONS = (*VISIT_DIMENSIONS, *EVENT_DIMENSIONS)
NONE = "(none)"
FILTER_PREFIX = "f."
MAX_VALUE_CHARS = 256
MAX_FUNNEL_STEPS = 8
_BAD_VALUE = re.compile(r"[\x00-\x1f\x7f]")


class BadExplore(ValueError):
    """A request the explorer cannot answer: the client gets a 400 naming what is wrong."""


@dataclass(frozen=True)
class Filter:
    dimension: str
    value: str


def _value(value: str, what: str) -> str:
    text = value.strip()
    if not text or len(text) > MAX_VALUE_CHARS or _BAD_VALUE.search(text):
        raise BadExplore(f"{what} must be 1 to {MAX_VALUE_CHARS} printable characters")
    return text


def parse_filters(query: dict[str, str], goals: tuple[Goal, ...] = ()) -> tuple[Filter, ...]:
    """The ``f.<dimension>=<value>`` parameters, in dimension order; an unknown dimension is refused."""
    found: dict[str, str] = {}
    for name, value in query.items():
        if not name.startswith(FILTER_PREFIX):
            continue
        dimension = name[len(FILTER_PREFIX) :]
        if dimension not in DIMENSIONS:
            raise BadExplore(f"unknown filter dimension {dimension[:40]!r}; one of {', '.join(DIMENSIONS)}")
        found[dimension] = _value(value, f"filter {dimension}")
    if "goal" in found and goal_named(found["goal"], goals) is None:
        declared = ", ".join(g.label for g in goals) or "none"
        raise BadExplore(f"unknown goal {found['goal'][:40]!r}; declared: {declared}")
    return tuple(Filter(d, found[d]) for d in DIMENSIONS if d in found)


def goal_named(name: str, goals: tuple[Goal, ...]) -> Goal | None:
    """A declared goal by its label (``Signup``, ``Visit /thanks*``) or its spec (``page:/thanks*``)."""
    return next((g for g in goals if name in (g.label, g.spec)), None)


def parse_funnel(raw: str) -> tuple[Goal, ...]:
    """``/pricing,/signup*,Signup``: ordered steps; a step starting with ``/`` (or ``page:``) is a page
    pattern (``*`` any characters but ``/``, ``**`` any), anything else a custom event's name."""
    steps = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        target = part[len(PAGE_PREFIX) :] if part.startswith(PAGE_PREFIX) else part
        kind = PAGE_KIND if target.startswith("/") else EVENT_KIND
        steps.append(Goal(kind, _value(target, "a funnel step")))
    if not 2 <= len(steps) <= MAX_FUNNEL_STEPS:
        raise BadExplore(f"a funnel has 2 to {MAX_FUNNEL_STEPS} comma-separated steps")
    return tuple(steps)


def page_regex(pattern: str) -> str:
    """A page pattern as an anchored regular expression both engines read alike (RE2 and Java's)."""
    parts = re.split(r"(\*\*|\*)", pattern)
    escaped = (re.sub(r"([^A-Za-z0-9/_~-])", r"\\\1", p) for p in parts)
    body = "".join(".*" if p == "**" else "[^/]*" if p == "*" else e for p, e in zip(parts, escaped, strict=True))
    return f"^{body}$"
