"""Issue 23: AI crawlers from imported access logs, on the dashboard in headless Chromium, local mode.

A generated CloudFront standard log (gzip) and an nginx log are imported twice with the real
command (``python -m visitor_tracker.cli import-logs``, finding local mode as a user's shell would);
the tallies after the second import equal those after the first, and the dashboard's automated-traffic
panel shows them as "AI crawlers by page" over a range.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.localmode import LocalMode, console_error
from tests.support.accesslogs import CHROME, CLAUDEBOT, GPTBOT, PERPLEXITY, Request, write_cloudfront_gz, write_nginx
from tests.support.events import DEFAULT_UA
from visitor_tracker.state import STATE_ENV

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("e2e-browser")]

UPDATE_TIMEOUT_MS = 15_000
EXPECTED = [
    {"page": "/pricing", "agent": "GPTBot", "visits": 3},
    {"page": "/docs/setup", "agent": "ClaudeBot", "visits": 2},
    {"page": "/blog/launch", "agent": "PerplexityBot", "visits": 1},
    {"page": "/docs/setup", "agent": "GPTBot", "visits": 1},
]


def _logs(folder: Path) -> list[Path]:
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    cloudfront = [Request(when, "/pricing", GPTBOT)] * 3 + [
        Request(when, "/docs/setup", GPTBOT),
        Request(when, "/", CHROME),
    ]
    nginx = [
        Request(when, "/docs/setup?ref=x", CLAUDEBOT),
        Request(when, "/docs/setup", CLAUDEBOT),
        Request(when, "/blog/launch", PERPLEXITY),
        Request(when, "/blog/launch", CHROME),
    ]
    return [
        write_cloudfront_gz(folder / "E1EXAMPLE.2026-12-03-14.a1b2.gz", cloudfront),
        write_nginx(folder / "access.log", nginx),
    ]


def _import(mode: LocalMode, files: list[Path]) -> str:
    env = {**os.environ, STATE_ENV: str(mode.state_file)}
    result = subprocess.run(
        [sys.executable, "-m", "visitor_tracker.cli", "import-logs", *map(str, files), "--site", "default"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _ai_pages(mode: LocalMode) -> list[dict[str, Any]]:
    response = httpx.get(f"{mode.url}/status", params={"range": "7d"}, headers=mode.auth, timeout=10)
    assert response.status_code == 200
    return list(response.json()["range"]["ai_pages"])


def test_imported_ai_crawlers_show_by_page_and_a_second_import_changes_nothing(
    local_mode: LocalMode, browser: Any, tmp_path: Path
) -> None:
    files = _logs(tmp_path)
    first = _import(local_mode, files)
    assert "7 automated requests tallied, 2 browser requests skipped" in first
    once = _ai_pages(local_mode)
    second = _import(local_mode, files)
    assert "had been imported before: left unchanged" in second
    assert _ai_pages(local_mode) == once == EXPECTED

    context = browser.new_context(viewport={"width": 1200, "height": 900}, user_agent=DEFAULT_UA)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(text) if (text := console_error(msg)) else None)
    try:
        page.goto(local_mode.dashboard_url("range=7d"))
        page.wait_for_function(
            "() => /PerplexityBot/.test(document.querySelector('[data-testid=ai-pages]').textContent)",
            timeout=UPDATE_TIMEOUT_MS,
        )
        rows = page.eval_on_selector_all(
            "[data-testid=ai-pages] tbody tr",
            "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
        )
        assert rows == [[r["page"], r["agent"], str(r["visits"])] for r in EXPECTED]
        classes = page.eval_on_selector_all(
            "[data-testid=bots-by-class] tbody tr", "rows => rows.map(r => r.cells[0].textContent.trim())"
        )
        assert "ai-crawler" in classes
        page.locator("[data-testid=automated-panel]").screenshot(path=str(tmp_path / "dashboard-ai-crawlers.png"))
    finally:
        context.close()
    assert errors == [], f"the page logged errors: {errors}"
