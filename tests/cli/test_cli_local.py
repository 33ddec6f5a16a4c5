"""`visitor-tracker local` hands its options to local mode, which only that command imports."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from visitor_tracker.cli import app

pytestmark = pytest.mark.xdist_group("cli")


def test_local_passes_its_options_to_serve_and_exits_with_its_code(monkeypatch: pytest.MonkeyPatch) -> None:
    import visitor_tracker.local as local

    calls: list[dict[str, Any]] = []

    def serve(**kwargs: Any) -> int:
        calls.append(kwargs)
        return 3

    monkeypatch.setattr(local, "serve", serve)

    result = CliRunner().invoke(app, ["local", "--port", "9123", "--aws-endpoint", "http://127.0.0.1:4566"])

    assert result.exit_code == 3
    assert calls == [{"port": 9123, "host": "127.0.0.1", "aws_endpoint": "http://127.0.0.1:4566", "quiet": False}]


def test_the_other_commands_do_not_import_local_mode() -> None:
    code = "import sys, visitor_tracker.cli; print('visitor_tracker.local' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.strip() == "False"
