"""GET /script.js through the functions (issue 21): the status function behind an API, the ingest function
behind its public function URL. Public, long-cached, JavaScript, revalidated by ETag, counts nothing."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from functions.core import script
from functions.ingest import handler as ingest_handler
from functions.status import handler as status_handler
from tests.integration.conftest import Ingest
from tests.support.events import http_v2_event, rest_event


def _served(response: dict[str, Any]) -> str:
    assert response["statusCode"] == 200, response["body"]
    headers = response["headers"]
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=86400"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    return str(response["body"])


@pytest.mark.parametrize(
    "event",
    [
        rest_event("/script.js"),
        http_v2_event("/script.js"),
        rest_event("/script.js", query={"ext": "outbound,downloads,404"}),
    ],
)
def test_status_serves_the_script_and_counts_nothing(ingest: Ingest, event: dict[str, Any]) -> None:
    body = _served(status_handler.handler(event, None))
    # THEN it is the core script, with the extensions asked for
    assert body.startswith(script.source("core"))
    extensions = script.extensions_of((event.get("queryStringParameters") or {}).get("ext"))
    for name in script.EXTENSIONS:
        assert (script.source(name) in body) == (name in extensions)
    # AND nothing was queued or counted
    assert ingest.queued() == []


def test_the_function_url_ingest_serves_it_too_without_counting(ingest: Ingest) -> None:
    # GIVEN function URLs: status's URL is signed, ingest's is the public one
    response = ingest_handler.handler(http_v2_event("/script.js", query={"ext": "outbound"}, function_url=True), None)
    body = _served(response)
    assert body == script.assemble(("outbound",)).text
    assert ingest.queued() == []
    # AND / still counts a visit
    assert ingest(http_v2_event("/", function_url=True)).body == {"visitor_count": 1}


def test_a_revalidation_with_the_same_etag_is_a_304_without_body(ingest: Ingest) -> None:
    first = status_handler.handler(rest_event("/script.js"), None)
    etag = first["headers"]["ETag"]
    again = status_handler.handler(rest_event("/script.js", headers={"If-None-Match": etag}), None)
    assert again["statusCode"] == 304 and again["body"] == ""
    assert again["headers"]["ETag"] == etag
    # another build (other extensions) is not the same file
    other = status_handler.handler(
        rest_event("/script.js", query={"ext": "404"}, headers={"If-None-Match": etag}), None
    )
    assert other["statusCode"] == 200 and other["headers"]["ETag"] != etag


def test_an_unknown_extension_or_method_is_a_json_error(ingest: Ingest) -> None:
    bad = status_handler.handler(rest_event("/script.js", query={"ext": "goals"}), None)
    assert bad["statusCode"] == 400
    assert bad["headers"]["Content-Type"] == "application/json"
    assert "unknown script extension(s): goals" in bad["body"]
    post = ingest_handler.handler(http_v2_event("/script.js", method="POST", function_url=True), None)
    assert post["statusCode"] == 405 and post["headers"]["Allow"] == "GET"


@pytest.mark.parametrize("ext", ["", "outbound,downloads,404"])
def test_every_build_is_valid_javascript(ext: str, tmp_path: Any) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    path = tmp_path / "script.js"
    path.write_text(script.assemble(script.extensions_of(ext)).text)
    checked = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
