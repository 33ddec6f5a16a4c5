"""Fixtures of the end-to-end tests: local mode shared per configuration, an AWS endpoint owned by a test.

Starting local mode (DynamoDB Local, the SQS engine, the HTTP API) takes seconds, stopping it as many:
the tests that only read and write through its interfaces share one running local mode per distinct
configuration (its arguments and environment) per test session (xdist worker). Such tests never assume
a fresh table: they use their own page paths and compare what they read before and after, and leave no
dead letter behind. A test that needs a process of its own (restart, shutdown, CORS) starts it itself.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "local_mode(*args, env=None, own=False): the options of the shared local mode of the test's ``local_mode``",
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium per session; each test opens its own context (its own storage and cookies)."""
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


class SharedLocalModes:
    """The local modes of a session, one per configuration, started on first use, stopped at the end."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._running: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...], str], LocalMode] = {}

    def get(self, *args: str, env: dict[str, str] | None = None, owner: str = "") -> LocalMode:
        key = (args, tuple(sorted((env or {}).items())), owner)
        if key not in self._running:
            self._running[key] = start_local_mode(Path(self._tmp.mktemp("local")), *args, env=env)
        mode = self._running[key]
        assert mode.process.poll() is None, f"the shared local mode {key} exited:\n{mode.output()}"
        return mode

    def stop_all(self) -> None:
        """SIGINT to all at once (each stops in seconds), then each must exit cleanly (0) and remove its state file."""
        try:
            for mode in self._running.values():
                mode.interrupt()
            for mode in self._running.values():
                assert mode.stop() == 0, mode.output()
                assert not mode.state_file.exists(), "the state file must be removed on exit"
        finally:
            for mode in self._running.values():
                mode.kill()


@pytest.fixture(scope="session")
def shared_local_modes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedLocalModes]:
    shared = SharedLocalModes(tmp_path_factory)
    yield shared
    shared.stop_all()


@pytest.fixture
def local_mode(request: pytest.FixtureRequest, shared_local_modes: SharedLocalModes) -> LocalMode:
    """The running local mode of the test's configuration (``@pytest.mark.local_mode(...)``, default none),
    shared with every test of the session that asks for the same one; ``own=True``: with the tests of its
    module only (for a test that reads lists other tests' pages would crowd, such as the top ten pages)."""
    marker = request.node.get_closest_marker("local_mode")
    args, kwargs = (tuple(marker.args), marker.kwargs) if marker else ((), {})
    owner = request.module.__name__ if kwargs.get("own") else ""
    return shared_local_modes.get(*args, env=kwargs.get("env"), owner=owner)


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
