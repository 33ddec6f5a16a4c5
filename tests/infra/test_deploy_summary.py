"""`make deploy` says what it will keep and who will see it, from the configuration the stack uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "summary.py"


def summary(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_the_defaults_say_full_ips_for_30_days_a_private_dashboard_and_no_alarm_recipient() -> None:
    result = summary()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "kept 30 days (log_ttl_days): the visitor's full IP address (ip_mode=full)" in out
    assert "dashboard and /status: private" in out
    assert "WARNING: no alarm_email: the alarms notify nobody" in out


def test_context_arguments_override_cdk_json_as_cdk_does() -> None:
    result = summary("--require-approval", "never", "-c", "ip_mode=none", "--context", "log_ttl_days=7",
                     "-c", "alarm_email=ops@example.com", "-c", "public_dashboard=true")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "kept 7 days (log_ttl_days): no IP address (ip_mode=none)" in result.stdout
    assert "dashboard and /status: PUBLIC" in result.stdout
    assert "WARNING" not in result.stdout and "alarms e-mail ops@example.com" in result.stdout
    assert summary("-c", "stack_name=DocsTracker", "--stack-name").stdout.strip() == "DocsTracker"


def test_a_bad_value_is_one_line_and_exit_2() -> None:
    result = summary("-c", "ip_mode=everything")
    assert result.returncode == 2 and result.stderr.startswith("error: bad cdk context: ip_mode must be one of")
    assert "Traceback" not in result.stderr


def test_make_deploy_prints_it_before_and_ensures_the_token_after() -> None:
    recipe = (ROOT / "Makefile").read_text().split("\ndeploy: install\n", 1)[1].split("\n\n", 1)[0]
    lines = [line.strip() for line in recipe.splitlines()]
    summary_at = next(i for i, line in enumerate(lines) if line.startswith("$(PY) deploy/summary.py"))
    deploy_at = next(i for i, line in enumerate(lines) if "cdk deploy" in line)
    ensure_at = next(i for i, line in enumerate(lines) if "token ensure" in line)
    assert summary_at < deploy_at < ensure_at
