"""One Logger, Metrics and Tracer per process, configured the same way for every function.

Powertools reads POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE from the environment when
set (the stack sets them); these defaults keep local mode and tests working without them.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from functions.common.definitions import METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME

logger = Logger(service=POWERTOOLS_SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=POWERTOOLS_SERVICE_NAME)
tracer = Tracer(service=POWERTOOLS_SERVICE_NAME)
