"""docs/deploy.md's "Before your first deploy" checklist names tests that exist; every context key is documented."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline import toolchain
from pipeline.config import cdk_json_context

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "deploy.md").read_text()


def _checklist() -> str:
    return DOCS.split("## Before your first deploy", 1)[1].split("\n## ", 1)[0]


def test_every_test_the_checklist_names_exists() -> None:
    checklist = _checklist()
    names = re.findall(r"`(?:[\w/.]+\.py::)?(test_\w+)`", checklist)
    files = re.findall(r"`(tests/infra/\w+\.py)`", checklist)
    assert len(names) >= 6
    source = "\n".join(p.read_text() for p in (ROOT / "tests" / "infra").glob("test_*.py"))
    for name in names:
        assert f"def {name}(" in source, f"the checklist names {name}, which no infra test defines"
    for path in files:
        assert (ROOT / path).exists()


def test_checklist_states_the_real_pins_and_parameter() -> None:
    checklist = _checklist()
    version = toolchain.powertools_version()
    assert f"/aws/service/powertools/python/arm64/python3.14/{version}" in checklist
    assert "N + 100" in checklist and "api_gateway_logging_role" in checklist


def test_every_context_key_is_documented() -> None:
    for key in cdk_json_context():
        assert f"| `{key}` |" in DOCS, f"docs/deploy.md does not document context key {key}"
