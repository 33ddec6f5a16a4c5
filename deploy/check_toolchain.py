#!/usr/bin/env python3
"""Refuse to deploy with a toolchain other than the one that was tested: one clear line, exit code 2.

`make deploy` runs this after `npm ci --prefix deploy` and before `cdk deploy`. It checks that
aws-cdk-lib (and its companions) are installed at exactly the versions deploy/requirements.txt pins,
that pyproject.toml pins the same aws-cdk-lib, that the CDK CLI of deploy/package.json is exact, is
the one package-lock.json locked and the one installed, and that this CLI is new enough for the
cloud-assembly schema the installed aws-cdk-lib writes (an older CLI cannot read a newer assembly).
Powertools installed for the tests must be the version whose layer the stack deploys.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline import toolchain  # noqa: E402

FIX_PYTHON = ".venv/bin/pip install -c deploy/requirements.txt -e '.[cdk,dev]'"
FIX_NPM = "npm ci --prefix deploy"


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _installed_cli(deploy_dir: Path) -> str | None:
    path = deploy_dir / "node_modules" / "aws-cdk" / "package.json"
    if not path.exists():
        return None
    return str(json.loads(path.read_text(encoding="utf-8")).get("version"))


def _library_min_cli() -> str:
    """The oldest CDK CLI that reads the cloud assembly the installed aws-cdk-lib writes."""
    from aws_cdk import cloud_assembly_schema

    return str(cloud_assembly_schema.Manifest.cli_version())


def problems(
    *,
    root: Path = ROOT,
    installed: Callable[[str], str | None] = _installed,
    installed_cli: Callable[[Path], str | None] = _installed_cli,
    library_min_cli: Callable[[], str] = _library_min_cli,
    require_installed_cli: bool = True,
) -> list[str]:
    """Every mismatch, most fundamental first (empty when the toolchain is the tested one)."""
    deploy_dir = root / "deploy"
    found: list[str] = []
    pyproject = toolchain.pyproject_pins(root / "pyproject.toml")
    pinned: Mapping[str, str] = toolchain.requirements_pins(deploy_dir / "requirements.txt")
    if "aws-cdk-lib" not in pinned:
        found.append("deploy/requirements.txt does not pin aws-cdk-lib exactly (==)")
    elif pyproject.get("aws-cdk-lib") != pinned["aws-cdk-lib"]:
        found.append(
            f"pyproject.toml pins aws-cdk-lib {pyproject.get('aws-cdk-lib', '(not exactly)')} but "
            f"deploy/requirements.txt pins {pinned['aws-cdk-lib']}: make them the same"
        )
    for name, version in pinned.items():
        have = installed(name)
        if have != version:
            found.append(
                f"{name} {have or '(missing)'} is installed, deploy/requirements.txt pins {version}: run {FIX_PYTHON}"
            )
    powertools = pyproject.get(toolchain.POWERTOOLS_DISTRIBUTION)
    if powertools is None:
        found.append(
            "pyproject.toml does not pin aws-lambda-powertools exactly (==): the deployed layer follows that pin"
        )
    elif installed(toolchain.POWERTOOLS_DISTRIBUTION) != powertools:
        found.append(
            f"aws-lambda-powertools {installed(toolchain.POWERTOOLS_DISTRIBUTION) or '(missing)'} is installed but "
            f"pyproject.toml pins {powertools} (the deployed layer): run {FIX_PYTHON}"
        )
    cli = toolchain.cli_pins(deploy_dir / "package.json", deploy_dir / "package-lock.json")
    declared, locked = cli["package.json"], cli["package-lock.json"]
    if not toolchain.version_tuple(declared) or declared != ".".join(map(str, toolchain.version_tuple(declared))):
        found.append(f"deploy/package.json must pin aws-cdk exactly (like 2.1148.1), got {declared!r}")
    elif declared != locked:
        found.append(
            f"deploy/package.json pins aws-cdk {declared}, package-lock.json has {locked}: npm install --prefix deploy"
        )
    have_cli = installed_cli(deploy_dir)
    if have_cli is None:
        if require_installed_cli:
            found.append(f"the CDK CLI is not installed in deploy/node_modules: run {FIX_NPM}")
    elif have_cli != locked:
        found.append(f"CDK CLI {have_cli} is installed but package-lock.json locks {locked}: run {FIX_NPM}")
    if not found:
        needed = library_min_cli()
        if toolchain.version_tuple(locked) < toolchain.version_tuple(needed):
            found.append(
                f"aws-cdk-lib {pinned['aws-cdk-lib']} needs CDK CLI >= {needed} but deploy/package.json pins "
                f"{locked}: upgrade the CLI pin"
            )
    return found


def main() -> int:
    found = problems()
    if found:
        sys.stderr.write(f"error: deploy toolchain mismatch: {found[0]}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
