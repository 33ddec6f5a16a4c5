"""Who owns local mode's data directory: a live local mode blocks another, a dead one (even a zombie
not yet reaped by its parent) never does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from visitor_tracker.local.datadir import DataDir, DataDirBusy


def _own(path: Path, pid: int) -> DataDir:
    path.mkdir(parents=True, exist_ok=True)
    (path / "owner.json").write_text(json.dumps({"pid": pid, "started_at": "then"}))
    return DataDir(path)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]


def test_a_killed_owner_that_is_still_a_zombie_does_not_block_a_restart(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _state(child.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(child.pid) == "Z"  # killed, not reaped: what a restart right after kill -9 meets
        assert _own(tmp_path, child.pid).previous_owner() == {"pid": child.pid, "started_at": "then"}
    finally:
        child.wait()


def test_a_live_owner_blocks_a_second_local_mode(tmp_path: Path) -> None:
    with pytest.raises(DataDirBusy, match="in use by another local mode"):
        _own(tmp_path, os.getppid()).previous_owner()
