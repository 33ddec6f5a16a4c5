"""Versions that must agree between what is tested and what is deployed, read from their one source.

CDK-free: the stack, deploy/check_toolchain.py and the tests share it.

- Powertools: pyproject.toml pins one exact version; tests run it from PyPI and the stack deploys
  AWS's public layer built from the same release, found through the public SSM parameter
  ``/aws/service/powertools/python/<arch>/<python>/<version>`` (see the Powertools installation docs).
  CloudFormation resolves it at deploy time in the target region, so synthesis needs no AWS call.
- The CDK: aws-cdk-lib is pinned in pyproject.toml and deploy/requirements.txt, the CLI in
  deploy/package.json + package-lock.json.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
PYPROJECT: Final = ROOT / "pyproject.toml"
DEPLOY: Final = ROOT / "deploy"
POWERTOOLS_DISTRIBUTION: Final = "aws-lambda-powertools"
_EXACT_PIN = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\[[^\]]*\])?\s*==\s*([0-9][0-9A-Za-z.+-]*)\s*(?:;.*)?$")


class ToolchainError(RuntimeError):
    """A version is not pinned exactly, or two pins of the same thing disagree."""


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def exact_pins(requirements: list[str]) -> dict[str, str]:
    """``{distribution: version}`` of the requirement lines pinned with ``==`` (comments ignored)."""
    pins: dict[str, str] = {}
    for line in requirements:
        match = _EXACT_PIN.match(line.split("#", 1)[0])
        if match:
            pins[_normal(match.group(1))] = match.group(2)
    return pins


def pyproject_pins(path: Path = PYPROJECT) -> dict[str, str]:
    """Exact pins of pyproject.toml: dependencies and every optional-dependency group."""
    project: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    lines = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        lines.extend(group)
    return exact_pins(lines)


def requirements_pins(path: Path = DEPLOY / "requirements.txt") -> dict[str, str]:
    return exact_pins(path.read_text(encoding="utf-8").splitlines())


def powertools_version(path: Path = PYPROJECT) -> str:
    """The one Powertools version of the project (an exact pin in pyproject.toml, or an error)."""
    version = pyproject_pins(path).get(POWERTOOLS_DISTRIBUTION)
    if version is None:
        raise ToolchainError(
            f"{path.name} must pin {POWERTOOLS_DISTRIBUTION} exactly (==): the deployed layer follows it"
        )
    return version


def powertools_layer_parameter(*, architecture: str, python: str, version: str) -> str:
    """AWS's public SSM parameter holding the layer ARN of one Powertools release, e.g.
    ``/aws/service/powertools/python/arm64/python3.14/3.37.0`` (``architecture``: arm64 | x86_64)."""
    if architecture not in ("arm64", "x86_64"):
        raise ValueError(f"architecture must be arm64 or x86_64, got {architecture!r}")
    if not re.fullmatch(r"python3\.\d+", python):
        raise ValueError(f"python must look like python3.14, got {python!r}")
    return f"/aws/service/powertools/python/{architecture}/{python}/{version}"


def cli_pins(package_json: Path = DEPLOY / "package.json", lock: Path = DEPLOY / "package-lock.json") -> dict[str, str]:
    """The CDK CLI version as package.json pins it and as the lock file resolved it."""
    declared = json.loads(package_json.read_text(encoding="utf-8")).get("dependencies", {}).get("aws-cdk", "")
    locked = json.loads(lock.read_text(encoding="utf-8")).get("packages", {}).get("node_modules/aws-cdk", {})
    return {"package.json": str(declared), "package-lock.json": str(locked.get("version", ""))}


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-", 1)[0])[:3])
