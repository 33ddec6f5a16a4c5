"""Local mode's data directory: DynamoDB Local's files, the queue journal, and who is using it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any


def default_data_dir() -> Path:
    return Path.home() / ".visitor-tracker" / "data"


class DataDir:
    """Local mode's data directory: DynamoDB Local's files, the queue store, and who is using it.

    ``owner.json`` names the running local mode and is removed on a clean stop: found with its process
    gone, the previous run was killed. ``counting`` holds, rewritten in place on every change, the number
    of visits being counted right now: what a SIGKILL at that instant may have cost.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.owner_file = path / "owner.json"
        self.counting_file = path / "counting"
        self.dynamodb = path / "dynamodb"
        self._counting_fd: int | None = None

    def previous_owner(self) -> dict[str, Any] | None:
        """The owner record left behind, or None. Raises DataDirBusy if that process is still running."""
        try:
            owner = dict(json.loads(self.owner_file.read_text()))
        except (OSError, ValueError):
            return None
        pid = int(owner.get("pid", 0))
        if pid and pid != os.getpid() and _alive(pid):
            raise DataDirBusy(f"{self.path} is in use by another local mode (pid {pid}); stop it first")
        return owner

    def lost_at_kill(self) -> int:
        try:
            return int(self.counting_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def claim(self, started_at: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.owner_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "started_at": started_at}))
        tmp.replace(self.owner_file)
        self._counting_fd = os.open(self.counting_file, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.counting(0)

    def counting(self, n: int) -> None:
        """One pwrite, no fsync: it only has to survive the process, not the machine."""
        if self._counting_fd is not None:
            os.pwrite(self._counting_fd, f"{n:<12}\n".encode(), 0)

    def release(self) -> None:
        if self._counting_fd is not None:
            os.close(self._counting_fd)
            self._counting_fd = None
        for path in (self.counting_file, self.owner_file):
            path.unlink(missing_ok=True)


class DataDirBusy(RuntimeError):
    """Another local mode owns the data directory."""


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process: a zombie (killed, not yet reaped by its parent) is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): trust the signal
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def reset_data(path: Path) -> None:
    """Delete local mode's data directory (``--reset``); refuses while a local mode is using it."""
    DataDir(path).previous_owner()
    shutil.rmtree(path, ignore_errors=True)
