"""Issue 13's per-page counter through local mode: GET /count (JSON) and GET /badge.svg (SVG), served by
the status function from the aggregates the writer keeps; neither counts a visit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.localmode import LocalMode, wait_for
from tests.events import DEFAULT_UA

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]

WRITER_TIMEOUT_SECONDS = 30


def _count(http: httpx.Client, page: str) -> dict[str, Any] | None:
    response = http.get("/count", params={"page": page})
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
        assert ">3<" in badge.text or " 3<" in badge.text or ">3 " in badge.text
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
