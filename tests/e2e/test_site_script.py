"""Issue 21: the one script tag in a real single-page app, in headless Chromium, against local mode.

The app routes with the History API (pushState links, a replaceState of the same URL as frameworks do on
load, the back button) and loads ``/script.js`` from local mode on another origin; /status must then show
exactly the pages it went through, once each time they were entered.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from tests.e2e import test_dashboard as dashboard
from tests.e2e.localmode import LocalMode, pages_today, wait_for
from tests.support.pipeline import FIREFOX_UA
from tests.support.static import serve_page

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("e2e-browser")]

page = dashboard.page  # headless Chromium with a desktop User-Agent (headless ones are bots, not counted)
UPDATE_TIMEOUT_MS = dashboard.UPDATE_TIMEOUT_MS
WRITER_TIMEOUT_SECONDS = 30

# A single-page app: every path serves this page, links are routed by pushState, the view is rendered
# by the app itself. `vt` is called before the script has loaded (the documented queue stub).
APP = """<!doctype html><html lang=en><head><title>Shop</title>
<script>window.vt=window.vt||function(){{(vt.q=vt.q||[]).push(arguments)}};</script>
<script defer src="{api}/script.js{query}" data-site="{site}" data-count="visitor-count"></script>
</head><body>
<nav>{links}</nav>
<main id=view></main>
<p hidden>Visitors: <span id=visitor-count></span></p>
<script>
  function render() {{ document.getElementById("view").textContent = "page " + location.pathname; }}
  document.addEventListener("click", function (e) {{
    var a = e.target.closest("a[data-route]");
    if (!a) {{ return; }}
    e.preventDefault();
    history.pushState({{}}, "", a.getAttribute("href"));
    render();
  }});
  window.addEventListener("popstate", render);
  history.replaceState({{}}, "", location.href);  // what routers do on start: not a new page
  render();
</script>
</body></html>"""


def _app(api: str, slug: str, query: str = "", site: str = "shop.example") -> str:
    routes = [f"{slug}/{name}" for name in ("products", "cart", "checkout", "thanks")]
    links = "".join(f'<a data-route href="{route}">{route}</a> ' for route in routes)
    return APP.format(api=api, query=query, links=links, site=site)


def _pageviews(requests: list[str], api: str) -> list[str]:
    return [url for url in requests if url.startswith(f"{api}/?page=") and "&e=" not in url]


def _routes(slug: str) -> list[str]:
    return [f"{slug}/{name}" for name in ("home", "products", "cart", "checkout", "thanks")]


def _route_visits(mode: LocalMode, slug: str, site: str | None = None) -> Counter[str]:
    """Today's visits of each route of the app (its own slug: the shared local mode has other pages)."""
    return Counter({path: n for path, n in pages_today(mode, _routes(slug), site).items() if n})


def _by(body: dict[str, Any], name: str, key: str) -> Counter[str]:
    return Counter({row[key]: row["visits"] for row in body[name]})


def test_a_single_page_app_records_each_route_it_enters_once(local_mode: LocalMode, page: Any) -> None:
    api, slug = local_mode.url, "/spa"
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    with serve_page(_app(api, slug)) as site:
        # GIVEN the app opened on its home route from a Perplexity answer (a 1200 px wide window): one
        # pageview, and the total shown in the page
        assert _route_visits(local_mode, slug) == Counter()
        start = local_mode.status()
        before = start["visitor_count"]
        page.goto(f"{site}{slug}/home", referer="https://www.perplexity.ai/search/shop")
        page.locator("#visitor-count").wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
        assert int(page.text_content("#visitor-count").replace(",", "")) == before + 1

        # WHEN the visitor follows four client-side links, clicks the current one again, and goes back twice
        for name in ("products", "cart", "checkout", "thanks", "thanks"):
            page.click(f"a[href='{slug}/{name}']")
            page.wait_for_function(f"location.pathname === '{slug}/{name}'")
        page.go_back()  # popstate to the same URL (the repeated click pushed one): no pageview
        page.wait_for_function(f"location.pathname === '{slug}/thanks'")
        page.go_back()  # popstate: back on /checkout, a new pageview
        page.wait_for_function(f"location.pathname === '{slug}/checkout'")
        page.wait_for_load_state("networkidle")

    # THEN one pageview per route entered, none for the replaceState or the repeated click
    sent = _pageviews(requests, api)
    assert len(sent) == 6, sent
    expected = Counter({f"{slug}/home": 1, f"{slug}/products": 1, f"{slug}/cart": 1, f"{slug}/checkout": 2})
    expected[f"{slug}/thanks"] = 1
    assert wait_for(lambda: _route_visits(local_mode, slug) == expected, timeout=WRITER_TIMEOUT_SECONDS), _route_visits(
        local_mode, slug
    )
    assert local_mode.status()["visitor_count"] == before + 6
    # AND each client-side pageview names the previous route as its referrer; the first one, the real one
    assert "ref=https%3A%2F%2Fwww.perplexity.ai%2F" in sent[0]
    assert f"ref={site.replace(':', '%3A').replace('/', '%2F')}%2Fspa%2Fhome&" in sent[1]
    # AND the visit entered once, from an AI assistant; every pageview was on a laptop-sized screen of
    # the app's host (the client-side navigations are no new entrances)
    body = local_mode.status()
    grown = {name: _by(body, name, key) - _by(start, name, key) for name, key in DIMENSIONS}
    assert grown == {
        "channels": Counter({"AI Assistants": 1}),
        "screens": Counter({"laptop": 6}),
        "hostnames": Counter({"127.0.0.1": 6}),
    }


DIMENSIONS = (("channels", "channel"), ("screens", "screen"), ("hostnames", "hostname"))


def _events(body: dict[str, Any]) -> Counter[str]:
    return Counter({e["event"]: e["count"] for e in body["top_events"]})


def _properties(body: dict[str, Any]) -> Counter[tuple[str, str, str]]:
    return Counter({(p["event"], p["property"], p["value"]): p["count"] for p in body["top_properties"]})


# Local mode counting three sites (the stack's ``sites``; each test below has its own, so they do not meet
# in a site's goals or unique visitors) with goals on an event and on pages (the stack's ``goals``).
SHOP, DOCS = "shop.example", "docs.example"
SITES_ENV = {"SITES": f"blog.example,{SHOP},{DOCS}", "GOALS": "Signup,page:/gl/thanks*,page:/ev/thanks"}


@pytest.mark.local_mode(env=SITES_ENV)
def test_five_pages_two_events_and_an_outbound_click_on_a_phone_from_a_search(local_mode: LocalMode, page: Any) -> None:
    """The issue's scenario: a phone-sized visitor arrives from a search engine, the app (one site of several)
    shows five pages, two custom events fire (one queued before the script loaded) and the visitor leaves by
    an outbound link; the site's /status then shows exactly those pageviews, events, goal completions, one
    entrance from Organic Search and a phone; the default site's, none of it."""
    api, slug = local_mode.url, "/ev"
    page.set_viewport_size({"width": 390, "height": 800})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    with serve_page("<!doctype html><title>Elsewhere</title><p>another site</p>") as elsewhere:
        app = _app(api, slug, "?ext=outbound").replace(
            "<main id=view></main>",
            "<main id=view></main>"
            f'<a id=out href="{elsewhere}/docs?ref=shop#top">docs</a>'
            "<button id=buy onclick=\"vt('Add to cart', {sku: 'A1', qty: 2})\">buy</button>"
            "<script>vt('Signup', {plan: 'pro'});</script>",  # called before the deferred script loads
        )
        with serve_page(app) as site:
            # GIVEN the app with the outbound extension, a vt() call queued before the script loaded
            assert _route_visits(local_mode, slug, SHOP) == Counter()
            before, default_before = local_mode.status(SHOP), local_mode.status()
            page.goto(f"{site}{slug}/home", referer="https://www.google.com/")
            page.wait_for_function("typeof vt === 'function' && !vt.q")
            # WHEN the visitor goes through four more pages, adds to cart, then leaves through an outbound link
            for name in ("products", "cart", "checkout", "thanks"):
                page.click(f"a[href='{slug}/{name}']")
                page.wait_for_function(f"location.pathname === '{slug}/{name}'")
            page.click("#buy")
            page.click("#out")
            page.wait_for_url(f"{elsewhere}/docs?ref=shop#top")
            page.wait_for_load_state("networkidle")

    # THEN three events reached the API (the outbound one without the link's query or fragment)
    sent = [url for url in requests if url.startswith(f"{api}/?") and "&e=" in url]
    assert len(sent) == 3, sent

    assert all(f"&site={SHOP}" in url for url in sent)

    def tallied() -> Counter[str]:
        return _events(local_mode.status(SHOP)) - _events(before)

    expected = Counter({"Signup": 1, "Add to cart": 1, "Outbound Link: Click": 1})
    assert wait_for(lambda: tallied() == expected, timeout=WRITER_TIMEOUT_SECONDS), tallied()
    after = local_mode.status(SHOP)
    assert after["site"] == SHOP
    # AND they are events, not visits: the count grew by the five pageviews only, one per page
    assert after["visitor_count"] == before["visitor_count"] + 5
    assert _route_visits(local_mode, slug, SHOP) == Counter(dict.fromkeys(_routes(slug), 1))
    # AND the site's one visitor completed the event goal once and the page goal once: 100 % each
    goals = {g["goal"]: (g["completions"], g["unique_converters"], g["conversion_rate"]) for g in after["goals"]}
    assert goals == {"Signup": (1, 1, 1.0), "Visit /gl/thanks*": (0, 0, 0.0), "Visit /ev/thanks": (1, 1, 1.0)}
    # AND one entrance, from a search engine; five pageviews on a phone-sized screen
    grown = {name: _by(after, name, key) - _by(before, name, key) for name, key in DIMENSIONS[:2]}
    assert grown == {"channels": Counter({"Organic Search": 1}), "screens": Counter({"phone": 5})}
    assert after["events_today"] == before["events_today"] + 3
    assert _properties(after) - _properties(before) == Counter(
        dict.fromkeys(
            {
                ("Signup", "plan", "pro"),
                ("Add to cart", "sku", "A1"),
                ("Add to cart", "qty", "2"),
                ("Outbound Link: Click", "url", f"{elsewhere}/docs"),
            },
            1,
        )
    )
    # AND the deployment's default site counted none of it
    default = local_mode.status()
    assert default["site"] == "blog.example"
    assert (
        (default["visitor_count"], default["events_today"])
        == (0, 0)
        == (
            default_before["visitor_count"],
            default_before["events_today"],
        )
    )


def test_the_download_and_404_extensions_send_their_events(local_mode: LocalMode, page: Any) -> None:
    api = local_mode.url
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    with serve_page("<!doctype html><title>files</title><p>a file</p>") as files:
        html = (
            "<!doctype html><title>Not found</title>"
            f'<script defer src="{api}/script.js?ext=downloads,404" data-404></script>'
            f'<p>Nothing here. <a id=dl href="{files}/files/report.pdf?v=2">the report</a></p>'
        )
        with serve_page(html) as site:
            # GIVEN a "not found" page (data-404) with a link to a PDF
            page.goto(f"{site}/dl/missing")
            page.wait_for_function("typeof vt === 'function'")
            # WHEN the visitor downloads the file
            page.click("#dl")
            page.wait_for_url(f"{files}/files/report.pdf?v=2")
            page.wait_for_load_state("networkidle")

    # THEN the page sent a 404 event for its path and a File Download event for the file (without query)
    def tallied() -> dict[tuple[str, str, str], int]:
        rows = local_mode.status()["top_properties"]
        return {
            (p["event"], p["property"], p["value"]): p["count"] for p in rows if p["event"] in ("404", "File Download")
        }

    expected = {("404", "path", "/dl/missing"): 1, ("File Download", "url", f"{files}/files/report.pdf"): 1}
    assert wait_for(lambda: tallied() == expected, timeout=WRITER_TIMEOUT_SECONDS), tallied()
    assert len([url for url in requests if url.startswith(f"{api}/?") and "&e=" in url]) == 2


@pytest.mark.local_mode(env=SITES_ENV)
def test_goals_on_an_event_and_a_page_pattern_show_on_the_dashboard_of_their_site(
    local_mode: LocalMode, page: Any
) -> None:
    goals_mode = local_mode  # the only test of its site (docs.example): its visitors are the site's only ones
    api, slug = goals_mode.url, "/gl"
    with serve_page(
        _app(api, slug, site=DOCS).replace(
            "<main id=view></main>", "<main id=view></main><button id=signup onclick=\"vt('Signup')\">sign up</button>"
        )
    ) as site:
        # GIVEN a visitor who opens the app, reaches its thank-you route and signs up twice
        page.goto(f"{site}{slug}/home")
        page.wait_for_function("typeof vt === 'function' && !vt.q")
        page.click(f"a[href='{slug}/thanks']")
        page.wait_for_function(f"location.pathname === '{slug}/thanks'")
        page.click("#signup")
        page.click("#signup")
        page.wait_for_load_state("networkidle")
    # AND another visitor (another browser) who only reads a page
    other = httpx.get(
        f"{api}/", params={"page": f"{slug}/about", "site": DOCS}, headers={"User-Agent": FIREFOX_UA}, timeout=10
    )
    assert other.status_code == 200

    def goals() -> dict[str, tuple[int, int, float]]:
        rows = goals_mode.status(DOCS)["goals"]
        return {g["goal"]: (g["completions"], g["unique_converters"], g["conversion_rate"]) for g in rows}

    # THEN /status has both goals: 1 of the 2 visitors converted on each
    expected = {"Signup": (2, 1, 0.5), f"Visit {slug}/thanks*": (1, 1, 0.5), "Visit /ev/thanks": (0, 0, 0.0)}
    assert wait_for(lambda: goals() == expected, timeout=WRITER_TIMEOUT_SECONDS), goals()
    assert goals_mode.status(DOCS)["unique_visitors_today"] == 2

    # WHEN the owner opens the dashboard: it shows the default site, and offers every site
    page.goto(goals_mode.dashboard_url())
    picker = page.locator("[data-testid=site-picker]")
    picker.wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
    assert picker.locator("option").all_text_contents() == ["blog.example", SHOP, DOCS]
    assert picker.input_value() == "blog.example"
    # AND picks the app's site: its numbers, and the site kept in the address for a reload
    with page.expect_response(lambda r: "/status" in r.url and f"site={DOCS}" in r.url):
        picker.select_option(DOCS)
    assert page.url.split("#")[0].endswith(f"/dashboard?site={DOCS}")
    # (a function, not an expression: Playwright evaluates an expression string with eval, which the
    # dashboard's CSP refuses once the condition needs polling)
    page.wait_for_function("() => document.getElementById('visitor-count').textContent === '3'")
    panel = page.locator("[data-testid=goals-panel]")
    panel.wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)

    # THEN the Goals panel lists each goal, in declared order, with its completions, converters and rate
    def row(goal: str) -> list[str]:
        cells = page.locator(f"#goals tr[data-goal='{goal}'] td")
        return [text.strip() for text in cells.all_text_contents()]

    assert page.locator("#goals tr").evaluate_all("rows => rows.map(r => r.dataset.goal)") == [
        "Signup",
        f"Visit {slug}/thanks*",
        "Visit /ev/thanks",
    ]
    assert row("Signup") == ["Signup", "2", "1", "50.0 %"]
    assert row(f"Visit {slug}/thanks*") == [f"Visit {slug}/thanks*", "1", "1", "50.0 %"]

    # AND over the last 7 days (the range's own goal lines, from the days' counters and sketches)
    with page.expect_response(lambda r: "/status" in r.url and "range=7d" in r.url) as answer:
        page.click("[data-range='7d']")
    assert f"site={DOCS}" in answer.value.url  # the range of the site picked
    week = answer.value.json()["range"]
    assert {g["goal"]: (g["completions"], g["unique_converters"]) for g in week["goals"]} == {
        "Signup": (2, 1),
        f"Visit {slug}/thanks*": (1, 1),
        "Visit /ev/thanks": (0, 0),
    }
    # (rendered: the period shown is the range's, several days, no longer today's one day)
    page.wait_for_function("() => document.getElementById('range-period').textContent.indexOf('–') > 0")
    assert row("Signup") == ["Signup", "2", "1", "50.0 %"]
    assert row(f"Visit {slug}/thanks*") == [f"Visit {slug}/thanks*", "1", "1", "50.0 %"]
