"""The writer's side of the lake: a batch's rows, one gzip JSON-lines object per site and day.

Called after the counting transaction with every visit the batch holds that is counted, now or by
an earlier delivery: a writer that died between its transaction and this write loses nothing, the
redelivery writes the rows. An object is named after its visits, so the same batch redelivered
overwrites its own object; a batch of another composition may repeat a visit's row, and every
query keeps one row per ``visit_id`` (``functions.lake.queries``). A failed put fails the batch's
records: SQS redelivers them, the transaction finds them counted, only this write is redone.

Rows for a day whose panels may already be stored (``lakerow.finished``: a dead letter redriven days
later) drop that rollup after their object is written, so the next view computes the day again with them.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from datetime import date

from functions.core.goals import Goal
from functions.core.observability import logger
from functions.lake import store
from functions.lake.config import LakeConfig, get_config
from functions.model.lakerow import encode_rows, finished, object_key, partition_of, rollup_key, row_of
from functions.model.visit import Visit, utc_now

Appender = Callable[[Sequence[Visit]], str | None]
GZIP_LEVEL = 6  # zlib's default: most of level 9's size at a fraction of its CPU in the writer


def append(
    config: LakeConfig,
    visits: Sequence[Visit],
    default_site: str,
    goals: Sequence[Goal] = (),
    today: date | None = None,
) -> int:
    """Write the visits' rows; return the number of objects written. Raises the store's errors."""
    groups: dict[tuple[str, str], list[Visit]] = {}
    for visit in visits:
        groups.setdefault(partition_of(visit, default_site), []).append(visit)
    today = today or utc_now().date()
    for (site, day), members in sorted(groups.items()):
        body = gzip.compress(encode_rows(row_of(v) for v in members), compresslevel=GZIP_LEVEL, mtime=0)
        store.put(config, object_key(site, day, (v.visit_id for v in members)), body)
        if finished(day, today):  # late rows: the day's stored panels lack them
            store.delete(config, rollup_key(site, day, (g.spec for g in goals)))
    return len(groups)


def appender(default_site: str, config: LakeConfig | None = None, goals: Sequence[Goal] = ()) -> Appender | None:
    """The writer's hook: a function answering None (written) or why the rows could not be written;
    None when this deployment has no lake."""
    lake = config or get_config()
    if not lake.enabled:
        return None

    def write(visits: Sequence[Visit]) -> str | None:
        if not visits:
            return None
        try:
            append(lake, visits, default_site, goals)
        except store.STORE_ERRORS as exc:
            logger.error("Lake write failed", extra={"error": type(exc).__name__, "visits": len(visits)})
            return f"lake write failed: {type(exc).__name__}"
        return None

    return write
