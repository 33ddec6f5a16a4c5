"""The deploy toolchain: aws-cdk-lib and the CDK CLI pinned together; `make deploy` refuses a mismatch."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import toolchain

pytestmark = pytest.mark.xdist_group("infra")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy"))
import check_toolchain  # noqa: E402


def _copy_project(tmp_path: Path) -> Path:
    (tmp_path / "deploy").mkdir()
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for name in ("package.json", "package-lock.json", "requirements.txt"):
        shutil.copy(ROOT / "deploy" / name, tmp_path / "deploy" / name)
    return tmp_path


def _installed_as_pinned(name: str) -> str | None:
    pins = toolchain.requirements_pins() | toolchain.pyproject_pins()
    return pins.get(name)


def _locked_cli(_: Path) -> str:
    return toolchain.cli_pins()["package-lock.json"]


def test_pins_are_exact_and_agree() -> None:
    assert toolchain.pyproject_pins()["aws-cdk-lib"] == toolchain.requirements_pins()["aws-cdk-lib"]
    cli = toolchain.cli_pins()
    assert re.fullmatch(r"\d+\.\d+\.\d+", cli["package.json"])
    assert cli["package.json"] == cli["package-lock.json"]
    assert "node_modules" not in {p.name for p in (ROOT / "deploy").iterdir() if p.is_file()}


def test_the_installed_toolchain_is_the_pinned_one() -> None:
    # The Python half as installed by make (the CLI is installed by make deploy itself)
    assert check_toolchain.problems(require_installed_cli=False) == []


def test_cli_is_new_enough_for_the_library_assembly_schema() -> None:
    needed = check_toolchain._library_min_cli()
    assert toolchain.version_tuple(toolchain.cli_pins()["package-lock.json"]) >= toolchain.version_tuple(needed)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("deploy/package.json", '"2.1148.1"', '"^2.1148.1"'), "must pin aws-cdk exactly"),
        (("deploy/package.json", '"2.1148.1"', '"2.1149.0"'), "package-lock.json has 2.1148.1"),
        (
            ("deploy/requirements.txt", "aws-cdk-lib==2.275.0", "aws-cdk-lib==2.280.0"),
            "pyproject.toml pins aws-cdk-lib",
        ),
    ],
)
def test_a_mismatch_is_refused(tmp_path: Path, edit: tuple[str, str, str], message: str) -> None:
    root = _copy_project(tmp_path)
    path, old, new = edit
    text = (root / path).read_text()
    assert old in text
    (root / path).write_text(text.replace(old, new, 1))
    found = check_toolchain.problems(
        root=root, installed=_installed_as_pinned, installed_cli=_locked_cli, library_min_cli=lambda: "2.1148.0"
    )
    assert found and message in found[0]


def test_installed_library_or_cli_other_than_the_pins_is_refused(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    newer_lib = check_toolchain.problems(
        root=root,
        installed=lambda n: "2.300.0" if n == "aws-cdk-lib" else _installed_as_pinned(n),
        installed_cli=_locked_cli,
        library_min_cli=lambda: "2.1148.0",
    )
    assert newer_lib == [
        f"aws-cdk-lib 2.300.0 is installed, deploy/requirements.txt pins 2.275.0: run {check_toolchain.FIX_PYTHON}"
    ]
    other_cli = check_toolchain.problems(
        root=root,
        installed=_installed_as_pinned,
        installed_cli=lambda _: "2.1000.0",
        library_min_cli=lambda: "2.1148.0",
    )
    assert other_cli and "CDK CLI 2.1000.0 is installed" in other_cli[0]
    too_old = check_toolchain.problems(
        root=root, installed=_installed_as_pinned, installed_cli=_locked_cli, library_min_cli=lambda: "2.1200.0"
    )
    assert too_old and "needs CDK CLI >= 2.1200.0" in too_old[0]
    missing = check_toolchain.problems(
        root=root, installed=_installed_as_pinned, installed_cli=lambda _: None, library_min_cli=lambda: "2.1148.0"
    )
    assert missing == [f"the CDK CLI is not installed in deploy/node_modules: run {check_toolchain.FIX_NPM}"]


def test_make_deploy_runs_the_check_before_cdk_deploy() -> None:
    recipe = (ROOT / "Makefile").read_text().split("\ndeploy:", 1)[1].split("\n\n", 1)[0]
    lines = [line.strip() for line in recipe.splitlines()[1:]]
    check = next(i for i, line in enumerate(lines) if "deploy/check_toolchain.py" in line)
    deploy = next(i for i, line in enumerate(lines) if "cdk deploy" in line)
    assert check < deploy
    assert "deploy/node_modules/.bin/cdk deploy" in lines[deploy]  # the locked CLI, not npx's latest
    assert any(line.startswith("npm ci --prefix deploy") for line in lines[:check])


def test_the_check_prints_one_clear_line_and_exits_2(tmp_path: Path) -> None:
    # GIVEN a copy of the project whose lock disagrees with package.json
    root = _copy_project(tmp_path)
    (root / "deploy" / "check_toolchain.py").write_text((ROOT / "deploy" / "check_toolchain.py").read_text())
    lock = json.loads((root / "deploy" / "package-lock.json").read_text())
    lock["packages"]["node_modules/aws-cdk"]["version"] = "2.1000.0"
    (root / "deploy" / "package-lock.json").write_text(json.dumps(lock))
    shutil.copytree(ROOT / "pipeline", root / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "functions", root / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    # WHEN the check runs as make deploy runs it
    result = subprocess.run(
        [sys.executable, str(root / "deploy" / "check_toolchain.py")], capture_output=True, text=True, timeout=120
    )
    # THEN one line names the mismatch and the fix, exit code 2
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: deploy toolchain mismatch: deploy/package.json pins aws-cdk 2.1148.1, package-lock.json has "
        "2.1000.0: npm install --prefix deploy"
    ]
