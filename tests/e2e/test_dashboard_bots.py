"""The dashboard's "Automated traffic today" panel in a real browser (headless Chromium, Playwright), local mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.localmode import LocalMode, console_error, wait_for
from tests.support.events import DEFAULT_UA

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("e2e-browser")]

UPDATE_TIMEOUT_MS = 15_000  # the page polls every 5 s: a change must show within two polls
GOOGLEBOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def _open(browser: Any, width: int) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900}, user_agent=DEFAULT_UA)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(text) if (text := console_error(msg)) else None)
    return context, page, errors


def _visit(mode: LocalMode, user_agent: str, path: str = "/") -> int:
    response = httpx.get(f"{mode.url}/", params={"page": path}, headers={"User-Agent": user_agent}, timeout=10)
    assert response.status_code == 200
    return int(response.json()["visitor_count"])


def _rows(page: Any, testid: str) -> dict[str, str]:
    """The panel table's rows as {label: visits} (the label cell also holds the share bar, no text)."""
    cells = page.eval_on_selector_all(
        f"[data-testid={testid}] tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
    )
    return {row[0]: row[1] for row in cells if len(row) == 2}


def test_a_crawler_visit_shows_in_the_automated_panel_not_in_the_count(
    local_mode: LocalMode, browser: Any, tmp_path: Path
) -> None:
    # GIVEN a browser visit, then a Googlebot visit through local mode
    count = _visit(local_mode, DEFAULT_UA)
    assert _visit(local_mode, GOOGLEBOT_UA, "/robots-eye-view") == count  # a crawler does not move the count

    # ... and the writer has folded them into today's aggregates
    assert wait_for(lambda: any(b["agent"] == "Googlebot" for b in local_mode.status().get("top_bots", [])), timeout=30)

    # WHEN the dashboard is open on a desktop
    context, page, errors = _open(browser, 1200)
    try:
        page.goto(local_mode.dashboard_url())

        # THEN the panel shows the crawler class and the agent, and says what counts
        page.wait_for_function(
            "() => /Googlebot/.test(document.querySelector('[data-testid=top-bots]').textContent)",
            timeout=UPDATE_TIMEOUT_MS,
        )
        agents, classes = _rows(page, "top-bots"), _rows(page, "bots-by-class")
        assert int(agents["Googlebot"]) >= 1 and int(classes["crawler"]) >= int(agents["Googlebot"])
        assert "Only browsers count" in (page.text_content("[data-testid=automated-note]") or "")
        assert "visit" in (page.text_content("[data-testid=bots-today]") or "")
        assert _rows(page, "top-pages").get("/robots-eye-view") is None  # a bot is not a page view
        page.screenshot(path=str(tmp_path / "dashboard-bots-1200.png"), full_page=True)
    finally:
        context.close()
    assert errors == [], f"the page logged errors: {errors}"

    # ... and on a phone, the panel fits the width (no horizontal scrolling)
    context, page, errors = _open(browser, 390)
    try:
        page.goto(local_mode.dashboard_url())
        page.wait_for_function(
            "() => /Googlebot/.test(document.querySelector('[data-testid=top-bots]').textContent)",
            timeout=UPDATE_TIMEOUT_MS,
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("[data-testid=automated-panel]").screenshot(path=str(tmp_path / "dashboard-bots-390-panel.png"))
        page.screenshot(path=str(tmp_path / "dashboard-bots-390.png"), full_page=True)
    finally:
        context.close()
    assert errors == [], f"the page logged errors: {errors}"
