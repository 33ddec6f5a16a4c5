"""A session-scoped DynamoDB Local (AWS's own emulator, in memory) for tests that want real DynamoDB semantics.

Usage: ask for the ``dynamodb_local_url`` fixture (registered in tests/conftest.py) and point a client at it::

    def test_something(dynamodb_local_url: str) -> None:
        client = boto3.client("dynamodb", endpoint_url=dynamodb_local_url)

One process per test session (per xdist worker), on a free port of 127.0.0.1; it stops at the end of
the session and also dies by itself if pytest is killed (see visitor_tracker.dynamodb_local). Tables
are shared by the session: give each test its own table name. Skipped, with the reason, when Java
or the npm package is missing (``make test`` installs the package; ``.ci/run`` installs Java).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from visitor_tracker.dynamodb_local import DynamoDBLocal, DynamoDBLocalError


@pytest.fixture(scope="session")
def dynamodb_local_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint URL of an in-memory DynamoDB Local, e.g. ``http://127.0.0.1:41234``."""
    try:
        server = DynamoDBLocal(log_file=tmp_path_factory.mktemp("dynamodb-local") / "dynamodb-local.log")
        server.start()
    except DynamoDBLocalError as exc:
        pytest.skip(f"DynamoDB Local unavailable: {exc}")
    try:
        yield server.url
    finally:
        server.stop()
