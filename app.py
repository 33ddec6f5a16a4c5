#!/usr/bin/env python3
"""CDK entry point: synthesizes offline, with no AWS credentials (`CDK_OUTDIR=cdk.out python app.py`).

Configuration comes from cdk.json's context, overridden by `cdk synth -c key=value`; see
docs/deploy.md for every option. A bad value stops synthesis with a message naming the key, and
an unacknowledged cdk-nag finding stops it with the report's path.
"""

from __future__ import annotations

import sys
from typing import Any

from pipeline.config import ContextError
from pipeline.stack import build_app


def main(context: dict[str, Any] | None = None, outdir: str | None = None) -> int:
    """Synthesize; ``context``/``outdir`` are for tests (the CDK CLI passes them through the environment)."""
    try:
        app, _stack = build_app(context, outdir=outdir)
    except ContextError as exc:
        sys.stderr.write(f"error: bad cdk context: {exc}\n")
        return 2
    try:
        app.synth()
    except RuntimeError as exc:  # jsii surfaces cdk-nag's ValidationFailed as a RuntimeError
        if "ValidationFailed" not in str(exc):
            raise
        sys.stderr.write(f"error: cdk-nag found unacknowledged issues (listed above): {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
