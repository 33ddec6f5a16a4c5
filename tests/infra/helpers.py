"""Small readers of a synthesized template: find a function, its role, its IAM statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.functions import HANDLERS
from pipeline.stack import VisitorTrackerStack


@dataclass
class Synth:
    """One synthesized variant: its template, cloud assembly folder and cdk-nag report."""

    name: str
    context: dict[str, Any]
    stack: VisitorTrackerStack
    outdir: Path
    template: dict[str, Any]
    nag_report: dict[str, Any]
    synth_error: str | None = None
    resources: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.resources = self.template.get("Resources", {})

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{self.stack.stack_name}.template.json"

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def one(self, resource_type: str) -> dict[str, Any]:
        found = list(self.of_type(resource_type).values())
        assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
        return found[0]["Properties"]

    def nag_violations(self) -> list[tuple[str, str]]:
        return [
            (violation["ruleName"], construct["constructPath"])
            for plugin in self.nag_report.get("pluginReports", [])
            for violation in plugin.get("violations", [])
            for construct in violation.get("violatingConstructs", [])
        ]


def function_id(synth: Synth, name: str) -> str:
    """Logical id of the ingest/writer/status function, found by its handler string."""
    handler = HANDLERS[name]
    ids = [
        key
        for key, res in synth.of_type("AWS::Lambda::Function").items()
        if res["Properties"].get("Handler") == handler
    ]
    assert len(ids) == 1, f"one function with handler {handler}, found {ids}"
    return ids[0]


def function_props(synth: Synth, name: str) -> dict[str, Any]:
    return synth.resources[function_id(synth, name)]["Properties"]  # type: ignore[no-any-return]


def role_id(synth: Synth, name: str) -> str:
    role = function_props(synth, name)["Role"]
    return role["Fn::GetAtt"][0]  # type: ignore[no-any-return]


def statements(synth: Synth, name: str) -> list[dict[str, Any]]:
    """Every IAM statement attached to the function's role (inline policies + AWS::IAM::Policy)."""
    rid = role_id(synth, name)
    role = synth.resources[rid]["Properties"]
    found: list[dict[str, Any]] = []
    for policy in role.get("Policies", []):
        found.extend(policy["PolicyDocument"]["Statement"])
    for res in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": rid} in res["Properties"]["Roles"]:
            found.extend(res["Properties"]["PolicyDocument"]["Statement"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions(synth: Synth, name: str) -> set[str]:
    return {action for st in statements(synth, name) for action in as_list(st["Action"])}


def actions_on(synth: Synth, name: str, resource: Any) -> set[str]:
    """Actions the function may perform on one resource (a Fn::GetAtt/Ref/ARN expression)."""
    return {
        action
        for st in statements(synth, name)
        if resource in as_list(st["Resource"])
        for action in as_list(st["Action"])
    }


def logical_id(synth: Synth, resource_type: str, contains: str) -> str:
    ids = [key for key in synth.of_type(resource_type) if contains in key]
    assert len(ids) == 1, f"one {resource_type} with {contains!r} in its id, found {ids}"
    return ids[0]


def arn(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "Arn"]}
