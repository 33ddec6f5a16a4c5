"""Issue 22's dashboard in headless Chromium against local mode: the Visits section (sessions from the lake,
compared with the previous period), filters set by clicking rows and kept in the URL as removable chips,
and a funnel, at 1200 px and at 390 px.

The sessions are written as lake rows with the writer's own sink (``functions.lake.sink.append``) into
local mode's lake directory, as ``tests/support/lake.py`` scripts them: their timestamps must be chosen
(durations, times on page, a previous period days ago), which visits sent through the HTTP API now cannot
have. The path from the API to the lake is the writer's, proven in tests/integration/test_lake_writer.py.
Every expected number follows from the script (``tests.support.lake``), never from the SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from functions.lake import sink
from functions.lake.config import LakeConfig
from tests.e2e.localmode import LocalMode, console_error, start_local_mode
from tests.support import lake
from tests.support.events import DEFAULT_UA
from visitor_tracker.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("e2e-browser")]

BLOG, SHOP, DOCS = "blog.example", "shop.example", "docs.example"
TODAY = datetime.now(UTC).date()
FINISHED, RECENT = TODAY - timedelta(days=3), TODAY - timedelta(days=1)  # a rolled-up day and a queried one
EARLIER = TODAY - timedelta(days=9)  # in the previous 7 days
TIMEOUT_MS = 15_000
Check = Callable[[lake.Session], bool]


def _session(
    day: Any, visitor: str, hour: int, kind: str, country: str, mobile: bool, entry: str = "/"
) -> lake.Session:
    start = datetime.combine(day, time(hour), tzinfo=UTC)
    return lake.Session(SHOP, day, visitor, start, kind, country, mobile, entry)


# The shop's last 7 days: 8 visits of 6 visitors (one came back two hours later each day)...
NOW = [
    _session(FINISHED, "v1", 6, "bounce", "DE", False),
    _session(FINISHED, "v1", 9, "long", "DE", False),
    _session(FINISHED, "v2", 7, "convert", "FR", True),
    _session(FINISHED, "v3", 8, "engaged", "US", False),
    _session(RECENT, "v4", 6, "convert", "DE", True),
    _session(RECENT, "v4", 9, "engaged", "DE", True),
    _session(RECENT, "v5", 7, "bounce", "DE", False, "/pricing"),
    _session(RECENT, "v6", 8, "long", "FR", False),
]
# ... and the 7 days before: 4 visits, none from Germany (its filtered change has no base: none shown).
BEFORE = [
    _session(EARLIER, "p1", 6, "bounce", "US", False),
    _session(EARLIER, "p2", 7, "bounce", "FR", False, "/blog"),
    _session(EARLIER, "p3", 8, "convert", "FR", True),
    _session(EARLIER, "p4", 9, "long", "US", False),
]


def _on_pricing(s: lake.Session) -> bool:
    return "/pricing" in s.pages


def _in_germany(s: lake.Session) -> bool:
    return s.country == "DE"


# A third site: 10,000 scripted visit records of known sessions over the last three days (the acceptance
# volume), written in the writer's batches of 100.
DOCS_DAYS = [TODAY - timedelta(days=n) for n in (3, 2, 1)]
DOCS_SESSIONS = lake.script([DOCS], DOCS_DAYS, 620)


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("explore") / "lake"


@pytest.fixture(scope="module")
def mode(lake_dir: Path) -> Iterator[LocalMode]:
    """One local mode counting three sites with goals, its lake holding the script's sessions (and a visit of
    the other site, which must never show)."""
    tmp = lake_dir.parent
    other = lake.Session(BLOG, RECENT, "b1", datetime.combine(RECENT, time(6), tzinfo=UTC), "long", "DE", False, "/")
    records = [v for s in [*NOW, *BEFORE, other] for v in s.visits()]
    sink.append(LakeConfig(directory=str(lake_dir)), records, BLOG)
    docs = [v for s in DOCS_SESSIONS for v in s.visits()]
    assert len(docs) >= 10_000
    for start in range(0, len(docs), 100):
        sink.append(LakeConfig(directory=str(lake_dir)), docs[start : start + 100], BLOG)
    env = {"SITES": f"{BLOG},{SHOP},{DOCS}", "GOALS": lake.GOALS, "LAKE_DIR": str(lake_dir)}
    started = start_local_mode(tmp, env=env)
    try:
        yield started
        assert started.stop() == 0, started.output()
    finally:
        started.kill()


def _unexpected(message: Any) -> str | None:
    """A console error, except the dashboard's own anonymous 401 (its navigation, a filtered view's query
    string included) and those the scenario causes on purpose: the bad funnel's 400 and the damaged lake's
    503 (both shown in the page)."""
    url = urlsplit((message.location or {}).get("url", ""))
    if "status of 400" in message.text and url.path.endswith("/status/explore") and "funnel=" in url.query:
        return None
    if "status of 401" in message.text and url.path.endswith("/dashboard"):
        return None
    if "status of 503" in message.text and url.path.endswith("/status/explore") and f"site={BLOG}" in url.query:
        return None  # the damaged lake's answer, shown in the page
    return console_error(message)


@pytest.fixture(params=[1200, 390], ids=["1200px", "390px"])
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": request.param, "height": 900}, user_agent=DEFAULT_UA)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda m: errors.append(text) if (text := _unexpected(m)) else None)
    yield opened
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


def _change(now: dict[str, Any], before: dict[str, Any], name: str) -> float | None:
    return round((now[name] - before[name]) * 100 / before[name], 1) if before[name] else None


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s}s" if s < 60 else f"{s // 60}m {s % 60:02d}s"


def _wait_for_visits(page: Any, visits: int) -> None:
    """Until the section shows an answer with that many visits and nothing is in flight."""
    page.wait_for_function(
        """n => document.querySelector('[data-testid=visits-section]').getAttribute('aria-busy') === 'false'
              && document.querySelector('[data-testid=headline-visits]')?.dataset.value === String(n)""",
        arg=visits,
        timeout=TIMEOUT_MS,
    )


def _shown(page: Any) -> dict[str, Any]:
    """The section as the page shows it: headline values, their changes and texts, lists, chips."""
    return dict(
        page.evaluate(
            """() => {
          const q = s => Array.from(document.querySelectorAll(s));
          const num = el => el && el.dataset.value !== undefined ? Number(el.dataset.value) : null;
          const out = {summary: {}, change: {}, change_text: {}, text: {}, lists: {}, pages: {}};
          for (const dd of q('[data-testid^=headline-]')) {
            const name = dd.dataset.testid.slice('headline-'.length);
            out.summary[name] = num(dd);
            out.text[name] = dd.textContent;
            const change = document.querySelector(`[data-testid=change-${name}]`);
            out.change[name] = num(change);
            out.change_text[name] = change.textContent;
          }
          for (const box of q('[data-testid^=list-]')) {
            const rows = Array.from(box.querySelectorAll('tbody tr[data-value]'));
            out.lists[box.dataset.testid.slice('list-'.length)] =
              rows.map(tr => [tr.dataset.value, num(tr.querySelector('[data-field=visits]'))]);
          }
          for (const tr of q('[data-testid=list-page] tbody tr[data-value]')) {
            out.pages[tr.dataset.value] = {time_on_page: num(tr.querySelector('[data-field=time_on_page]')),
                                           bounce_rate: num(tr.querySelector('[data-field=bounce_rate]'))};
          }
          out.chips = q('[data-testid=filter-chip]').map(c => c.textContent);
          out.tallies_hidden = q('.tally').every(el => el.getClientRects().length === 0);
          out.filtered_note = !document.querySelector('[data-testid=filtered-note]').hidden;
          out.page_scrolls = document.documentElement.scrollWidth > window.innerWidth;
          return out;
        }"""
        )
    )


def _check_view(page: Any, keep: Check, chips: list[str]) -> None:
    """The section shows exactly the script's sessions that ``keep`` keeps, against the previous period's."""
    now = lake.summary(s for s in NOW if keep(s))
    before = lake.summary(s for s in BEFORE if keep(s))
    _wait_for_visits(page, now["visits"])
    shown = _shown(page)
    assert shown["summary"] == now
    assert shown["change"] == {name: _change(now, before, name) for name in now}
    for name, change in shown["change"].items():  # up, down, or nothing without a base
        arrow = "" if change is None else "↑ " if change > 0 else "↓ " if change < 0 else ""
        assert shown["change_text"][name] == ("" if change is None else f"{arrow}{abs(change):g} %")
    assert shown["text"]["visit_duration"] == _duration(now["visit_duration"])
    assert shown["text"]["bounce_rate"] == f"{round(now['bounce_rate'] * 100, 1):g} %"
    kept = [s for s in NOW if keep(s)]
    for dim in ("country", "entry_page", "exit_page", "device"):
        assert shown["lists"][dim] == [list(row) for row in lake.top(kept, dim)], dim
    assert shown["lists"]["page"] == [list(row) for row in lake.page_visits(kept)]
    for path, seconds in lake.time_on_page(kept).items():
        assert shown["pages"][path]["time_on_page"] == seconds, path
    goals = sum(s.kind == "convert" for s in kept)
    assert shown["lists"]["goal"] == ([["Signup", goals], ["Visit /thanks", goals]] if goals else [])
    assert shown["chips"] == [f"{chip}×" for chip in chips]
    # every number shown is filtered: the /status panels are hidden while a filter is active
    assert shown["tallies_hidden"] is bool(chips) and shown["filtered_note"] is bool(chips)
    assert shown["page_scrolls"] is False


def _query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_visits_filters_in_the_url_and_a_funnel(mode: LocalMode, lake_dir: Path, page: Any) -> None:
    # GIVEN the dashboard on the last 7 days, then the shop picked in the site picker
    assert mode.status(SHOP)["explore"] is True  # the page shows the section because /status says so
    page.goto(mode.dashboard_url("range=7d"))
    page.locator("[data-testid=site-picker]").wait_for(state="visible", timeout=TIMEOUT_MS)
    _wait_for_visits(page, 1)  # the blog's one visit
    page.select_option("[data-testid=site-picker]", SHOP)

    # THEN the shop's visits, bounce rate, duration... and their change against the 7 days before
    _check_view(page, lambda s: True, [])
    assert page.locator("[data-testid=visits-period]").inner_text().endswith("(UTC)")

    # WHEN a page row is clicked, its answer held back: the spinner shows, the previous numbers stay
    held: list[Any] = []
    page.route("**/status/explore?*", lambda route: held.append(route))
    page.click("[data-testid=list-page] button[data-value='/pricing']")
    page.locator("[data-testid=visits-busy]").wait_for(state="visible", timeout=TIMEOUT_MS)
    assert page.get_attribute("[data-testid=headline-visits]", "data-value") == str(len(NOW))
    # AND a country row is clicked before that answer came: two chips, both in the URL
    page.click("[data-testid=list-country] button[data-value='DE']")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=filter-chip]').length === 2")
    page.wait_for_timeout(200)
    assert len(held) == 2
    held[1].continue_()  # the newer question's answer first, then the older one's: that one is dropped
    both = lake.summary(s for s in NOW if _on_pricing(s) and _in_germany(s))
    _wait_for_visits(page, both["visits"])
    with page.expect_response(held[0].request.url, timeout=TIMEOUT_MS) as older:
        held[0].continue_()
    assert older.value.ok  # the older answer arrived...
    page.unroute("**/status/explore?*")
    page.wait_for_timeout(200)  # ... and had its turn in the page's event loop

    # THEN the numbers are the visits to /pricing from Germany (AND), every one filtered
    _check_view(page, lambda s: _on_pricing(s) and _in_germany(s), ["Page is /pricing", "Country is Germany (DE)"])
    query = _query(page)
    assert (query["site"], query["f.page"], query["f.country"]) == ([SHOP], ["/pricing"], ["DE"])
    assert urlsplit(page.url).fragment == "range=7d"

    # WHEN the first chip is removed
    page.click("[data-testid=filter-chip][data-dimension=page]")

    # THEN the numbers are Germany's alone; the page filter left the URL
    _check_view(page, _in_germany, ["Country is Germany (DE)"])
    assert "f.page" not in _query(page) and _query(page)["f.country"] == ["DE"]

    # WHEN the page is reloaded (or the link shared): the same filtered view
    page.reload()
    _check_view(page, _in_germany, ["Country is Germany (DE)"])
    assert page.locator("[data-testid=site-picker]").input_value() == SHOP

    # WHEN a funnel of one step is asked: the API's refusal shows, the numbers stay
    page.fill("[data-testid=funnel-steps]", "/only-one")
    page.click("[data-testid=funnel-apply]")
    error = page.locator("[data-testid=funnel-error]")
    error.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "2 to 8 comma-separated steps" in error.inner_text() and "HTTP 400" in error.inner_text()
    assert page.locator("[data-testid=funnel]").is_hidden()

    # WHEN a real one is asked: each step's visits, conversion from the first, drop-off from the previous
    page.fill("[data-testid=funnel-steps]", ",".join(lake.FUNNEL))
    page.click("[data-testid=funnel-apply]")
    page.locator("[data-testid=funnel]").wait_for(state="visible", timeout=TIMEOUT_MS)
    germany = [s for s in NOW if _in_germany(s)]
    reached = [sum(s.funnel_reach() >= n for s in germany) for n in range(1, len(lake.FUNNEL) + 1)]
    steps = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid=funnel] tbody tr')).map(tr =>
             [tr.dataset.step, ...['visits', 'conversion_rate', 'drop_off'].map(f =>
               Number(tr.querySelector(`[data-field=${f}]`).dataset.value))])"""
    )
    assert steps == [
        [step, n, round(n / reached[0], 4), 0 if i == 0 else reached[i - 1] - n]
        for i, (step, n) in enumerate(zip(lake.FUNNEL, reached, strict=True))
    ]
    assert reached[-1] > 0 and page.locator("[data-testid=funnel-error]").is_hidden()
    assert _query(page)["funnel"] == [",".join(lake.FUNNEL)]
    _check_view(page, _in_germany, ["Country is Germany (DE)"])

    # AND clearing the filters brings the unfiltered panels of /status back
    page.click("[data-testid=filters-clear]")
    _check_view(page, lambda s: True, [])
    assert page.locator("[data-testid=visitor-count]").is_visible()

    # WHEN the blog's last 30 days are asked, whose lake holds a damaged object 20 days ago (the engine fails)
    page.select_option("[data-testid=site-picker]", BLOG)
    _wait_for_visits(page, 1)
    broken = lake_dir / "events" / f"site={BLOG}" / f"day={TODAY - timedelta(days=20)}" / "damaged.json.gz"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(b"not gzip at all")
    try:
        page.click("[data-range='30d']")
        _check_damaged_lake(page)
    finally:
        broken.unlink()


def _check_damaged_lake(page: Any) -> None:
    """The section says so, keeps its last numbers and stays usable; the rest of the page updates."""
    error = page.locator("[data-testid=visits-error]")
    error.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "HTTP 503" in error.inner_text() and "retrying in a minute" in error.inner_text()
    assert page.get_attribute("[data-testid=visits-section]", "aria-busy") == "false"
    assert page.get_attribute("[data-testid=headline-visits]", "data-value") == "1"
    assert page.locator("[data-testid=range-title]").inner_text() == "Last 30 days"
    page.click("[data-range='7d']")
    error.wait_for(state="hidden", timeout=TIMEOUT_MS)
    _wait_for_visits(page, 1)


def test_ten_thousand_scripted_visits_on_the_dashboard_and_in_sql(mode: LocalMode, lake_dir: Path, page: Any) -> None:
    # GIVEN the third site's 10,000 visit records of known sessions in local mode's lake
    expected = lake.summary(DOCS_SESSIONS)
    # WHEN the owner picks it on the dashboard, over the last 7 days
    page.goto(mode.dashboard_url("range=7d"))
    page.locator("[data-testid=site-picker]").wait_for(state="visible", timeout=TIMEOUT_MS)
    page.select_option("[data-testid=site-picker]", DOCS)
    # THEN every headline number and the lists are the script's
    _wait_for_visits(page, expected["visits"])
    shown = _shown(page)
    assert shown["summary"] == expected
    for dim in ("country", "entry_page", "exit_page", "device"):
        assert shown["lists"][dim] == [list(row) for row in lake.top(DOCS_SESSIONS, dim)], dim
    assert shown["lists"]["page"] == [list(row) for row in lake.page_visits(DOCS_SESSIONS)]
    # AND the owner's SQL over the same lake counts the same records and visits
    sql = (
        f"SELECT count(*) AS records, count(DISTINCT visitor) AS visitors, "
        f"count(*) FILTER (WHERE event IS NULL) AS pageviews FROM events WHERE site = '{DOCS}'"
    )
    result = CliRunner().invoke(app, ["query", sql, "--lake-dir", str(lake_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    records = sum(len(s.visits()) for s in DOCS_SESSIONS)
    assert json.loads(result.stdout) == [
        {"records": records, "visitors": expected["visitors"], "pageviews": expected["pageviews"]}
    ]
