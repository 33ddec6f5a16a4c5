"""Fixtures of the end-to-end tests: local mode per module, an AWS endpoint owned by a test."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.localmode import LocalMode, start_local_mode
from visitor_tracker.emulator import EmbeddedEmulator

# Headless Chromium, as Debian packages it (Playwright drives it; its own browser download is not used).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def local_mode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMode]:
    """One local mode per test module (its embedded endpoint), stopped with SIGINT at the end."""
    mode = start_local_mode(tmp_path_factory.mktemp("local"))
    try:
        yield mode
        assert mode.stop() == 0, mode.output()
        assert not mode.state_file.exists(), "the state file must be removed on exit"
    finally:
        mode.kill()


@pytest.fixture
def moto_endpoint(dynamodb_local_url: str) -> Iterator[str]:
    """An AWS endpoint owned by the test (free port): it outlives the local mode pointed at it.

    The endpoint local mode embeds: its own SQS engine, DynamoDB forwarded to the session's DynamoDB Local.
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per AWS call
    server = EmbeddedEmulator(port=0, forward_dynamodb=dynamodb_local_url)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
