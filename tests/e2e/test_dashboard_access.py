"""Private by default, in a real browser against local mode: the dashboard asks once for the owner's
token, a shared link opens it (its token dropped from the address bar), and a revoked link stops working."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from functions.tables import access
from tests.e2e.localmode import LocalMode
from tests.support.events import DEFAULT_UA

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("e2e-browser")]

UPDATE_TIMEOUT_MS = 15_000
LOADED = "[data-testid=visitor-count][data-value]"


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    made = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=DEFAULT_UA)
    yield made
    made.close()


def test_anonymous_requests_are_refused_over_http(local_mode: LocalMode) -> None:
    for path in ("/status", "/dashboard"):
        response = httpx.get(f"{local_mode.url}{path}", timeout=10)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert "visitor_count" not in httpx.get(f"{local_mode.url}/status", timeout=10).text
    assert httpx.get(f"{local_mode.url}/status", headers=local_mode.auth, timeout=10).status_code == 200


def test_the_dashboard_asks_once_for_the_owner_token(local_mode: LocalMode, context: Any) -> None:
    page = context.new_page()
    sent: list[str | None] = []
    page.on("request", lambda r: sent.append(r.headers.get("x-visitor-tracker-token")) if "/status" in r.url else None)
    # GIVEN the dashboard opened without a token: the sign-in form, no numbers
    page.goto(f"{local_mode.url}/dashboard")
    page.locator("[data-testid=key-panel]").wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
    assert page.locator("[data-testid=token-input]").is_visible()
    assert page.locator("[data-testid=api-key-input]").is_hidden()
    assert page.get_attribute("[data-testid=visitor-count]", "data-value") is None

    # WHEN the owner pastes the token
    page.get_by_label("Access token", exact=True).fill(local_mode.token)
    page.click("[data-testid=api-key-save]")

    # THEN the numbers load, the token is sent in its header, and a reload does not ask again
    page.wait_for_selector(LOADED, timeout=UPDATE_TIMEOUT_MS)
    assert sent[0] is None and sent[-1] == local_mode.token
    page.reload()
    page.wait_for_selector(LOADED, timeout=UPDATE_TIMEOUT_MS)
    assert page.locator("[data-testid=key-panel]").is_hidden()

    # AND signing out forgets it
    page.click("[data-testid=forget-key]")
    page.locator("[data-testid=key-panel]").wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)


def test_a_shared_link_opens_the_dashboard_until_it_is_revoked(local_mode: LocalMode, context: Any) -> None:
    dynamodb = local_mode.client("dynamodb")
    link = access.issue(local_mode.state.table_name, "e2e1ink", "a client", client=dynamodb)

    # WHEN a client opens the shared link (token in the fragment, with a range)
    page = context.new_page()
    page.goto(f"{local_mode.url}/dashboard#range=7d&token={link.token}")

    # THEN the dashboard loads, and the token left the address bar (the range stays)
    page.wait_for_selector(LOADED, timeout=UPDATE_TIMEOUT_MS)
    assert page.evaluate("window.location.hash") == "#range=7d"
    assert "token" not in page.evaluate("window.location.href")

    # WHEN the owner revokes it
    assert access.revoke(local_mode.state.table_name, link.token_id, client=dynamodb)

    # THEN the next load asks to sign in again
    page.reload()
    page.locator("[data-testid=key-panel]").wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
    assert page.evaluate("localStorage.getItem('visitor-tracker.token')") is None
