"""One handler skeleton for the three functions: log context, parse, settings, correlation id, answer,
and always flush metrics.

A function supplies how to parse its event (raising ``http.BadRequest`` for one it refuses), how to
answer, and how to refuse (an HTTP function answers a JSON error; the writer raises so that SQS
redelivers the batch). Everything else, including what a
bad request or a bad configuration logs, is the same everywhere.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any, TypeVar

from functions.core import http
from functions.core.observability import flush_metrics, logger
from functions.core.settings import ConfigError, Settings, get_settings

P = TypeVar("P")
R = TypeVar("R")


class _ColdStart:
    """Whether this environment has answered an invocation yet (logged on every line as ``cold_start``)."""

    def __init__(self) -> None:
        self.cold = True

    def take(self) -> bool:
        cold, self.cold = self.cold, False
        return cold


_COLD_START = _ColdStart()


def run(
    event: Any,
    context: Any,
    *,
    parse: Callable[[Any], P],
    correlation_id: Callable[[P], str | None],
    answer: Callable[[P, Settings], R],
    refuse: Callable[[int, str], R],
) -> R:
    """Run one invocation through the skeleton (any context, even None: local mode and tests)."""
    logger.append_keys(
        cold_start=_COLD_START.take(),
        function_name=getattr(context, "function_name", None),
        function_request_id=getattr(context, "aws_request_id", None),
    )
    try:
        try:
            parsed = parse(event)
        except http.BadRequest as exc:
            logger.set_correlation_id(None)
            logger.warning("bad request", extra={"reason": str(exc)})
            return refuse(exc.status, str(exc))
        logger.set_correlation_id(correlation_id(parsed))
        try:
            settings = get_settings()
        except ConfigError:
            logger.exception("configuration error")
            return refuse(500, "the tracker is misconfigured")
        return answer(parsed, settings)
    finally:
        flush_metrics()


def http_handler(answer: Callable[[http.Request, Settings], http.Response]) -> Callable[[Any, Any], http.Response]:
    """A Lambda entry point for an HTTP function (REST API, HTTP API or function URL payload).

    Behind the front door the answer sees the viewer's own address (``http.viewer_request``).
    """

    def as_viewer(request: http.Request, settings: Settings) -> http.Response:
        return answer(http.viewer_request(request, settings.front_door_secret), settings)

    def handler(event: Any, context: Any) -> http.Response:
        return run(
            event,
            context,
            parse=http.parse_request,
            correlation_id=lambda request: request.request_id,
            answer=as_viewer,
            refuse=http.error_response,
        )

    handler.__doc__ = answer.__doc__
    # Built once, at the end of the function module's import: what was imported lives as long as the
    # execution environment. Freezing it keeps the collector's full passes from scanning those objects
    # again during the cold start's client set-up and on every later request (bench figure 3).
    gc.freeze()
    return handler
