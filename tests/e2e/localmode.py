"""Local mode as a real subprocess (``python -m visitor_tracker.local``) on free ports, for end-to-end tests.

Every process is started with ``--port 0`` (the kernel picks a free port, read back from the state
file, so parallel workers never collide) and ``--data-dir`` in ``tmp_path`` (never the user's data)
unless the test passes its own, its output goes to a file in ``tmp_path`` (a full pipe would block
the server), and it is stopped with SIGINT and killed in a ``finally``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from functions.model.keys import PK
from visitor_tracker.state import STATE_ENV, LocalState

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 40.0


@dataclass
class LocalMode:
    """A running ``python -m visitor_tracker.local`` and the clients to look inside it."""

    process: subprocess.Popen[bytes]
    state_file: Path
    log_file: Path
    state: LocalState = field(init=False)
    interrupted: bool = field(default=False, init=False)

    def wait_ready(self) -> LocalMode:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"local mode exited with {self.process.returncode}:\n{self.output()}")
            if self.state_file.exists():
                try:
                    self.state = LocalState(**json.loads(self.state_file.read_text()))
                    return self
                except (ValueError, TypeError):
                    pass  # written atomically, but be tolerant
            time.sleep(0.1)
        pytest.fail(f"local mode not ready after {START_TIMEOUT_SECONDS} s:\n{self.output()}")

    def output(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    @property
    def url(self) -> str:
        return self.state.api_url

    def client(self, name: str) -> Any:
        return boto3.client(name, endpoint_url=self.state.endpoint_url, region_name=self.state.region)

    @property
    def token(self) -> str:
        """The owner's access token (local mode creates it at start, as `make deploy` does)."""
        from functions.model.access import OWNER_ID
        from functions.tables import access

        found = access.lookup(self.state.table_name, OWNER_ID, client=self.client("dynamodb"))
        assert found is not None, "local mode issues the owner token when it starts"
        return found.token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def dashboard_url(self, fragment: str = "") -> str:
        """The dashboard as the banner's link opens it: the token in the fragment (plus ``fragment``)."""
        return f"{self.url}/dashboard#" + "&".join(p for p in (fragment, f"token={self.token}") if p)

    def status(self, site: str | None = None) -> dict[str, Any]:
        """The owner's /status (of ``site``, with several)."""
        params = {"site": site} if site else None
        response = httpx.get(f"{self.url}/status", params=params, headers=self.auth, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def interrupt(self) -> None:
        """One SIGINT (Ctrl-C), once: a second one would skip the drain (or meet the interpreter's exit)."""
        if not self.interrupted and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.interrupted = True

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        """SIGINT (unless sent already), then wait; the exit code (kills it and fails the test if it hangs)."""
        self.interrupt()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            pytest.fail(f"local mode did not stop within {timeout} s after SIGINT:\n{self.output()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def start_local_mode(tmp: Path, *args: str, env: dict[str, str] | None = None) -> LocalMode:
    """Start local mode in a subprocess and wait until it has written its state file."""
    tmp.mkdir(parents=True, exist_ok=True)
    state_file = tmp / "state.json"
    log_file = tmp / "local.log"
    child_env = {**os.environ, STATE_ENV: str(state_file), "STATUS_CACHE_SECONDS": "0", "PYTHONUNBUFFERED": "1"}
    child_env.pop("AWS_ENDPOINT_URL", None)
    child_env.update(env or {})
    if not {"--data-dir", "--aws-endpoint", "--in-memory"} & set(args):
        args = ("--data-dir", str(tmp / "data"), *args)
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "visitor_tracker.local", "--port", "0", "--quiet", *args],
            cwd=ROOT,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    mode = LocalMode(process, state_file, log_file)
    try:
        return mode.wait_ready()
    except BaseException:
        mode.kill()
        raise


def pages_today(mode: LocalMode, paths: Any, site: str | None = None) -> dict[str, int]:
    """Today's visits of each page (of ``site``) from ``GET /count`` (the writer's page tallies that /status
    ranks): exact for any page however busy the shared local mode is, where ``top_pages`` keeps the ten busiest."""
    where = {"site": site} if site else {}
    with httpx.Client(base_url=mode.url, timeout=10) as http:
        return {path: int(http.get("/count", params={"page": path, **where}).json()["today"]) for path in paths}


def count_log_items(dynamodb: Any, table: str, *, counted_only: bool = False) -> int:
    """Log items in the table (Scan, paginated): the writer's output, whatever the day buckets."""
    expression = f"begins_with({PK}, :log)" + (" AND counted = :true" if counted_only else "")
    values: dict[str, Any] = {":log": {"S": "LOG#"}}
    if counted_only:
        values[":true"] = {"BOOL": True}
    total = 0
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=table, FilterExpression=expression, ExpressionAttributeValues=values, Select="COUNT"
    ):
        total += page["Count"]
    return total


def queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def wait_for(predicate: Any, timeout: float, interval: float = 0.25) -> Any:
    """Poll ``predicate`` until it returns a truthy value; that value (or the last falsy one)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def console_error(message: Any) -> str | None:
    """A browser console message that is an error, except the one every dashboard load logs: the page
    itself answers an anonymous navigation 401 (it is the sign-in form; the token lives in the browser)."""
    if message.type != "error":
        return None
    url = (message.location or {}).get("url", "")
    if "status of 401" in message.text and url.split("#", 1)[0].endswith("/dashboard"):
        return None
    return str(message.text)
