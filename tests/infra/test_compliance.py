"""cdk-nag (AwsSolutions, v3 validation plugin) and cfn-lint on every variant; app.py end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from aws_cdk import aws_sqs as sqs

from pipeline.stack import build_app

from .conftest import INGRESS_VARIANTS
from .helpers import Synth

pytestmark = pytest.mark.xdist_group("infra")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ALL_VARIANTS = list(INGRESS_VARIANTS)
# CDK adds an explicit DependsOn from each function to its role next to the Fn::GetAtt; harmless.
TOLERATED_WARNINGS = {"W3005"}


@pytest.mark.parametrize("variant_name", ALL_VARIANTS)
def test_cdk_nag_has_no_unacknowledged_finding(variant: Callable[[str], Synth], variant_name: str) -> None:
    synth = variant(variant_name)
    assert synth.nag_report.get("title") == "Validation Report", "validation-report.json was not written"
    assert synth.nag_violations() == []
    assert synth.synth_error is None


def test_cdk_nag_catches_a_violation(tmp_path: Path) -> None:
    """The plugin really runs: a naked queue added to the stack is reported (so the test above can fail)."""
    # GIVEN the default app with an unencrypted, non-TLS queue without a DLQ bolted on
    app, stack = build_app({}, outdir=str(tmp_path))
    sqs.Queue(stack, "NakedQueue", encryption=sqs.QueueEncryption.UNENCRYPTED)
    # WHEN it is synthesized
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    # THEN the report names the queue's SQS findings, and nothing of the real stack
    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = {
        (v["ruleName"], c["constructPath"])
        for p in report["pluginReports"]
        for v in p["violations"]
        for c in v["violatingConstructs"]
    }
    assert ("AwsSolutions-SQS4", "VisitorTracker/NakedQueue/Resource") in findings
    assert {path.split("/")[1] for _, path in findings} == {"NakedQueue"}


def _cfn_lint() -> str:
    beside_python = Path(sys.executable).parent / "cfn-lint"
    found = str(beside_python) if beside_python.exists() else shutil.which("cfn-lint")
    if found is None:
        pytest.skip("cfn-lint is not installed")
    return found


def test_cfn_lint_reports_no_error_on_any_variant(variant: Callable[[str], Synth]) -> None:
    # GIVEN every variant's template, linted in one cfn-lint run
    paths = [str(variant(name).template_path) for name in ALL_VARIANTS]
    result = subprocess.run(
        [_cfn_lint(), "--format", "json", *paths], capture_output=True, text=True, timeout=300, check=False
    )
    findings = json.loads(result.stdout or "[]")
    # THEN nothing but the tolerated warning is reported
    unexpected = [
        (f["Rule"]["Id"], f["Level"], f["Message"], Path(f["Filename"]).parent.name)
        for f in findings
        if f["Rule"]["Id"] not in TOLERATED_WARNINGS
    ]
    assert unexpected == []
    assert result.returncode in (0, 4), result.stderr  # 4 = warnings only


def _app_env(tmp_path: Path, context: dict[str, object] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env["CDK_OUTDIR"] = str(tmp_path / "cdk.out")
    # No ~/.aws either: synthesis must not need credentials or a profile.
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "absent")
    if context:
        env["CDK_CONTEXT_JSON"] = json.dumps(context)
    return env


def test_app_py_synthesizes_offline_without_credentials(tmp_path: Path) -> None:
    # WHEN app.py runs the way `make synth` runs it, with no AWS credentials or config at all
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=PROJECT_ROOT,
        env=_app_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # THEN it writes the template, with the stack name and outputs from cdk.json's defaults
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "cdk.out"
    template = json.loads((out / "VisitorTracker.template.json").read_text())
    assert set(template["Outputs"]) >= {
        "ApiUrl",
        "StatusUrl",
        "TableName",
        "QueueUrl",
        "DlqUrl",
    }
    assert template["Resources"], "empty template"
    report = json.loads((out / "validation-report.json").read_text())
    assert all(not p["violations"] for p in report["pluginReports"])


def test_app_main_bad_context_is_a_clear_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the context of `cdk synth -c ingress=http -c api_key=status`
    monkeypatch.syspath_prepend(str(PROJECT_ROOT))
    import app  # app.py at the project root

    # WHEN app.py's main runs
    code = app.main({"ingress": "http", "api_key": "status"}, outdir=str(tmp_path / "cdk.out"))
    # THEN it exits 2 with one clear line and writes nothing
    assert code == 2
    err = capsys.readouterr().err
    assert "error: bad cdk context: api_key=status needs ingress=rest" in err
    assert "Traceback" not in err
    assert not (tmp_path / "cdk.out" / "VisitorTracker.template.json").exists()
