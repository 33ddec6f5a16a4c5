"""cdk-nag v3 acknowledgments, kept in one helper so each one reads as (construct, rule, reason)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Record a deliberate cdk-nag finding on ``construct`` (and its children) with its reason."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))
