"""The installed `visitor-tracker` console script against a real local mode subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.localmode import start_local_mode, wait_for
from tests.support.events import DEFAULT_UA
from visitor_tracker.state import STATE_ENV

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).with_name("visitor-tracker")


def run(state_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, STATE_ENV: str(state_file), "COLUMNS": "100"}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60)


def run_json(state_file: Path, *args: str) -> Any:
    result = run(state_file, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed in this environment")
def test_console_script_against_local_mode(tmp_path: Path) -> None:
    # GIVEN a local mode that counted three visits and logged them
    mode = start_local_mode(tmp_path / "local")
    try:
        for page in ("/", "/docs", "/docs"):
            visit = httpx.get(f"{mode.url}/", params={"page": page}, headers={"User-Agent": DEFAULT_UA}, timeout=10)
            assert visit.status_code == 200
        assert wait_for(lambda: mode.status()["visits_today"] == 3, timeout=30), mode.output()

        # WHEN the console script asks for the status, the recent visits and the DLQ
        status = run_json(mode.state_file, "status")
        recent = run_json(mode.state_file, "visits", "recent", "--limit", "2")
        dead = run_json(mode.state_file, "dlq", "list")

        # THEN it finds local mode through the state file and shows what the pipeline holds
        direct = mode.status()
        status.pop("generated_at")
        direct.pop("generated_at")
        assert status == direct
        assert status["visitor_count"] == 3
        assert [v["path"] for v in recent] == ["/docs", "/docs"]
        assert dead == []
    finally:
        assert mode.stop() == 0, mode.output()
        mode.kill()

    # AND once local mode has stopped, the CLI says how to start it
    gone = run(mode.state_file, "status")
    assert gone.returncode == 2
    assert gone.stderr.strip() == (
        "error: no local mode running: start it with `make run` or `visitor-tracker local`, or pass --stack NAME"
    )
