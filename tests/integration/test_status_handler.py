"""The status handler's HTTP surface: routes, methods, CORS, bad events, the dashboard page and its CSP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.core.environment import ENVIRONMENT
from functions.status import handler as status_handler
from functions.status import page
from tests.support.access import signed
from tests.support.events import http_v2_event, rest_event
from visitor_tracker.resources import PipelineResources

PAGE = """<!doctype html><html><head><style>body{color:red}</style></head>
<body><p>hi</p><script>console.log("x")</script><script src="./ignored.js"></script></body></html>"""


UNCHECKED_TOKEN = "owner." + "a" * 43  # well formed: the handler must read the table to refuse it


def call(event: Any, token: str | None = None) -> dict[str, Any]:
    """As the owner: the access check itself is tests/integration/test_access.py's."""
    return status_handler.handler(signed(event, token) if isinstance(event, dict) else event, None)


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


@pytest.fixture
def dashboard_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A page of our own in place of the deployed one (the real page belongs to the dashboard's tests)."""
    path = tmp_path / "dashboard.html"
    path.write_text(PAGE)
    monkeypatch.setattr(page, "DASHBOARD_PATH", path)
    ENVIRONMENT.reset()
    yield path
    ENVIRONMENT.reset()


@pytest.mark.parametrize("make", [rest_event, http_v2_event])
def test_status_answers_json_with_cache_control_for_both_payload_formats(
    pipeline_resources: PipelineResources, make: Any
) -> None:
    response = call(make("/status"))
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "private, max-age=5"
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"
    status = body(response)
    assert status["visitor_count"] == 0 and status["queue_depth"] == 0 and status["dlq_depth"] == 0
    assert status["oldest_message_age_seconds"] is None
    assert len(status["hourly"]) == 24


def test_status_behind_a_stage_prefix_and_trailing_slash(pipeline_resources: PipelineResources) -> None:
    assert call(http_v2_event("/prod/status/"))["statusCode"] == 200


def test_cors_allow_list_and_options(pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://me.example")
    ENVIRONMENT.reset()
    allowed = call(rest_event("/status", headers={"Origin": "https://me.example"}))
    other = call(rest_event("/status", headers={"Origin": "https://evil.example"}))
    preflight = call(rest_event("/status", method="OPTIONS", headers={"Origin": "https://me.example"}))
    assert allowed["headers"]["Access-Control-Allow-Origin"] == "https://me.example"
    assert "Access-Control-Allow-Origin" not in other["headers"] and other["headers"]["Vary"] == "Origin"
    # preflights are the API's (every ingress answers them itself): an OPTIONS reaching the function is a 405
    assert preflight["statusCode"] == 405 and preflight["headers"]["Allow"] == "GET"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(pipeline_resources: PipelineResources, method: str) -> None:
    response = call(rest_event("/status", method=method))
    assert response["statusCode"] == 405 and response["headers"]["Allow"] == "GET"
    assert body(response) == {"error": "method not allowed"}


def test_other_paths_are_404_json(pipeline_resources: PipelineResources) -> None:
    response = call(http_v2_event("/admin"))
    assert response["statusCode"] == 404 and body(response) == {"error": "not found"}


@pytest.mark.parametrize("event", [None, [], "GET /status", {}, {"requestContext": {}}, {"httpMethod": 7}])
def test_malformed_events_are_400_json_not_a_traceback(pipeline_resources: PipelineResources, event: Any) -> None:
    response = call(event)
    assert response["statusCode"] == 400
    assert "error" in body(response)


def test_aws_failure_is_a_503_json_error(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    ENVIRONMENT.reset()
    response = call(rest_event("/status"), UNCHECKED_TOKEN)
    assert response["statusCode"] == 503 and body(response) == {"error": "status temporarily unavailable"}


def test_missing_configuration_is_a_500_json_error(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.delenv("QUEUE_URL", raising=False)
    ENVIRONMENT.reset()
    response = call(rest_event("/status"), UNCHECKED_TOKEN)
    assert response["statusCode"] == 500 and "error" in body(response)


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_dashboard_is_html_with_a_csp_of_its_inline_hashes(
    pipeline_resources: PipelineResources, dashboard_file: Path
) -> None:
    response = call(http_v2_event("/dashboard"))
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert response["body"] == PAGE
    csp = response["headers"]["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == sha256('console.log("x")')  # the external script is not hashed
    assert directives["style-src"] == sha256("body{color:red}")
    assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"


def test_dashboard_is_read_once(pipeline_resources: PipelineResources, dashboard_file: Path) -> None:
    call(rest_event("/dashboard"))
    dashboard_file.write_text("<html>changed</html>")
    assert call(rest_event("/dashboard"))["body"] == PAGE


def test_missing_dashboard_is_404_json(pipeline_resources: PipelineResources, dashboard_file: Path) -> None:
    dashboard_file.unlink()
    ENVIRONMENT.reset()
    response = call(rest_event("/dashboard"))
    assert response["statusCode"] == 404 and body(response) == {"error": "the dashboard page is not deployed"}


def test_the_real_page_gets_hashes_matching_its_inline_blocks() -> None:
    # The deployed page (written by the dashboard's author) must not need 'unsafe-inline'.
    html = page.DASHBOARD_PATH.read_text() if page.DASHBOARD_PATH.exists() else PAGE
    csp = page.content_security_policy(html)
    html = re.sub(r"<!--.*?-->", "", html, flags=re.DOTALL)
    inline = [body for tag in ("script", "style") for body in re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.DOTALL)]
    assert inline and all(sha256(s) in csp for s in inline)
