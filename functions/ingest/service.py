"""Recording one visit: read the count, describe the visit, hand it to the queue - never count it twice.

Ingest does not increment the counter: the writer does, in the same transaction that logs the visit
under a condition on its log item, so each visit id is counted exactly once however often SQS or
the SDK repeat themselves. Ingest answers with the count it read plus this visit:
``max(stored + 1, last answered here + 1)`` for a counted visit (a bot: without the +1). So the
number shown never exceeds the true count, and it is exact when no other visit is still on its way
(the pipeline folds visits in within about a second or two).

Steady state, two AWS calls per visit: the counter read and SendMessage. With ``COUNT_CACHE_SECONDS``
(the stack sets 1) an execution environment reads the counter at most once per that interval and
answers the visits in between from its last answer + 1: that answer was at most the true count when
given, every visit counted since adds one to the true count, so the rule still never answers above
it, and at 20,000 visits/s the reads no longer pass one partition's read capacity (figure 10). Once a
day per execution environment, one more call fetches or creates the day's salt.

If SendMessage still fails after the SDK's retries, ingest logs and counts the visit itself with
one transaction (``recovery``): the log item (``recovered: true``) conditional on its key, and the
counter increment; a delivery of the same visit that did reach the queue then fails the writer's
condition and is not counted again. Recovered visits are in the count and the log, not in the
/status aggregates (``Recoveries`` metric). If that transaction fails too, the whole record goes into
one ``visit recovery`` error log line (``RecoveryFailures`` metric), from which it can be replayed,
and the visitor gets a 503: a 200 always means the visit is counted or on its way to be.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass

from functions.core import aws
from functions.core.environment import ENVIRONMENT
from functions.core.http import Request
from functions.core.observability import count, logger
from functions.core.settings import Settings
from functions.ingest import queue
from functions.model import bots, capture, keys, networks
from functions.model.privacy import DailySalt
from functions.model.visit import Visit, utc_now
from functions.tables import counter, salt, store, visitlog
from functions.tables.visitlog import to_log_item

AWS_ERRORS = store.AWS_ERRORS


class CounterUnavailable(RuntimeError):
    """The count could not be read and none is known here: the visit is not recorded at all."""


class VisitNotRecorded(RuntimeError):
    """Neither the queue nor the recovery transaction took the visit (it is in the logs only)."""


def clock() -> float:
    """Seconds for the count cache's age (a module function, so tests can move time on)."""
    return time.monotonic()


class LastCount:
    """Per execution environment: the last count answered, so consecutive visits never go backwards."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: int | None = None
        self._read_at: float | None = None  # when the stored count was last read here

    def known(self) -> bool:
        return self._value is not None

    def fresh(self, max_age: float) -> bool:
        """The count was read here less than ``max_age`` seconds ago: answer without reading it again."""
        with self._lock:
            return self._read_at is not None and clock() - self._read_at < max_age

    def answer(self, stored: int | None, counted: bool) -> int:
        step = 1 if counted else 0
        with self._lock:
            candidates = [v + step for v in (stored, self._value) if v is not None]
            value = max(candidates) if candidates else step
            self._value = value
            if stored is not None:
                self._read_at = clock()
            return value

    def clear(self) -> None:
        with self._lock:
            self._value = None
            self._read_at = None


class LastCounts:
    """Per execution environment: each site's ``LastCount`` (each site has its own count)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sites: dict[str | None, LastCount] = {}

    def of(self, site: str | None) -> LastCount:
        with self._lock:
            return self._sites.setdefault(site, LastCount())

    def clear(self) -> None:
        with self._lock:
            self._sites.clear()


# Per execution environment: warm invocations reuse the last count and the day's salt.
LAST_COUNTS = ENVIRONMENT.keep(LastCounts())
SALT = ENVIRONMENT.keep(DailySalt())


@dataclass(frozen=True)
class Recorded:
    count: int
    visit: Visit
    delivery: str  # "queued", "recovered" or "excluded" (the owner's settings leave it out)


def _salt(settings: Settings, day: str) -> bytes | None:
    """The day's salt, or None (no hashes for this visit) if the table cannot give one."""
    if settings.ip_mode == "none":
        return None
    try:
        return SALT.for_day(day, lambda d: salt.get_or_create_salt(settings, d))
    except AWS_ERRORS:
        logger.warning("daily salt unavailable: visit recorded without ip hash / visitor id", exc_info=True)
        return None


def recover(settings: Settings, visit: Visit) -> None:
    """Log and count the visit in one transaction, conditional on its log item not existing yet."""
    actions = [visitlog.put_new_action(settings.table_name, to_log_item(visit, settings.log_ttl_days, recovered=True))]
    if visit.counted:
        actions.append(counter.increment_action(settings.table_name, 0, 1, visit.site))
    codes = store.transact(actions, profile=aws.REQUEST_PATH)
    if codes is not None and codes[0] != store.CONDITION_FAILED:
        # A failed condition means it is already in: an earlier attempt of this call, or the writer.
        raise VisitNotRecorded(f"recovery transaction cancelled: {', '.join(codes)}")


def deliver(settings: Settings, visit: Visit) -> str:
    """Queue the visit; on failure log and count it directly; on failure of that, log it whole and raise."""
    try:
        queue.send_visit(settings, visit)
        return "queued"
    except AWS_ERRORS:
        logger.warning("SendMessage failed: recording the visit straight in the table", exc_info=True)
    try:
        recover(settings, visit)
    except (*AWS_ERRORS, VisitNotRecorded) as exc:
        count("RecoveryFailures")
        logger.error("visit recovery", extra={"recovery_record": asdict(visit)}, exc_info=True)
        raise VisitNotRecorded(str(exc)) from exc
    count("Recoveries")
    return "recovered"


def record_event(
    request: Request, settings: Settings, name: str, props: dict[str, str], site: str | None = None
) -> Visit | None:
    """Queue a custom event (``functions.model.events``): logged and tallied once by the writer, never
    counted as a visit, so the counter is not read. None when the owner's settings exclude it."""
    page = capture.page_of(request)
    if capture.excluded(request, settings, page) is not None:
        return None
    event = _record(request, settings, page, _automated_class(request, settings), False, site, event=(name, props))
    deliver(settings, event)
    return event


def _automated_class(request: Request, settings: Settings) -> str | None:
    """The automated-traffic class: the User-Agent's, else ``datacenter`` for a hosting network's ASN."""
    bot_class = bots.classify(request.user_agent)
    if (
        bot_class is None
        and not settings.count_datacenters
        and networks.is_datacenter(request.header(networks.ASN_HEADER))
    ):
        bot_class = bots.DATACENTER_CLASS
    return bot_class


def _record(
    request: Request,
    settings: Settings,
    page: str,
    bot_class: str | None,
    counted: bool,
    site: str | None,
    *,
    event: tuple[str, dict[str, str]] | None = None,
) -> Visit:
    """The record of a request kept under the owner's IP mode, hashed with the day's salt."""
    now = utc_now()
    return capture.build_visit(
        request,
        page=page,
        now=now,
        ip_mode=settings.ip_mode,
        salt=_salt(settings, keys.day_of(now)),
        bot_class=bot_class,
        counted=counted,
        event=event,
        site=site,
    )


def record_visit(request: Request, settings: Settings, site: str | None = None) -> Recorded:
    """Read the site's count, build the visit record and deliver it (the writer counts it).

    A visit the owner's settings exclude (EXCLUDE_IPS, EXCLUDE_PATHS, RESPECT_DNT) is answered with
    the count and neither queued nor logged.
    """
    bot_class = _automated_class(request, settings)
    counted = settings.count_bots or bot_class is None
    page = capture.page_of(request)
    exclusion = capture.excluded(request, settings, page)
    if exclusion is not None:
        counted = False
    stored: int | None = None
    last = LAST_COUNTS.of(site)
    try:
        if not last.fresh(settings.count_cache_seconds):
            stored = counter.read_total(settings, consistent=False, site=site)
    except (*AWS_ERRORS, counter.CounterReadIncomplete):
        if not last.known():
            logger.exception("counter unavailable: visit not recorded")
            raise CounterUnavailable("the count cannot be read") from None
        logger.warning("counter unavailable: answering from the last count", exc_info=True)
    if exclusion is not None:
        visit = capture.build_visit(
            request, page=page, now=utc_now(), ip_mode="none", salt=None, bot_class=bot_class, counted=False, site=site
        )
        return Recorded(last.answer(stored, False), visit, "excluded")
    visit = _record(request, settings, page, bot_class, counted, site)
    delivery = deliver(settings, visit)
    return Recorded(last.answer(stored, counted), visit, delivery)
