"""Dashboard v2 in a real browser (headless Chromium, Playwright): range picker, chart, panels, per-page view, opt-out.

The page is served as deployed (its own CSP from ``functions/status/page.py``) under a stage path, and
``./status``, ``./count`` and ``./badge.svg`` are answered by the test from a fixture of the status JSON
(``page.route``), so these tests depend on the page alone. One test at the end runs through local mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from functions.status import handler
from functions.status import page as dashboard_page
from tests.e2e.localmode import LocalMode, console_error, wait_for
from tests.support.events import DEFAULT_UA
from tests.support.static import serve_page

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("e2e-browser")]

TIMEOUT_MS = 15_000
WIDTHS = [1200, 390]
TODAY = date(2026, 12, 1)
RECORD_CSP = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
)
BADGE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="90" height="20"><rect width="90" height="20" fill="#555"/>'
    '<text x="6" y="14" fill="#fff" font-size="11">views 42</text></svg>'
)


# ---------------------------------------------------------------- the fixture of the status JSON


def _series(name: str) -> list[dict[str, Any]]:
    if name == "yesterday":
        return [{"period": (TODAY - timedelta(days=1)).isoformat(), "visits": 480}]
    if name in ("7d", "30d"):
        days = 7 if name == "7d" else 30
        return [
            {"period": (TODAY - timedelta(days=days - 1 - i)).isoformat(), "visits": 100 + 37 * i % 250}
            for i in range(days)
        ]
    months = [divmod(TODAY.year * 12 + TODAY.month - 1 - back, 12) for back in range(11, -1, -1)]
    months = [(y, m + 1) for y, m in months]
    return [{"period": f"{y}-{m:02d}", "visits": 9000 + 700 * i} for i, (y, m) in enumerate(months)]


RANGE_VISITS = {"yesterday": 480, "7d": 3_500, "30d": 15_250, "12mo": 150_400}
CUSTOM_VISITS = 999


def status_body(range_name: str | None = None) -> dict[str, Any]:
    """``GET /status`` as the spec of issue 13 shapes it (today's fields, plus ``range`` when asked for one)."""
    body: dict[str, Any] = {
        "visitor_count": 123_456,
        "visits_today": 321,
        "visits_last_hour": 17,
        "visits_last_24h": 400,
        "visits_last_7d": 2_100,
        "unique_visitors_today": 250,
        "bots_today": 40,
        "bot_share": 0.11,
        "bots_by_class": {"crawler": 30, "monitor": 10},
        "top_pages": [{"path": "/", "visits": 200}, {"path": "/post", "visits": 90}, {"path": "/about", "visits": 31}],
        "top_referrers": [{"referrer": "news.ycombinator.com", "visits": 50}],
        "browsers": [{"browser": "Chrome", "visits": 150}, {"browser": "Safari", "visits": 100}],
        "top_bots": [{"agent": "Googlebot", "visits": 25}],
        "hourly": [{"hour": f"2026-12-01T{h:02d}", "visits": (h * 7) % 30} for h in range(24)],
        "queue_depth": 0,
        "dlq_depth": 0,
        "live_visitors": 7,
        "countries": [
            {"country": "DE", "visits": 120},
            {"country": "US", "visits": 100},
            {"country": "unknown", "visits": 5},
        ],
        "devices": [
            {"device": "mobile", "visits": 180},
            {"device": "desktop", "visits": 130},
            {"device": "tablet", "visits": 11},
        ],
        "os": [{"os": "iOS", "visits": 120}, {"os": "Windows", "visits": 90}],
        "sources": [{"source": "newsletter", "visits": 40}],
        "mediums": [{"medium": "email", "visits": 40}],
        "campaigns": [{"campaign": "winter-sale", "visits": 33}],
        "generated_at": "2026-12-01T22:50:00Z",
    }
    if range_name is None:
        return body
    series = _series(range_name) if range_name in RANGE_VISITS else []
    days = {"yesterday": 1, "7d": 7, "30d": 30}.get(range_name)
    first = (TODAY - timedelta(days=1 if range_name == "yesterday" else (days or 365) - 1)).isoformat()
    visits = RANGE_VISITS.get(range_name, CUSTOM_VISITS)
    last = (TODAY - timedelta(days=1)).isoformat() if range_name == "yesterday" else TODAY.isoformat()
    body["range"] = {
        "name": range_name,
        "from": first if days or not series else series[0]["period"] + "-01",
        "to": last,
        "granularity": "month" if range_name == "12mo" else "day",
        "visits": visits,
        "bots": visits // 10,
        "unique_visitors": visits // 2,
        "series": series,
        "top_pages": [
            {"path": f"/only-in-{range_name}", "visits": visits // 3},
            {"path": "/post", "visits": 9},
        ],
        "top_referrers": [{"referrer": f"{range_name}.example.org", "visits": 12}],
        "browsers": [{"browser": "Firefox", "visits": 77}],
        "countries": [{"country": "FR", "visits": 66}],
        "devices": [{"device": "console", "visits": 3}],
        "os": [{"os": "Android", "visits": 55}],
        "sources": [{"source": f"src-{range_name}", "visits": 4}],
        "mediums": [{"medium": "cpc", "visits": 4}],
        "campaigns": [{"campaign": f"camp-{range_name}", "visits": 4}],
        "bots_by_class": {"scanner": 8},
        "top_bots": [{"agent": "Bingbot", "visits": 6}],
    }
    return body


# ---------------------------------------------------------------- serving the page, answering its requests


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The page as the status function serves it (same CSP and headers), under a REST stage path."""
    html = dashboard_page.DASHBOARD_PATH.read_text(encoding="utf-8")
    headers = {**handler.PAGE_HEADERS, "Content-Security-Policy": dashboard_page.content_security_policy(html)}

    with serve_page(html, path="/prod/dashboard", headers=headers) as url:
        yield url  # ./status and friends are answered by the test (routed in the browser), never here


@dataclass
class Dashboard:
    page: Any
    url: str
    width: int
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def status_queries(self) -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(u).query) for u in self.requests if urlsplit(u).path.endswith("/status")]


def _open(browser: Any, width: int, url: str, *, fixture: bool = True) -> tuple[Any, Dashboard]:
    context = browser.new_context(viewport={"width": width, "height": 900}, user_agent=DEFAULT_UA)
    page = context.new_page()
    dash = Dashboard(page, url, width)
    page.on("pageerror", lambda exc: dash.errors.append(str(exc)))
    page.on("console", lambda msg: dash.errors.append(text) if (text := console_error(msg)) else None)
    page.on("request", lambda request: dash.requests.append(request.url))
    page.add_init_script(RECORD_CSP)
    if fixture:
        page.route("**/status*", _answer_status)
        page.route("**/count*", _answer_count)
        page.route(
            "**/badge.svg*", lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=BADGE_SVG)
        )
    return context, dash


def _answer_status(route: Any) -> None:
    query = parse_qs(urlsplit(route.request.url).query)
    name = query.get("range", [None])[0]
    if "from" in query and "to" in query:
        body = status_body("custom")
        first, last = date.fromisoformat(query["from"][0]), date.fromisoformat(query["to"][0])
        series = [
            {"period": (first + timedelta(days=i)).isoformat(), "visits": 10 + i}
            for i in range((last - first).days + 1)
        ]
        body["range"].update({"name": "custom", "from": first.isoformat(), "to": last.isoformat(), "series": series})
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
        return
    if name is not None and name not in RANGE_VISITS and name != "today":
        route.fulfill(
            status=400, content_type="application/json", body=json.dumps({"error": f"unknown range {name!r}"})
        )
        return
    route.fulfill(status=200, content_type="application/json", body=json.dumps(status_body(name)))


def _answer_count(route: Any) -> None:
    path = parse_qs(urlsplit(route.request.url).query)["page"][0]
    counts = {"/post": (12, 3_456)}.get(path, (0, 0))
    route.fulfill(
        status=200,
        content_type="application/json",
        body=json.dumps({"page": path, "today": counts[0], "total": counts[1]}),
    )


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def dash(request: pytest.FixtureRequest, browser: Any, site: str) -> Iterator[Dashboard]:
    context, dashboard = _open(browser, request.param, site)
    try:
        yield dashboard
        violations = dashboard.page.evaluate("window.__csp")
    finally:
        context.close()
    assert violations == [], f"CSP violations: {violations}"
    assert dashboard.errors == [], f"the page logged errors: {dashboard.errors}"


# ---------------------------------------------------------------- reading the page


def _rows(page: Any, testid: str) -> dict[str, str]:
    cells = page.eval_on_selector_all(
        f"[data-testid={testid}] tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
    )
    return {row[0]: row[1] for row in cells if len(row) == 2}


def _wait_loaded(page: Any, visits: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('[data-testid=range-visits]').dataset.value === String(n)",
        arg=visits,
        timeout=TIMEOUT_MS,
    )


def _chart(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => {
              const svg = document.getElementById('chart');
              const box = svg.getBoundingClientRect();
              const labels = Array.from(svg.querySelectorAll('text.x-label')).map(t => {
                const r = t.getBoundingClientRect();
                const size = parseFloat(getComputedStyle(t).fontSize);
                return {text: t.textContent, left: r.left, right: r.right, size: size};
              });
              return {bars: svg.querySelectorAll('rect.bar').length, width: box.width, left: box.left, right: box.right,
                      viewBox: svg.viewBox.baseVal.width, labels: labels,
                      periods: Array.from(svg.querySelectorAll('rect.bar')).map(b => b.dataset.period)};
            }"""
        )
    )


def _assert_readable_labels(chart: dict[str, Any]) -> None:
    labels = sorted(chart["labels"], key=lambda label: label["left"])
    assert labels, "the chart has no axis labels"
    assert abs(chart["viewBox"] - chart["width"]) < 2, "the chart is scaled: its text would shrink"
    for label in labels:
        assert label["size"] >= 10, f"label {label['text']!r} is too small to read"
        assert chart["left"] - 0.5 <= label["left"] and label["right"] <= chart["right"] + 0.5, (
            f"{label} leaves the chart"
        )
    for a, b in zip(labels, labels[1:], strict=False):
        assert a["right"] <= b["left"], f"axis labels overlap: {a} and {b}"


def _no_horizontal_scroll(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


# ---------------------------------------------------------------- the tests


def test_range_picker_fetches_and_shows_each_range(dash: Dashboard) -> None:
    page = dash.page
    # GIVEN the dashboard, opened without a range: today, from the plain ./status (hourly chart)
    page.goto(dash.url)
    _wait_loaded(page, 321)
    assert dash.status_queries()[0] == {}
    assert page.get_attribute("[data-range=today]", "aria-pressed") == "true"
    assert _chart(page)["bars"] == 24
    _assert_readable_labels(_chart(page))
    page.screenshot(path=f"/tmp/dashboard-v2-{dash.width}-today.png", full_page=True)

    for name, label, bars in (
        ("yesterday", "Yesterday", 1),
        ("7d", "7 days", 7),
        ("30d", "30 days", 30),
        ("12mo", "12 months", 12),
    ):
        # WHEN a range is picked
        page.get_by_role("button", name=label, exact=True).click()

        # THEN it is fetched, kept in the URL hash, and its numbers, series and lists are shown
        _wait_loaded(page, RANGE_VISITS[name])
        assert dash.status_queries()[-1] == {"range": [name]}
        assert page.evaluate("location.hash") == f"#range={name}"
        assert page.get_attribute(f"[data-range='{name}']", "aria-pressed") == "true"
        chart = _chart(page)
        assert chart["bars"] == bars == len(_series(name))
        assert chart["periods"] == [p["period"] for p in _series(name)]
        _assert_readable_labels(chart)
        assert page.get_attribute("[data-testid=range-unique]", "data-value") == str(RANGE_VISITS[name] // 2)
        assert page.get_attribute("[data-testid=range-bots]", "data-value") == str(RANGE_VISITS[name] // 10)
        assert f"/only-in-{name}" in _rows(page, "top-pages")
        assert _rows(page, "top-referrers") == {f"{name}.example.org": "12"}
        assert _rows(page, "campaigns") == {f"camp-{name}": "4"}
        assert _rows(page, "top-bots") == {"Bingbot": "6"}
        assert page.locator("[data-testid=range-notice]").is_hidden()
        _no_horizontal_scroll(page, dash.width)
        if name in ("30d", "12mo"):
            page.screenshot(path=f"/tmp/dashboard-v2-{dash.width}-{name}.png", full_page=True)

    # ... the hash survives a reload, and a link with #range=30d opens on 30 days
    page.reload()
    _wait_loaded(page, RANGE_VISITS["12mo"])
    assert dash.status_queries()[-1] == {"range": ["12mo"]}
    page.goto(dash.url + "#range=30d")
    _wait_loaded(page, RANGE_VISITS["30d"])
    assert _chart(page)["bars"] == 30

    # ... and Today goes back to the plain ./status and the hourly chart
    page.get_by_role("button", name="Today", exact=True).click()
    _wait_loaded(page, 321)
    assert dash.status_queries()[-1] == {} and page.evaluate("location.hash") == ""
    assert _chart(page)["bars"] == 24


def test_panels_show_the_status_fixture(dash: Dashboard) -> None:
    page = dash.page
    page.goto(dash.url)
    _wait_loaded(page, 321)

    assert page.get_attribute("[data-testid=live-visitors]", "data-value") == "7"
    assert page.text_content("[data-testid=visitor-count]") == "123,456"
    assert _rows(page, "countries") == {"Germany (DE)": "120", "United States (US)": "100", "Unknown": "5"}
    assert _rows(page, "devices") == {"Mobile": "180", "Desktop": "130", "Tablet": "11"}
    assert _rows(page, "os") == {"iOS": "120", "Windows": "90"}
    assert _rows(page, "sources") == {"newsletter": "40"}
    assert _rows(page, "mediums") == {"email": "40"}
    assert _rows(page, "campaigns") == {"winter-sale": "33"}
    assert _rows(page, "top-pages") == {"/": "200", "/post": "90", "/about": "31"}
    assert _rows(page, "top-referrers") == {"news.ycombinator.com": "50"}
    assert _rows(page, "browsers") == {"Chrome": "150", "Safari": "100"}
    assert _rows(page, "bots-by-class") == {"crawler": "30", "monitor": "10"}
    assert _rows(page, "top-bots") == {"Googlebot": "25"}
    assert "40 visits" in (page.text_content("[data-testid=bots-today]") or "")
    _no_horizontal_scroll(page, dash.width)

    # a range's lists replace today's in every panel
    page.get_by_role("button", name="30 days", exact=True).click()
    _wait_loaded(page, RANGE_VISITS["30d"])
    assert _rows(page, "countries") == {"France (FR)": "66"}
    assert _rows(page, "devices") == {"Console": "3"}
    assert _rows(page, "os") == {"Android": "55"}
    assert _rows(page, "browsers") == {"Firefox": "77"}
    assert _rows(page, "bots-by-class") == {"scanner": "8"}
    assert page.get_attribute("[data-testid=live-visitors]", "data-value") == "7"
    assert page.text_content("[data-testid=range-period]") == "2 Nov – 1 Dec 2026"


def test_a_page_of_top_pages_shows_its_counts_and_badge(dash: Dashboard) -> None:
    page = dash.page
    page.goto(dash.url)
    _wait_loaded(page, 321)

    # WHEN /post is picked in the top pages
    page.locator("[data-testid=top-pages] button[data-page='/post']").click()

    # THEN its counts come from ./count (under the same stage path), with a badge snippet to copy
    page.wait_for_selector("[data-testid=page-total][data-value]", timeout=TIMEOUT_MS)
    assert any(
        urlsplit(u).path == "/prod/count" and parse_qs(urlsplit(u).query) == {"page": ["/post"]} for u in dash.requests
    )
    assert page.text_content("[data-testid=page-view-path]") == "/post"
    assert page.text_content("[data-testid=page-today]") == "12"
    assert page.text_content("[data-testid=page-total]") == "3,456"
    origin = dash.url.rsplit("/prod/", 1)[0]
    snippet = page.input_value("[data-testid=badge-snippet]")
    assert snippet == f'<img src="{origin}/prod/badge.svg?page=%2Fpost" alt="page views">'
    page.locator("[data-testid=badge-preview]").wait_for(state="visible", timeout=TIMEOUT_MS)
    page.click("[data-testid=badge-copy]")
    page.wait_for_function("() => document.querySelector('[data-testid=badge-copied]').textContent !== ''")
    _no_horizontal_scroll(page, dash.width)
    page.locator("[data-testid=page-view]").screenshot(path=f"/tmp/dashboard-v2-{dash.width}-page-view.png")

    # ... and Close hides it again
    page.click("[data-testid=page-view-close]")
    assert page.locator("[data-testid=page-view]").is_hidden()


def test_dont_count_this_browser_sets_and_clears_the_opt_out(dash: Dashboard) -> None:
    page = dash.page
    page.goto(dash.url)
    _wait_loaded(page, 321)
    toggle = page.get_by_label("Don’t count this browser")
    assert not toggle.is_checked()
    note = page.text_content("[data-testid=optout-note]") or ""
    assert "?vt_optout=1" in note and "origin" in note and dash.url.rsplit("/prod/", 1)[0] in note

    toggle.check()
    assert page.evaluate("localStorage.getItem('visitor-tracker-opt-out')") == "1"
    page.reload()
    _wait_loaded(page, 321)
    assert page.get_by_label("Don’t count this browser").is_checked()

    page.get_by_label("Don’t count this browser").uncheck()
    assert page.evaluate("localStorage.getItem('visitor-tracker-opt-out')") is None


def test_custom_dates_fetch_from_and_to(dash: Dashboard) -> None:
    page = dash.page
    page.goto(dash.url)
    _wait_loaded(page, 321)

    # WHEN custom dates are given (in the wrong order)
    page.click("[data-testid=custom-range] summary")
    page.fill("[data-testid=custom-from]", "2026-11-20")
    page.fill("[data-testid=custom-to]", "2026-11-10")
    page.click("[data-testid=custom-apply]")

    # THEN from/to are fetched in order, kept in the hash, and their 11 days are charted
    _wait_loaded(page, CUSTOM_VISITS)
    assert dash.status_queries()[-1] == {"from": ["2026-11-10"], "to": ["2026-11-20"]}
    assert page.evaluate("location.hash") == "#from=2026-11-10&to=2026-11-20"
    assert _chart(page)["bars"] == 11
    _assert_readable_labels(_chart(page))
    assert page.text_content("[data-testid=range-title]") == "10 Nov – 20 Nov 2026"
    assert page.locator("[data-testid=range-picker] [aria-pressed=true]").count() == 0
    _no_horizontal_scroll(page, dash.width)

    # ... and a reload keeps them
    page.reload()
    _wait_loaded(page, CUSTOM_VISITS)
    assert page.input_value("[data-testid=custom-from]") == "2026-11-10"


def test_a_bad_range_is_reported_from_its_json_error(browser: Any, site: str) -> None:
    context, dash = _open(browser, 1200, site)
    try:
        dash.page.goto(site + "#range=7d")
        _wait_loaded(dash.page, RANGE_VISITS["7d"])
        dash.page.unroute("**/status*")
        dash.page.route(
            "**/status*",
            lambda route: route.fulfill(
                status=400, content_type="application/json", body='{"error": "from is after to"}'
            ),
        )
        dash.page.evaluate("location.hash = '#from=2026-12-09&to=2026-12-01'")
        error = dash.page.locator("[data-testid=error]")
        error.wait_for(state="visible", timeout=TIMEOUT_MS)
        assert "from is after to" in (error.text_content() or "")
        assert dash.status_queries()[-1] == {"from": ["2026-12-09"], "to": ["2026-12-01"]}
    finally:
        context.close()
    assert [e for e in dash.errors if "status of 400" not in e] == []


def test_full_page_screenshots(browser: Any, site: str) -> None:
    """The screenshots a person looks at: 7 days with a page picked, at desktop and phone widths."""
    for width in WIDTHS:
        context, dash = _open(browser, width, site)
        try:
            dash.page.goto(site + "#range=7d")
            _wait_loaded(dash.page, RANGE_VISITS["7d"])
            dash.page.locator("[data-testid=top-pages] button[data-page='/post']").click()
            dash.page.wait_for_selector("[data-testid=page-total][data-value]", timeout=TIMEOUT_MS)
            dash.page.locator("[data-testid=badge-preview]").wait_for(state="visible", timeout=TIMEOUT_MS)
            _no_horizontal_scroll(dash.page, width)
            dash.page.screenshot(path=f"/tmp/dashboard-v2-{width}.png", full_page=True)
        finally:
            context.close()
        assert dash.errors == [], f"the page logged errors at {width} px: {dash.errors}"


# ---------------------------------------------------------------- through local mode


@pytest.mark.local_mode(own=True)  # the range's top ten pages must be this test's
def test_seven_days_through_local_mode(local_mode: LocalMode, browser: Any) -> None:
    # GIVEN visits through local mode's ingest as the snippet sends them (path and query), one from a campaign link
    for path in ("/v2-home", "/v2-post?utm_source=newsletter&utm_medium=email&utm_campaign=v2-launch", "/v2-post"):
        response = httpx.get(
            f"{local_mode.url}/", params={"page": path}, headers={"User-Agent": DEFAULT_UA}, timeout=10
        )
        assert response.status_code == 200

    def seven_days() -> dict[str, Any]:
        response = httpx.get(f"{local_mode.url}/status", params={"range": "7d"}, headers=local_mode.auth, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json()["range"])

    # ... once the writer has folded them in
    assert wait_for(lambda: {"page": "/v2-post", "visits": 2} in _pages(seven_days()), timeout=30), seven_days()
    expected = seven_days()

    # WHEN the dashboard shows 7 days (no route fixture: the real status function answers)
    for width in WIDTHS:
        context, dash = _open(browser, width, local_mode.dashboard_url(), fixture=False)
        try:
            dash.page.goto(local_mode.dashboard_url("range=7d"))
            _wait_loaded(dash.page, expected["visits"])
            assert dash.status_queries()[-1] == {"range": ["7d"]}

            # THEN one bar per day of the series, with readable labels, and the range's pages and campaigns
            chart = _chart(dash.page)
            assert chart["bars"] == len(expected["series"]) == 7
            assert chart["periods"] == [p["period"] for p in expected["series"]]
            _assert_readable_labels(chart)
            pages = _rows(dash.page, "top-pages")
            assert pages.get("/v2-post") == "2" and pages.get("/v2-home") == "1", pages
            assert _rows(dash.page, "sources").get("newsletter") == "1"
            assert _rows(dash.page, "mediums").get("email") == "1"
            assert _rows(dash.page, "campaigns").get("v2-launch") == "1"
            assert dash.page.locator("[data-testid=range-notice]").is_hidden()
            assert dash.page.get_attribute("[data-testid=live-visitors]", "data-value") is not None

            # ... and the per-page view reads the real /count, with the real badge
            dash.page.locator("[data-testid=top-pages] button[data-page='/v2-post']").click()
            dash.page.wait_for_selector("[data-testid=page-total][data-value]", timeout=TIMEOUT_MS)
            assert dash.page.get_attribute("[data-testid=page-total]", "data-value") == "2"
            assert dash.page.get_attribute("[data-testid=page-today]", "data-value") == "2"
            dash.page.locator("[data-testid=badge-preview]").wait_for(state="visible", timeout=TIMEOUT_MS)
            assert f"{local_mode.url}/badge.svg?page=%2Fv2-post" in dash.page.input_value("[data-testid=badge-snippet]")
            _no_horizontal_scroll(dash.page, width)
            dash.page.screenshot(path=f"/tmp/dashboard-v2-local-{width}.png", full_page=True)
            violations = dash.page.evaluate("window.__csp")
        finally:
            context.close()
        assert violations == [] and dash.errors == [], (violations, dash.errors)


def _pages(range_body: dict[str, Any]) -> list[dict[str, Any]]:
    """The range's top pages as [{"page": path, "visits": n}], whatever the path's field is called."""
    return [
        {"page": p.get("path", p.get("page")), "visits": p.get("visits", p.get("count"))}
        for p in range_body.get("top_pages", [])
    ]
