"""Scripted visits of known sessions for the lake's tests: the script is the truth the queries must find.

Each ``Session`` is written as visit records (pageviews and custom events) through the writer's own
row path (``functions.lake.sink.append``); its expected facts (pageviews, bounce, duration, entry and
exit pages, attributes, goals, funnel progress) follow from how it was scripted, not from the SQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from functions.model.visit import Visit, format_timestamp

DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
COUNTRIES = ("DE", "FR", "US")
ENTRIES = ("/", "/blog", "/pricing")
# Kinds of session: (seconds after its start, "page" path | "event" name) in order.
KINDS: dict[str, tuple[tuple[int, str, str], ...]] = {
    "bounce": ((0, "page", ""),),  # "" = the session's entry page
    "long": ((0, "page", "/"), (600, "page", "/blog"), (1200, "page", "/blog/a"), (1800, "page", "/pricing")),
    "convert": ((0, "page", "/"), (120, "page", "/pricing"), (180, "event", "Signup"), (200, "page", "/thanks")),
    "engaged": ((0, "page", "/blog"), (45, "event", "Download")),
}
GOALS = "Signup,page:/thanks"
FUNNEL = ("/", "/pricing", "Signup")
SECOND_SESSION_AFTER = timedelta(hours=2)  # a visitor's second visit: well past the 30-minute gap


@dataclass(frozen=True)
class Session:
    site: str
    day: date
    visitor: str
    start: datetime
    kind: str
    country: str
    mobile: bool
    entry: str

    @property
    def steps(self) -> list[tuple[int, str, str]]:
        return [(s, k, v or self.entry) for s, k, v in KINDS[self.kind]]

    @property
    def pages(self) -> list[str]:
        return [v for _, k, v in self.steps if k == "page"]

    @property
    def entry_page(self) -> str:
        return self.pages[0]

    @property
    def exit_page(self) -> str:
        return self.pages[-1]

    @property
    def events(self) -> list[str]:
        return [v for _, k, v in self.steps if k == "event"]

    @property
    def bounced(self) -> bool:
        return len(self.pages) < 2 and not self.events

    @property
    def duration(self) -> int:
        return self.steps[-1][0] - self.steps[0][0]

    @property
    def device(self) -> str:
        return "mobile" if self.mobile else "desktop"

    def funnel_reach(self) -> int:
        """How many steps of FUNNEL this session reaches in order."""
        reached = 0
        for _, kind, value in self.steps:
            want = FUNNEL[reached] if reached < len(FUNNEL) else None
            if want is not None and ((kind == "page") == want.startswith("/")) and value == want:
                reached += 1
        return reached

    def visits(self) -> list[Visit]:
        records = []
        for n, (offset, kind, value) in enumerate(self.steps):
            records.append(
                Visit(
                    visit_id=f"{self.site}-{self.visitor}-{self.start:%H%M%S}-{n}",
                    timestamp=format_timestamp(self.start + timedelta(seconds=offset)),
                    ip=None,
                    user_agent=MOBILE_UA if self.mobile else DESKTOP_UA,
                    path=value if kind == "page" else self.pages[0],
                    referrer="https://www.google.com/" if n == 0 else f"https://{self.site}/",
                    is_bot=False,
                    counted=kind == "page",
                    visitor=self.visitor,
                    country=self.country,
                    event=value if kind == "event" else None,
                    hostname=self.site,
                    site=self.site,
                )
            )
        return records


def script(sites: Sequence[str], days: Sequence[date], visitors_per_day: int) -> list[Session]:
    """Two sessions per visitor a day, kinds, countries, devices and entries cycling at different rates."""
    sessions = []
    n = 0
    for site in sites:
        for day in days:
            for v in range(visitors_per_day):
                visitor = f"{site}-{day:%m%d}-{v:05d}"
                first = datetime.combine(day, time(6), tzinfo=UTC) + timedelta(seconds=5 * v)
                for start in (first, first + SECOND_SESSION_AFTER):
                    kind = tuple(KINDS)[n % len(KINDS)]
                    sessions.append(
                        Session(site, day, visitor, start, kind, COUNTRIES[n % 3], n % 5 < 2, ENTRIES[n % 7 % 3])
                    )
                    n += 1
    return sessions


def bot_visits(site: str, day: date, count: int) -> list[Visit]:
    """Automated traffic: in the lake with is_bot, in no visit."""
    start = datetime.combine(day, time(12), tzinfo=UTC)
    return [
        Visit(f"bot-{site}-{day}-{i}", format_timestamp(start + timedelta(seconds=i)), None, BOT_UA, "/", None,
              True, False, visitor=f"bot{i}", bot_class="crawler", site=site)
        for i in range(count)
    ]  # fmt: skip


def summary(sessions: Iterable[Session]) -> dict[str, Any]:
    chosen = list(sessions)
    visits = len(chosen)
    pageviews = sum(len(s.pages) for s in chosen)
    return {
        "visits": visits,
        "visitors": len({(s.day, s.visitor) for s in chosen}),
        "pageviews": pageviews,
        "views_per_visit": round(pageviews / visits, 2) if visits else 0.0,
        "bounce_rate": round(sum(s.bounced for s in chosen) / visits, 4) if visits else 0.0,
        "visit_duration": round(sum(s.duration for s in chosen) / visits, 1) if visits else 0.0,
        "events": sum(len(s.events) for s in chosen),
    }


def top(sessions: Iterable[Session], attribute: str, limit: int = 10) -> list[tuple[str, int]]:
    """(value, visits) of a visit attribute, most visits first, then by value."""
    counts = Counter(str(getattr(s, attribute)) for s in sessions)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def page_visits(sessions: Iterable[Session]) -> list[tuple[str, int]]:
    counts = Counter(page for s in sessions for page in set(s.pages))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def time_on_page(sessions: Iterable[Session]) -> dict[str, float]:
    """Average seconds from a pageview to the visit's next pageview, per page (views without one left out)."""
    spans: dict[str, list[int]] = {}
    for s in sessions:
        views = [(offset, value) for offset, kind, value in s.steps if kind == "page"]
        for (offset, page), (following, _) in zip(views, views[1:], strict=False):
            spans.setdefault(page, []).append(following - offset)
    return {page: round(sum(v) / len(v), 1) for page, v in spans.items()}
