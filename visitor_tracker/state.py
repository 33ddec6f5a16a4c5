"""Where a running local mode leaves its endpoints, so the CLI finds it without flags.

Local mode writes this JSON file when it is ready and removes it when it stops. The path is
``$VISITOR_TRACKER_STATE`` if set (tests), else ``~/.visitor-tracker/local.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_ENV = "VISITOR_TRACKER_STATE"


@dataclass(frozen=True)
class LocalState:
    pid: int
    api_url: str  # e.g. http://127.0.0.1:8080
    endpoint_url: str  # the AWS emulator (moto server) or --aws-endpoint
    region: str
    table_name: str
    queue_url: str
    dlq_url: str
    started_at: str


def state_path() -> Path:
    override = os.environ.get(STATE_ENV)
    return Path(override) if override else Path.home() / ".visitor-tracker" / "local.json"


def write_state(state: LocalState) -> Path:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    tmp.replace(path)
    return path


def read_state() -> LocalState | None:
    """The state of a running local mode, or None when there is none (or its process is gone)."""
    path = state_path()
    try:
        state = LocalState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(state.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return state


def clear_state(pid: int) -> None:
    """Remove the state file if it still belongs to this process."""
    path = state_path()
    try:
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass
