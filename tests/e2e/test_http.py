"""Local mode answers bad requests and preflights as the deployed REST API does,
and a poison message reaches the DLQ without holding up good visits."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from functions.core.definitions import CORS_ALLOW_METHODS, CORS_MAX_AGE_SECONDS, NOT_FOUND_BODY
from tests.e2e.localmode import LocalMode, count_log_items, queue_depth, start_local_mode, wait_for
from tests.support.events import DEFAULT_UA

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-processes")]

ORIGIN = "https://site.example"
OTHER_ORIGIN = "https://www.site.example"
CORS_NAMES = ("allow", "access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers")

BAD_METHODS = [("POST", "/"), ("DELETE", "/"), ("POST", "/status"), ("PUT", "/dashboard")]


@pytest.mark.parametrize(("method", "path"), BAD_METHODS, ids=[f"{m} {p}" for m, p in BAD_METHODS])
def test_bad_methods_answer_as_the_deployed_rest_api(local_mode: LocalMode, method: str, path: str) -> None:
    # GIVEN the count before
    before = local_mode.status()["visitor_count"]
    # WHEN a method the REST API has no route for is sent (the stack maps API Gateway's answer for a
    # missing route, MISSING_AUTHENTICATION_TOKEN, to this 404: tests/infra/test_ingress.py)
    response = httpx.request(method, f"{local_mode.url}{path}", timeout=10)
    # THEN it is the same 404 JSON error, and nothing is counted
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == NOT_FOUND_BODY
    assert local_mode.status()["visitor_count"] == before


def test_cors_preflight_and_origins_as_the_deployed_api(tmp_path: Path) -> None:
    # GIVEN local mode with an allow-list of origins
    allowed = f"{ORIGIN},{OTHER_ORIGIN}"
    mode = start_local_mode(tmp_path / "cors", "--prefix", "cors", env={"ALLOWED_ORIGINS": allowed})
    try:
        preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-api-key"}
        for path in ("/", "/status", "/dashboard"):
            # WHEN a browser sends a preflight from a listed origin
            response = httpx.options(f"{mode.url}{path}", headers={"Origin": OTHER_ORIGIN, **preflight}, timeout=10)

            # THEN the API answers it as the REST API's CORS preflight does (no function involved)
            assert response.status_code == 204
            assert response.headers["access-control-allow-origin"] == OTHER_ORIGIN
            assert response.headers["vary"] == "Origin"
            assert response.headers["access-control-allow-methods"] == ",".join(CORS_ALLOW_METHODS)
            assert response.headers["access-control-max-age"] == str(CORS_MAX_AGE_SECONDS)
            assert "X-Api-Key" in response.headers["access-control-allow-headers"].split(",")

        # ... and the visit itself carries Access-Control-Allow-Origin only for a listed origin
        with httpx.Client(base_url=mode.url, headers={"User-Agent": DEFAULT_UA}, timeout=10) as http:
            listed = http.get("/", headers={"Origin": ORIGIN})
            unlisted = http.get("/", headers={"Origin": "https://evil.example"})
        assert listed.headers["access-control-allow-origin"] == ORIGIN
        assert "access-control-allow-origin" not in unlisted.headers
        assert unlisted.status_code == 200  # counted all the same: CORS only guards reading the answer
        assert mode.stop() == 0
    finally:
        mode.kill()


def test_unknown_path_is_a_404_json_error(local_mode: LocalMode) -> None:
    response = httpx.get(f"{local_mode.url}/wp-login.php", timeout=10)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "not found"}


def test_dashboard_is_served_as_html_with_its_csp(local_mode: LocalMode) -> None:
    signed_in = httpx.get(f"{local_mode.url}/dashboard", headers=local_mode.auth, timeout=10)
    anonymous = httpx.get(f"{local_mode.url}/dashboard", timeout=10)

    assert (signed_in.status_code, anonymous.status_code) == (200, 401)  # 401: the same page, signing in
    for response in (signed_in, anonymous):
        assert response.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert 'data-testid="visitor-count"' in response.text


def test_poison_message_reaches_the_dlq_without_holding_up_good_visits(local_mode: LocalMode) -> None:
    # GIVEN a message no writer can read, put on the queue ahead of good visits
    sqs, dynamodb = local_mode.client("sqs"), local_mode.client("dynamodb")
    table, dlq = local_mode.state.table_name, local_mode.state.dlq_url
    assert queue_depth(sqs, dlq) == 0, "a test left a dead letter in the shared local mode"
    sqs.send_message(QueueUrl=local_mode.state.queue_url, MessageBody='{"not": "a visit"}')
    logged_before = count_log_items(dynamodb, table)
    try:
        # WHEN visitors keep coming
        with httpx.Client(base_url=local_mode.url, headers={"User-Agent": DEFAULT_UA}, timeout=10) as http:
            for i in range(20):
                assert http.get("/", params={"page": f"/good/{i}"}).status_code == 200

        # THEN the good visits are logged while the poison message is retried ...
        assert wait_for(lambda: count_log_items(dynamodb, table) == logged_before + 20, timeout=60), local_mode.output()
        # ... and after maxReceiveCount failed deliveries it sits in the DLQ, not in the queue
        assert wait_for(lambda: queue_depth(sqs, dlq) == 1, timeout=60), local_mode.output()
        assert wait_for(lambda: queue_depth(sqs, local_mode.state.queue_url) == 0, timeout=30)
        (dead,) = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0)["Messages"]
        assert dead["Body"] == '{"not": "a visit"}'
        status = local_mode.status()
        assert status["dlq_depth"] == 1
    finally:
        sqs.purge_queue(QueueUrl=dlq)  # the shared local mode's dashboard shows no dead letter to the next test
