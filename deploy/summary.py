#!/usr/bin/env python3
"""What a deployment will keep and who will see it, printed by `make deploy` before `cdk deploy`.

Reads the same configuration the stack is built from (cdk.json, overridden by the ``-c key=value``
arguments of CDK_ARGS), so what it prints is what is deployed. ``--stack-name`` prints the stack's
name alone (for the `visitor-tracker --stack ... token ensure` that follows the deploy).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline.config import ContextError, TrackerConfig, cdk_json_context  # noqa: E402

IP_MODES = {
    "full": "the visitor's full IP address",
    "truncated": "the IP address truncated (IPv4 /24, IPv6 /48)",
    "hashed": "the IP address hashed with a daily salt (deleted after 2 days)",
    "none": "no IP address",
}


def context_overrides(args: list[str]) -> dict[str, str]:
    """The ``-c key=value`` / ``--context key=value`` pairs of a CDK command line (others ignored)."""
    found: dict[str, str] = {}
    for flag, value in zip(args, args[1:], strict=False):
        if flag in ("-c", "--context") and "=" in value:
            key, _, raw = value.partition("=")
            found[key.strip()] = raw
    return found


def summary(config: TrackerConfig) -> list[str]:
    counters = ", ".join(config.public_counters)
    door = ", CloudFront front door" if config.front_door != "none" else ""
    readers = "private: your access token or a shared link"
    if config.public_dashboard:
        readers = "PUBLIC (public_dashboard=true)"
    lines = [
        f"Stack {config.stack_name} ({config.ingress}{door}):",
        f"  per visit, kept {config.log_ttl_days} days (log_ttl_days): {IP_MODES[config.ip_mode]} "
        f"(ip_mode={config.ip_mode}), User-Agent, page, referrer, country; aggregates keep no address",
        f"  dashboard and /status: {readers}",
        f"  /count and /badge.svg public for: {counters}",
    ]
    if config.alarm_email is None:
        lines.append(
            "  WARNING: no alarm_email: the alarms notify nobody (set -c alarm_email=you@example.com; docs/deploy.md)"
        )
    else:
        lines.append(f"  alarms e-mail {config.alarm_email} (confirm the subscription e-mail)")
    return lines


def main(argv: list[str]) -> int:
    name_only = "--stack-name" in argv
    args = [a for a in argv if a != "--stack-name"]
    try:
        config = TrackerConfig.from_context({**cdk_json_context(), **context_overrides(args)})
    except ContextError as exc:
        sys.stderr.write(f"error: bad cdk context: {exc}\n")
        return 2
    sys.stdout.write((config.stack_name if name_only else "\n".join(summary(config))) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
