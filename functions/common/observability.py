"""One Logger, Metrics and Tracer per process, configured the same way for every function.

Powertools reads POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE from the environment when
set (the stack sets them); these defaults keep local mode and tests working without them.

``tracer`` is built on first access (``from functions.common.observability import tracer`` works as
before): constructing a Tracer imports aws_xray_sdk, about 100+ ms of cold start that functions which
never trace (ingest) should not pay.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer

from functions.common.definitions import METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME

logger = Logger(service=POWERTOOLS_SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=POWERTOOLS_SERVICE_NAME)


@cache
def _tracer() -> Tracer:
    return Tracer(service=POWERTOOLS_SERVICE_NAME)


def __getattr__(name: str) -> Tracer:
    """Module attribute ``tracer``, created lazily (PEP 562)."""
    if name == "tracer":
        return _tracer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
