"""Private by default, through the real status handler and real-shaped events of every ingress.

/status and /dashboard refuse anonymous and wrong tokens alike; the owner's token and a shared link
open them until the link is revoked; /count and /badge.svg follow PUBLIC_COUNTERS and never tell
whether a page exists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from functions.core.environment import ENVIRONMENT
from functions.model.access import OWNER_ID
from functions.status.handler import handler as status_handler
from functions.tables import access
from tests.integration.conftest import Ingest
from tests.support.access import owner_token, signed
from tests.support.events import http_v2_event, rest_event
from visitor_tracker.resources import PipelineResources

EventMaker = Callable[..., dict[str, Any]]


def rest(path: str, **kwargs: Any) -> dict[str, Any]:
    return rest_event(f"/prod{path}", **kwargs)  # behind the REST API's stage


def http_api(path: str, **kwargs: Any) -> dict[str, Any]:
    return http_v2_event(path, **kwargs)


def function_url(path: str, **kwargs: Any) -> dict[str, Any]:
    return http_v2_event(path, function_url=True, **kwargs)


INGRESSES = [
    pytest.param(rest, id="rest"),
    pytest.param(http_api, id="http-api"),
    pytest.param(function_url, id="function-url"),
]


def call(event: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    response = status_handler(event, None)
    return response["statusCode"], response["headers"], response["body"]


@pytest.fixture
def private(pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch) -> PipelineResources:
    """The deployed defaults: no PUBLIC_DASHBOARD, counters public, an allow-list origin."""
    monkeypatch.delenv("PUBLIC_DASHBOARD", raising=False)
    monkeypatch.delenv("PUBLIC_COUNTERS", raising=False)
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://blog.example.com")
    ENVIRONMENT.reset()
    return pipeline_resources


@pytest.mark.parametrize("make", INGRESSES)
def test_anonymous_and_wrong_tokens_are_refused_alike_with_cors(private: PipelineResources, make: EventMaker) -> None:
    real = owner_token()
    wrong_secret = real.split(".", 1)[0] + "." + "x" * 43
    attempts = {
        "anonymous": {},
        "wrong secret": {"Authorization": f"Bearer {wrong_secret}"},
        "unknown id": {"Authorization": "Bearer abc123." + "y" * 43},
        "malformed": {"Authorization": "Bearer not-a-token"},
        "basic scheme": {"Authorization": f"Basic {real}"},
        "token without scheme": {"Authorization": real},
    }
    answers = set()
    for name, headers in attempts.items():
        code, response_headers, body = call(make("/status", headers={**headers, "Origin": "https://blog.example.com"}))
        assert code == 401, name
        assert response_headers["Access-Control-Allow-Origin"] == "https://blog.example.com", name
        assert response_headers["WWW-Authenticate"].startswith("Bearer"), name
        assert response_headers["Content-Type"] == "application/json", name
        answers.add(body)
    assert len(answers) == 1  # the same refusal, whatever was wrong
    assert "visitor_count" not in json.loads(answers.pop())

    code, headers, page = call(make("/dashboard"))
    assert code == 401 and headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "no-store" and 'data-testid="key-panel"' in page


@pytest.mark.parametrize("make", INGRESSES)
def test_the_owner_token_opens_status_and_dashboard(private: PipelineResources, make: EventMaker) -> None:
    token = owner_token()
    code, headers, body = call(signed(make("/status"), token))
    assert code == 200 and json.loads(body)["visitor_count"] == 0
    assert headers["Cache-Control"] == "private, max-age=5"  # never kept by a shared cache
    code, headers, _ = call(signed(make("/dashboard"), token))
    assert code == 200 and headers["Content-Type"].startswith("text/html")
    # ... and so does the dashboard's own header, the one the front door forwards
    code, _, body = call(make("/status", headers={"X-Visitor-Tracker-Token": token}))
    assert code == 200 and json.loads(body)["visitor_count"] == 0


@pytest.mark.parametrize("make", INGRESSES)
def test_a_shared_link_works_until_revoked_and_rotation_retires_the_old_owner_token(
    private: PipelineResources, make: EventMaker
) -> None:
    table = private.table_name
    link = access.issue(table, "c1i3n7", "client report")
    assert call(signed(make("/status"), link.token))[0] == 200

    assert access.revoke(table, link.token_id) is True
    assert call(signed(make("/status"), link.token))[0] == 401  # at once: the check is never cached
    assert access.revoke(table, link.token_id) is False

    old = owner_token()
    new = access.issue(table, OWNER_ID, "rotated").token
    assert call(signed(make("/status"), old))[0] == 401
    assert call(signed(make("/status"), new))[0] == 200


def test_public_dashboard_opens_status_to_anyone(private: PipelineResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_DASHBOARD", "true")
    ENVIRONMENT.reset()
    code, headers, _ = call(rest("/status"))
    assert code == 200 and headers["Cache-Control"] == "public, max-age=5"
    assert call(http_api("/dashboard"))[0] == 200


@pytest.mark.parametrize("make", INGRESSES)
def test_counters_follow_public_counters_and_never_tell_whether_a_page_exists(
    private: PipelineResources, ingest: Ingest, monkeypatch: pytest.MonkeyPatch, make: EventMaker
) -> None:
    ingest(rest_event(query={"page": "/shop/cart"}))
    ingest(rest_event(query={"page": "/blog/post"}))
    assert ingest.drain() == 2

    # Default: every page's counter is public
    code, _, body = call(make("/count", query={"page": "/shop/cart"}))
    assert code == 200 and json.loads(body)["total"] == 1

    # Limited to /blog/*: other pages are refused the same way, visited or not
    monkeypatch.setenv("PUBLIC_COUNTERS", "/blog/*")
    ENVIRONMENT.reset()
    assert json.loads(call(make("/count", query={"page": "/blog/post"}))[2])["total"] == 1
    visited = call(make("/count", query={"page": "/shop/cart"}))
    never = call(make("/count", query={"page": "/shop/never-visited"}))
    badge = call(make("/badge.svg", query={"page": "/shop/cart"}))
    assert visited[0] == never[0] == badge[0] == 403
    assert visited[2] == never[2] == badge[2]
    # ... and the owner still sees them, uncached
    code, headers, body = call(signed(make("/count", query={"page": "/shop/cart"})))
    assert code == 200 and json.loads(body)["total"] == 1 and headers["Cache-Control"] == "no-store"

    # Switched off
    monkeypatch.setenv("PUBLIC_COUNTERS", "none")
    ENVIRONMENT.reset()
    assert call(make("/badge.svg", query={"page": "/blog/post"}))[0] == 403
