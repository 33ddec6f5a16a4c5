"""Browser families of User-Agents, for the writer's tallies: a bounded set of names (``BROWSER_FAMILIES``)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from functions.model import bots

# Order matters: Edge, Opera and Samsung Internet also say "Chrome"; Chrome also says "Safari".
_BROWSERS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("Edge", re.compile(r"\bedg(e|a|ios)?/")),
    ("Opera", re.compile(r"\bopr/|\bopera\b|\bopios/")),
    ("Samsung Internet", re.compile(r"\bsamsungbrowser/")),
    ("Yandex", re.compile(r"\byabrowser/")),
    ("Vivaldi", re.compile(r"\bvivaldi/")),
    ("Firefox", re.compile(r"\bfirefox/|\bfxios/")),
    ("Chrome", re.compile(r"\bchrome/|\bcrios/|\bchromium/")),
    ("Safari", re.compile(r"\bversion/[\d.]+.*\bsafari/|\bmobile/\w+ safari/")),
    ("Internet Explorer", re.compile(r"\bmsie |\btrident/")),
)

BOT: Final = "Bot"
HTTP_CLIENT: Final = "HTTP client"
OTHER: Final = "Other"
UNKNOWN: Final = "Unknown"
BROWSER_FAMILIES: Final[tuple[str, ...]] = (*(name for name, _ in _BROWSERS), BOT, HTTP_CLIENT, OTHER, UNKNOWN)


@lru_cache(maxsize=4096)
def browser_of(user_agent: str | None) -> str:
    """The browser family of a User-Agent: one of ``BROWSER_FAMILIES`` (bounded, for aggregates).

    Automated agents are "Bot" or "HTTP client" (their class), no User-Agent is "Unknown".
    """
    ua = bots.normalised(user_agent)
    if not ua:
        return UNKNOWN
    automated = bots.classify(ua)
    if automated is not None:
        return HTTP_CLIENT if automated == "http-client" else BOT
    low = ua.lower()
    for name, pattern in _BROWSERS:
        if pattern.search(low):
            return name
    return OTHER
