"""Issue 13's per-page counter through local mode: GET /count (JSON) and GET /badge.svg (SVG), served by
the status function from the aggregates the writer keeps; neither counts a visit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import test_dashboard as dashboard
from tests.e2e.localmode import ROOT, LocalMode, wait_for
from tests.support.events import DEFAULT_UA
from tests.support.static import serve_page

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-browser")]

# The headless Chromium fixtures of the dashboard tests (a desktop User-Agent: the visits count).
page = dashboard.page
UPDATE_TIMEOUT_MS = dashboard.UPDATE_TIMEOUT_MS

WRITER_TIMEOUT_SECONDS = 30


def _count(http: httpx.Client, path: str) -> dict[str, Any] | None:
    response = http.get("/count", params={"page": path})
    return dict(response.json()) if response.status_code == 200 else None


def test_count_and_badge_show_a_pages_visits_without_counting_one(local_mode: LocalMode) -> None:
    with httpx.Client(base_url=local_mode.url, headers={"User-Agent": DEFAULT_UA}, timeout=10) as http:
        # GIVEN 3 browser visits to /post and 1 to /other, written by the writer
        before = local_mode.status()["visitor_count"]
        for page in ("/post", "/post", "/other", "/post"):
            assert http.get("/", params={"page": page}).status_code == 200
        assert wait_for(lambda: local_mode.status()["visitor_count"] == before + 4, timeout=WRITER_TIMEOUT_SECONDS), (
            local_mode.output()
        )

        # WHEN the page's count is asked for
        # THEN it is that page's visits today and in all, the other page's apart
        expected = {"page": "/post", "today": 3, "total": 3}
        assert wait_for(lambda: _count(http, "/post") == expected, timeout=WRITER_TIMEOUT_SECONDS), _count(
            http, "/post"
        )
        response = http.get("/count", params={"page": "/post"})
        assert response.headers["content-type"].startswith("application/json")
        assert _count(http, "/other") == {"page": "/other", "today": 1, "total": 1}

        # AND the badge shows it as an SVG, the label escaped, cacheable for a minute
        badge = http.get("/badge.svg", params={"page": "/post", "label": "<script>"})
        assert badge.status_code == 200
        assert badge.headers["content-type"].startswith("image/svg+xml")
        assert "max-age=60" in badge.headers["cache-control"]
        assert badge.text.lstrip().startswith(("<svg", "<?xml"))
        assert ">3</text>" in badge.text  # the count, as the badge's right-hand text
        assert "<script>" not in badge.text
        assert "&lt;script&gt;" in badge.text

        # AND /count without a page is a 400 JSON error (the REST API's validator; local mode does the same)
        missing = http.get("/count")
        assert missing.status_code == 400
        assert missing.headers["content-type"].startswith("application/json")
        assert "error" in missing.json()

        # AND none of these reads counted a visit
        assert local_mode.status()["visitor_count"] == before + 4
        assert _count(http, "/post") == expected


# --- the site snippets in a browser ---------------------------------------------------------------


def _snippet(doc: Path, api_url: str) -> str:
    """The inline snippet of a document, pointed at ``api_url`` (docs: its var; README: a global)."""
    # the inline snippet: the first html block with a fetch (README shows the script tag before it)
    blocks = [b for b in re.findall(r"```html\n(.*?)```", doc.read_text(), re.DOTALL) if "fetch(" in b]
    assert blocks, f"{doc.name} lost its inline snippet"
    html = blocks[0]
    if "var API_URL" in html:
        return re.sub(r'var API_URL = "[^"]*"', f"var API_URL = {json.dumps(api_url)}", html)
    return f"<script>var API_URL = {json.dumps(api_url)};</script>{html}"


def _visits_sent(requests: list[str], api_url: str) -> int:
    return sum(1 for url in requests if url.startswith(f"{api_url}/?page="))


@pytest.mark.browser
@pytest.mark.parametrize("doc", ["docs/snippet.md", "README.md"])
def test_snippet_shows_the_page_count_sends_campaigns_and_honours_the_opt_out(
    local_mode: LocalMode, page: Any, doc: str
) -> None:
    api = local_mode.url
    slug = "/readme" if doc == "README.md" else "/docs"
    html = _snippet(ROOT / doc, api)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    def page_total() -> int:
        counted = _count(httpx.Client(base_url=api, timeout=10), f"{slug}/post")
        return int(counted["total"]) if counted else -1

    with serve_page(f"<!doctype html><html lang=en><head><title>Blog</title></head><body>{html}</body></html>") as site:
        # GIVEN a visitor arriving from a campaign: the snippet sends the page with its query string ...
        before = local_mode.status()["visitor_count"]
        page.goto(f"{site}{slug}/post?utm_source=news&utm_campaign=launch")
        page.locator("#visitor-count").wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
        assert int(page.text_content("#visitor-count").replace(",", "")) == before + 1
        (visit,) = [url for url in requests if url.startswith(f"{api}/?page=")]
        assert "page=%2F" in visit and "utm_source%3Dnews" in visit and "utm_campaign%3Dlaunch" in visit
        # ... which counts for the page's path (the query is not part of it)
        assert wait_for(lambda: page_total() == 1, timeout=WRITER_TIMEOUT_SECONDS), page_total()

        # WHEN the page is opened again, THEN it shows its own count next to the total
        page.goto(f"{site}{slug}/post")
        page.locator("#page-count").wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
        assert int(page.text_content("#page-count").replace(",", "")) >= 1
        assert wait_for(lambda: page_total() == 2, timeout=WRITER_TIMEOUT_SECONDS), page_total()

        # WHEN the visitor opts out with ?vt_optout=1, THEN that visit and the next ones are not sent ...
        sent = _visits_sent(requests, api)
        for path in (f"{slug}/post?vt_optout=1", f"{slug}/post"):
            page.goto(f"{site}{path}")
            page.locator("#page-count").wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
            page.wait_for_load_state("networkidle")
            assert _visits_sent(requests, api) == sent, path
            assert page.evaluate("localStorage.getItem('visitor-tracker-opt-out')") == "1"
            assert page.locator("#visitor-count").is_hidden()
            # ... while the page count still shows (a read, it counts nothing)
            assert page.text_content("#page-count") == "2"

        # WHEN ?vt_optout=0, THEN the flag is gone and the visit counts again
        page.goto(f"{site}{slug}/post?vt_optout=0")
        page.locator("#visitor-count").wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
        assert _visits_sent(requests, api) == sent + 1
        assert page.evaluate("localStorage.getItem('visitor-tracker-opt-out')") is None
        assert wait_for(lambda: page_total() == 3, timeout=WRITER_TIMEOUT_SECONDS), page_total()
