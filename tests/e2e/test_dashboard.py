"""The dashboard in a real browser (Debian's headless Chromium driven by Playwright) against local mode."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.localmode import ROOT, LocalMode, pages_today, queue_depth, wait_for
from tests.support.events import DEFAULT_UA
from tests.support.static import serve_page

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("e2e-browser")]

# The page polls every 5 s: a change must show within two polls.
UPDATE_TIMEOUT_MS = 15_000
POLL_MS = 5_000


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # A desktop browser's User-Agent: "HeadlessChrome" is (rightly) classified as a bot and not counted.
    context = browser.new_context(viewport={"width": 1200, "height": 900}, user_agent=DEFAULT_UA)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and not _expected(msg.text) else None)
    yield page
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


def _expected(console_error: str) -> bool:
    """The browser logs every refused fetch: the API-key and outage tests cause these on purpose."""
    return any(f"status of {code}" in console_error for code in (401, 403, 503))


def _visit(mode: LocalMode, path: str = "/") -> int:
    response = httpx.get(f"{mode.url}/", params={"page": path}, headers={"User-Agent": DEFAULT_UA}, timeout=10)
    assert response.status_code == 200
    return int(response.json()["visitor_count"])


def _shown_count(page: Any) -> int:
    return int(page.get_attribute("[data-testid=visitor-count]", "data-value"))


def test_dashboard_shows_the_count_and_follows_new_visits(local_mode: LocalMode, page: Any, tmp_path: Path) -> None:
    # GIVEN some visits and the dashboard open in the browser
    for path in ("/", "/blog", "/blog"):
        count = _visit(local_mode, path)
    page.goto(local_mode.dashboard_url())

    # THEN it shows the current count once the writer has counted them (CSP, inline script and
    # ./status all working)
    page.wait_for_function(
        "n => document.querySelector('[data-testid=visitor-count]').dataset.value === String(n)",
        arg=count,
        timeout=UPDATE_TIMEOUT_MS,
    )
    assert _shown_count(page) == count
    assert page.locator("[data-testid=dlq-banner]").is_hidden()
    assert page.locator("[data-testid=hourly-chart] rect.bar").count() == 24

    # WHEN someone else visits the site
    new_count = _visit(local_mode, "/pricing")

    # THEN the next poll shows the new count, without a reload
    page.wait_for_function(
        "n => document.querySelector('[data-testid=visitor-count]').dataset.value === String(n)",
        arg=new_count,
        timeout=UPDATE_TIMEOUT_MS,
    )
    assert page.text_content("[data-testid=visitor-count]") == f"{new_count:,}"
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)


def test_dashboard_warns_when_the_dlq_is_not_empty(local_mode: LocalMode, page: Any) -> None:
    # GIVEN a dead-lettered message
    sqs = local_mode.client("sqs")
    assert queue_depth(sqs, local_mode.state.dlq_url) == 0, "a test left a dead letter in the shared local mode"
    sqs.send_message(QueueUrl=local_mode.state.dlq_url, MessageBody='{"dead": true}')
    try:
        # WHEN the dashboard loads
        page.goto(local_mode.dashboard_url())

        # THEN a warning banner says so
        banner = page.locator("[data-testid=dlq-banner]")
        banner.wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
        assert banner.get_attribute("role") == "alert"
        assert page.text_content("[data-testid=dlq-banner-count]") == "1"
    finally:
        sqs.purge_queue(QueueUrl=local_mode.state.dlq_url)


def test_dashboard_asks_once_for_an_api_key_and_sends_it(local_mode: LocalMode, page: Any) -> None:
    # GIVEN a status endpoint that wants an API key (as the stack can require): 403 without it
    seen_keys: list[str | None] = []

    def require_key(route: Any, request: Any) -> None:
        key = request.headers.get("x-api-key")
        seen_keys.append(key)
        if key != "s3cret-key":
            route.fulfill(status=403, content_type="application/json", body='{"message": "Forbidden"}')
        else:
            route.continue_()

    page.route("**/status", require_key)
    page.goto(local_mode.dashboard_url())

    # WHEN the page is refused, it shows a labelled key form; the key is typed in once
    page.locator("[data-testid=key-panel]").wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
    page.get_by_label("API key", exact=True).fill("s3cret-key")
    page.click("[data-testid=api-key-save]")

    # THEN the status loads with the key in x-api-key, and the key is kept in localStorage
    page.wait_for_selector("[data-testid=visitor-count][data-value]", timeout=UPDATE_TIMEOUT_MS)
    assert page.locator("[data-testid=key-panel]").is_hidden()
    assert seen_keys[0] is None and seen_keys[-1] == "s3cret-key"
    assert page.evaluate("localStorage.getItem('visitor-tracker.api-key')") == "s3cret-key"

    # ... and a reload does not ask again
    page.reload()
    page.wait_for_selector("[data-testid=visitor-count][data-value]", timeout=UPDATE_TIMEOUT_MS)
    assert page.locator("[data-testid=key-panel]").is_hidden()


def test_docs_snippet_counts_a_visit_from_another_origin(local_mode: LocalMode, page: Any) -> None:
    # GIVEN a site on another origin whose page carries the snippet of docs/snippet.md, unchanged
    # except for API_URL
    doc = (ROOT / "docs" / "snippet.md").read_text()
    snippet = re.search(r"```html\n(.*?)```", doc, re.DOTALL)
    assert snippet is not None, "docs/snippet.md lost its html block"
    html = re.sub(r'var API_URL = "[^"]*"', f"var API_URL = {json.dumps(local_mode.url)}", snippet.group(1))
    before = local_mode.status()["visitor_count"]

    with serve_page(f"<!doctype html><html lang=en><head><title>Blog</title></head><body>{html}</body></html>") as site:
        # WHEN a visitor opens one of its pages
        page.goto(f"{site}/blog/post-1")

        # THEN the visit is counted across origins (CORS) and the page shows the new total
        page.locator(".visitor-count").wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
        shown = int(page.text_content("#visitor-count").replace(",", ""))
    assert shown == before + 1

    # ... and, once the writer has run, its page is tallied once (the tally /status ranks its top pages by)
    assert wait_for(lambda: pages_today(local_mode, ["/blog/post-1"]) == {"/blog/post-1": 1}, timeout=30)


def test_dashboard_reports_a_failing_status_and_recovers(local_mode: LocalMode, page: Any) -> None:
    # GIVEN a status endpoint that fails once (503), then answers again
    calls: list[int] = []

    def flaky(route: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            route.fulfill(status=503, content_type="application/json", body='{"error": "unavailable"}')
        else:
            route.continue_()

    page.route("**/status", flaky)

    # WHEN the dashboard loads, THEN it shows the error as an alert, not a broken page ...
    page.clock.install()  # the page's own clock (time flows), so that its next poll can be brought forward
    page.goto(local_mode.dashboard_url())
    error = page.locator("[data-testid=error]")
    error.wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
    assert error.get_attribute("role") == "alert"
    assert "HTTP 503" in (error.text_content() or "")

    # ... and the next poll (its timer moved on to now) recovers by itself
    page.clock.fast_forward(POLL_MS)
    page.wait_for_selector("[data-testid=visitor-count][data-value]", timeout=UPDATE_TIMEOUT_MS)
    assert error.is_hidden()
