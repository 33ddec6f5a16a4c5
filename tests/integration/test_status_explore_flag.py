"""``/status`` tells the dashboard whether ``/status/explore`` answers: its Visits section (and its
filters) is shown only in a deployment that keeps a lake (``LAKE_DIR`` or ``LAKE_BUCKET``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from functions.core.environment import ENVIRONMENT
from functions.core.settings import get_settings
from functions.status import service
from visitor_tracker.resources import PipelineResources

NOW = datetime(2026, 11, 26, 0, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_environment() -> Iterator[None]:
    yield
    ENVIRONMENT.reset()  # the lake's configuration is cached per environment: none of ours outlives the test


@pytest.mark.parametrize("lake", [True, False], ids=["with-a-lake", "without"])
def test_status_says_whether_the_lake_answers(
    pipeline_resources: PipelineResources, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lake: bool
) -> None:
    monkeypatch.delenv("LAKE_BUCKET", raising=False)
    if lake:
        monkeypatch.setenv("LAKE_DIR", str(tmp_path))
    else:
        monkeypatch.delenv("LAKE_DIR", raising=False)
    ENVIRONMENT.reset()
    assert service.build_status(get_settings(), NOW)["explore"] is lake
