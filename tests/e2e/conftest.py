"""Fixtures of the end-to-end tests: local mode per module, an AWS endpoint owned by a test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.e2e.localmode import LocalMode, start_local_mode
from visitor_tracker.emulator import EmbeddedEmulator


@pytest.fixture(scope="module")
def local_mode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMode]:
    """One local mode per test module (embedded moto server), stopped with SIGINT at the end."""
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

    The emulator local mode embeds: SQS on moto, DynamoDB forwarded to the session's DynamoDB Local.
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per AWS call
    server = EmbeddedEmulator(port=0, forward_dynamodb=dynamodb_local_url)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
