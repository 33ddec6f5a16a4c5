"""`visitor-tracker local` hands its options to local mode, which only that command imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from visitor_tracker.cli import app


def test_local_passes_its_options_to_serve_and_exits_with_its_code(monkeypatch: pytest.MonkeyPatch) -> None:
    import visitor_tracker.local.server as local

    calls: list[dict[str, Any]] = []

    def serve(**kwargs: Any) -> int:
        calls.append(kwargs)
        return 3

    monkeypatch.setattr(local, "serve", serve)

    result = CliRunner().invoke(app, ["local", "--port", "9123", "--aws-endpoint", "http://127.0.0.1:4566"])

    assert result.exit_code == 3
    assert calls == [
        {
            "port": 9123,
            "host": "127.0.0.1",
            "aws_endpoint": "http://127.0.0.1:4566",
            "data_dir": None,
            "in_memory": False,
            "quiet": False,
            "verbose": False,
        }
    ]


def test_reset_asks_first_and_keeps_the_data_when_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import visitor_tracker.local.server as local

    monkeypatch.setattr(local, "serve", lambda **kwargs: 0)
    data = tmp_path / "data"
    (data / "dynamodb").mkdir(parents=True)

    refused = CliRunner().invoke(app, ["local", "--reset", "--data-dir", str(data)], input="n\n")
    assert refused.exit_code == 1 and "Delete all local data" in refused.output
    assert (data / "dynamodb").is_dir()

    accepted = CliRunner().invoke(app, ["local", "--reset", "--yes", "--data-dir", str(data)])
    assert accepted.exit_code == 0, accepted.output
    assert not data.exists()


def test_reset_refuses_while_a_local_mode_uses_the_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    import visitor_tracker.local.server as local

    monkeypatch.setattr(local, "serve", lambda **kwargs: 0)
    data = tmp_path / "data"
    data.mkdir()
    (data / "owner.json").write_text(json.dumps({"pid": os.getppid(), "started_at": "now"}))  # a live process

    result = CliRunner().invoke(app, ["local", "--reset", "--yes", "--data-dir", str(data)])

    assert result.exit_code == 2 and "in use by another local mode" in result.output
    assert data.exists()


def test_the_other_commands_do_not_import_local_mode() -> None:
    code = "import sys, visitor_tracker.cli; print('visitor_tracker.local' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.strip() == "False"
