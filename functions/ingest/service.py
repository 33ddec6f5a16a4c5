"""Recording one visit: count it, describe it, hand it to the queue - and never lose a counted visit.

Steady state, two AWS calls per visit: the counter (UpdateItem; a bot: one read) and SendMessage.
Once a day per execution environment, one more call fetches or creates the day's salt.

If SendMessage still fails after the SDK's retries, the log item is written straight into the table
(the writer's item plus ``recovered: true``, ``Recoveries`` metric): the visit is safe in the log but
the /status aggregates never see it. If that write fails too, the whole record goes into one
``visit recovery`` error log line (``RecoveryFailures`` metric), from which it can be replayed.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from functions.common import bots, counter, keys
from functions.common.http import Request
from functions.common.observability import logger, metrics
from functions.common.privacy import DailySalt
from functions.common.settings import Settings
from functions.common.visit import Visit, utc_now
from functions.ingest import logic, queue

AWS_ERRORS = (BotoCoreError, ClientError)

# Per execution environment: warm invocations reuse the shard cache and the day's salt.
COUNTER = counter.ShardedCounter()
SALT = DailySalt()
_metrics_lock = threading.Lock()


class CounterUnavailable(RuntimeError):
    """The counter could not be updated (or read): the visit is not recorded at all."""


@dataclass(frozen=True)
class Recorded:
    count: int
    visit: Visit
    delivery: str  # "queued", "recovered" or "logged"


def _add_metrics(*names: str) -> None:
    with _metrics_lock:
        for name in names:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def flush_metrics() -> None:
    """Emit this invocation's metrics (EMF on stdout) if there are any."""
    with _metrics_lock:
        if metrics.metric_set:
            metrics.flush_metrics()


def _salt(settings: Settings, day: str) -> bytes | None:
    """The day's salt, or None (no hashes for this visit) if the table cannot give one."""
    if settings.ip_mode == "none":
        return None
    try:
        return SALT.for_day(day, lambda d: counter.get_or_create_salt(settings, d))
    except AWS_ERRORS:
        logger.warning("daily salt unavailable: visit recorded without ip hash / visitor id", exc_info=True)
        return None


def deliver(settings: Settings, visit: Visit) -> str:
    """Queue the visit; on failure write it to the log directly; on failure of that, log it whole."""
    try:
        queue.send_visit(settings, visit)
        return "queued"
    except AWS_ERRORS:
        logger.warning("SendMessage failed: writing the visit straight to the table", exc_info=True)
    try:
        counter.write_recovered_visit(settings, visit)
        _add_metrics("Recoveries")
        return "recovered"
    except AWS_ERRORS:
        _add_metrics("RecoveryFailures")
        logger.error("visit recovery", extra={"recovery_record": asdict(visit)}, exc_info=True)
        return "logged"


def record_visit(request: Request, settings: Settings) -> Recorded:
    """Count (unless an uncounted bot), build the visit record and deliver it."""
    is_bot = bots.is_bot(request.user_agent)
    counted = settings.count_bots or not is_bot
    try:
        count = COUNTER.count_visit(settings) if counted else COUNTER.current(settings)
    except AWS_ERRORS as exc:
        logger.exception("counter unavailable: visit not recorded")
        raise CounterUnavailable(str(exc)) from exc
    now = utc_now()
    visit = logic.build_visit(
        request,
        now=now,
        ip_mode=settings.ip_mode,
        salt=_salt(settings, keys.day_of(now)),
        is_bot=is_bot,
        counted=counted,
    )
    delivery = deliver(settings, visit)
    _add_metrics(*(["VisitsCounted"] if counted else []), *(["BotVisits"] if is_bot else []))
    return Recorded(count, visit, delivery)


def reset_state() -> None:
    """Forget the shard cache and the salt (tests: a fresh table)."""
    COUNTER.clear()
    SALT.clear()
