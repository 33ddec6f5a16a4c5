"""The volume tier: DynamoDB Local only, the writer's backoff pauses recorded instead of slept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions.core.environment import ENVIRONMENT
from functions.tables import store


@pytest.fixture(autouse=True)
def writer_sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """No real sleeping between the writer's retries (the delays are recorded); a cold environment."""
    sleeps: list[float] = []
    monkeypatch.setattr(store, "sleep", sleeps.append)
    ENVIRONMENT.reset()
    yield sleeps
