"""One Logger, Metrics and Tracer per process, configured the same way for every function.

The stack sets POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE per stack (two trackers in one
account must not share alarms); these defaults keep local mode and tests working without them.

``tracer`` is built on first access: constructing a Tracer imports aws_xray_sdk, about 100+ ms of cold
start that functions which never trace (ingest) should not pay. Metrics calls go through a lock: local
mode runs the handlers in threads of one process, sharing one Metrics object.
"""

from __future__ import annotations

import os
import threading
from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from functions.core.definitions import METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or POWERTOOLS_SERVICE_NAME
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or METRICS_NAMESPACE, service=SERVICE)
_metrics_lock = threading.Lock()


def count(name: str, value: int = 1) -> None:
    """Add to a count metric of this invocation (emitted by ``flush_metrics``)."""
    with _metrics_lock:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def flush_metrics() -> None:
    """Emit this invocation's metrics (one EMF line on stdout) if there are any."""
    with _metrics_lock:
        if metrics.metric_set:
            metrics.flush_metrics()


@cache
def _tracer() -> Tracer:
    return Tracer(service=SERVICE)


def __getattr__(name: str) -> Tracer:
    """Module attribute ``tracer``, created lazily (PEP 562)."""
    if name == "tracer":
        return _tracer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
