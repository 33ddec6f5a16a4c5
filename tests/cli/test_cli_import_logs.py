"""`visitor-tracker import-logs`: access logs' automated traffic into the aggregates, idempotently."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.core.environment import ENVIRONMENT
from functions.status.handler import handler as status_handler
from tests.cli.conftest import Env, serve_status
from tests.support.access import signed
from tests.support.accesslogs import (
    CHROME,
    CLAUDEBOT,
    GOOGLEBOT,
    GPTBOT,
    Request,
    write_cloudfront_gz,
    write_nginx,
)
from tests.support.events import http_v2_event


def status(env: Env, monkeypatch: pytest.MonkeyPatch, site: str | None = None) -> dict[str, Any]:
    """The real status function's /status?range=7d (of a site) over the pipeline the CLI wrote to."""
    for name, value in env.resources.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", env.endpoint)
    monkeypatch.setenv("STATUS_CACHE_SECONDS", "0")
    ENVIRONMENT.reset()
    try:
        query = {"range": "7d", **({"site": site} if site else {})}
        response = status_handler(signed(http_v2_event("/status", query=query)), None)
    finally:
        ENVIRONMENT.reset()
    assert response["statusCode"] == 200
    return json.loads(response["body"])


def logs(tmp_path: Path) -> list[Path]:
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    cloudfront = [Request(when, "/pricing", GPTBOT), Request(when, "/pricing", GPTBOT), Request(when, "/", CHROME)]
    nginx = [
        Request(when, "/blog/a?utm_source=x", CLAUDEBOT),
        Request(when, "/pricing", CLAUDEBOT),
        Request(when, "/blog/a", GOOGLEBOT),
        Request(when, "/blog/a", CHROME),
    ]
    return [
        write_cloudfront_gz(tmp_path / "E2EXAMPLE.2026-12-03-14.abcd.gz", cloudfront),
        write_nginx(tmp_path / "access.log", nginx),
    ]


def test_import_twice_tallies_ai_crawlers_by_page_once(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [str(p) for p in logs(tmp_path)]

    first = env.cli("import-logs", *files)
    assert first.exit_code == 0, first.output
    assert "9 lines, 5 automated requests tallied, 2 browser requests skipped" in first.stdout
    once = status(env, monkeypatch)

    again = env.cli("import-logs", *files)
    assert again.exit_code == 0, again.output
    assert "had been imported before: left unchanged" in again.stdout
    twice = status(env, monkeypatch)

    assert (
        twice["range"]["ai_pages"]
        == once["range"]["ai_pages"]
        == [
            {"page": "/pricing", "agent": "GPTBot", "visits": 2},
            {"page": "/blog/a", "agent": "ClaudeBot", "visits": 1},
            {"page": "/pricing", "agent": "ClaudeBot", "visits": 1},
        ]
    )
    assert twice["range"]["bots_by_class"] == {"ai-crawler": 4, "crawler": 1}
    assert twice["range"]["bots"] == 5
    assert twice["range"]["visits"] == 0 and twice["visitor_count"] == 0  # never visitor counts


def test_bad_lines_are_counted_and_the_first_shown(env: Env, tmp_path: Path) -> None:
    when = datetime.now(UTC) - timedelta(minutes=5)
    garbage = "".join(f"not a log line {i}\n" for i in range(8))
    path = write_nginx(tmp_path / "mixed.log", [Request(when, "/", GPTBOT)], extra=garbage)

    result = env.cli("import-logs", str(path))

    assert result.exit_code == 0, result.output
    assert "9 lines, 1 automated requests tallied" in result.stdout and "8 bad lines" in result.stdout
    assert "bad line mixed.log:2: neither a combined" in result.stderr
    assert "and 3 more bad line(s)" in result.stderr


def test_a_file_of_nothing_but_bad_lines_fails(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "binary.log"
    path.write_bytes(b"\x00\x01\x02 nothing\n" * 3)
    result = env.cli("import-logs", str(path))
    assert result.exit_code == 2
    assert "no line of these files is a request of a known log format" in result.stderr


def test_the_logs_of_a_second_site_are_its_own_and_an_unknown_site_is_refused(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_stub: Any
) -> None:
    serve_status(env, http_stub, monkeypatch, SITES="blog.example,shop.example")
    files = [str(p) for p in logs(tmp_path)]

    refused = env.cli("import-logs", *files, "--site", "evil.example")
    assert refused.exit_code == 2
    assert "unknown site 'evil.example': this deployment does not count it" in refused.stderr

    imported = env.cli("import-logs", *files, "--site", "shop.example")
    assert imported.exit_code == 0, imported.output
    assert status(env, monkeypatch, "shop.example")["range"]["bots_by_class"] == {"ai-crawler": 4, "crawler": 1}
    assert status(env, monkeypatch)["range"]["bots"] == 0  # the default site (blog.example) got none
    # the default site by name is the default site's keys
    assert env.cli("import-logs", *files, "--site", "blog.example").exit_code == 0
    assert status(env, monkeypatch, "blog.example")["range"]["bots"] == 5


def test_a_missing_file_is_refused(env: Env, tmp_path: Path) -> None:
    result = env.cli("import-logs", str(tmp_path / "nope.log"))
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_the_status_table_lists_ai_crawlers_by_page() -> None:
    from rich.console import Console

    from visitor_tracker.cli_status import render_status

    data = {"ai_pages": [{"page": "/pricing", "agent": "GPTBot", "visits": 2}], "bots_by_class": {"ai-crawler": 2}}
    console = Console(width=100, record=True)
    console.print(render_status(data, "local", 100))
    text = console.export_text()
    assert "AI crawlers by page" in text and "/pricing (GPTBot)" in text
