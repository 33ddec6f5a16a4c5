"""Import access logs: the automated traffic the tracker never sees, tallied into its aggregates.

Most crawlers, AI crawlers first, never run the tracker's JavaScript. Their requests are in the web
server's or CDN's access log; this module streams such logs (nginx/Apache combined, CloudFront
standard logs, gzip or not: ``functions.model.accesslog``), keeps the automated requests
(``functions.model.bots``: AI crawlers are their own class) and adds them to the automated-traffic
aggregates exactly as the writer would (``fold``: bots and classes per day and hour, agents, AI
crawlers by page). Browsers' lines are skipped: the tracker counts people itself, and a log line
is not a visit, so visitor counts never change.

Idempotent: each chunk of ``CHUNK_LINES`` lines is identified by the SHA-256 of its bytes
(decompressed, so ``access.log`` and ``access.log.gz`` are the same import) and written in
transactions led by a conditional marker (``functions.tables.imports``): importing a file again,
or resuming after an interruption, adds nothing twice.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from functions.core.definitions import MAX_USER_AGENT_LENGTH
from functions.model import bots, browsers, fold, keys, layout
from functions.model.accesslog import BadLine, Hit, LogParser
from functions.model.attrs import pack_names
from functions.model.capture import clean_text, normalise_path
from functions.model.fold import Delta, Namers
from functions.model.keys import key_tuple
from functions.model.visit import Visit, format_timestamp
from functions.tables import imports
from functions.writer.names import KnownNames, Loaded

CHUNK_LINES = 2000
BAD_EXAMPLES = 5
NAMERS = Namers(browsers.browser_of, bots.agent_of)
MARKER_TTL_DAYS = layout.NAMES_TTL_DAYS  # as long as the tallies a marker protects


@dataclass
class Report:
    """What an import did, for the command's summary."""

    lines: int = 0
    automated: int = 0  # requests tallied (now or by an earlier import of the same lines)
    browsers: int = 0  # requests of browsers: skipped
    bad: int = 0
    bad_examples: list[str] = field(default_factory=list)
    groups_written: int = 0
    groups_already: int = 0  # imported before: unchanged
    by_class: Counter[str] = field(default_factory=Counter)

    def bad_line(self, where: str, reason: str) -> None:
        self.bad += 1
        if len(self.bad_examples) < BAD_EXAMPLES:
            self.bad_examples.append(f"{where}: {reason}")


def open_log(raw: IO[bytes]) -> IO[bytes]:
    """The file's lines, decompressed when it is gzip (by its magic number, not its name)."""
    magic = raw.read(2)
    raw.seek(0)
    return gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw  # type: ignore[return-value]


def chunks(stream: IO[bytes], size: int = CHUNK_LINES) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for line in stream:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def visit_of(hit: Hit, digest: str, number: int) -> Visit | None:
    """The automated visit a request stands for, None for a browser (not tallied)."""
    bot_class = bots.classify(hit.user_agent)
    if bot_class is None:
        return None
    return Visit(
        visit_id=f"import-{digest[:16]}-{number}",
        timestamp=format_timestamp(hit.when),
        ip=None,
        user_agent=clean_text(hit.user_agent, MAX_USER_AGENT_LENGTH),
        path=normalise_path(hit.path),
        referrer=None,
        is_bot=True,
        counted=False,
        bot_class=bot_class,
    )


def groups(visits: Sequence[Visit]) -> list[Sequence[Visit]]:
    """The chunk's visits in order, halved until each part's updates fit one transaction. Decided
    on the uncapped fold, so the same lines always give the same groups (and markers)."""
    out: list[Sequence[Visit]] = []
    pending: list[Sequence[Visit]] = [visits]
    while pending:
        part = pending.pop()
        if len(part) <= 1 or len(fold.fold(part, NAMERS)) <= imports.MAX_UPDATES:
            out.append(part)
        else:
            middle = len(part) // 2
            pending += [part[middle:], part[:middle]]
    return out


@dataclass
class Importer:
    """Writes imported chunks to one table with the CLI's client."""

    client: Any
    table_name: str
    site: str | None = None  # the site the logs are of (None: the default site)
    known: KnownNames = field(default_factory=KnownNames)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def import_file(self, path: Path, report: Report, on_bytes: Callable[[int], None] = lambda n: None) -> None:
        """Import one file; ``on_bytes`` hears how far into the file (compressed bytes) it got."""
        parser = LogParser()
        number = 0
        with path.open("rb") as raw, open_log(raw) as stream:
            for chunk in chunks(stream):
                digest = hashlib.sha256(b"".join(chunk)).hexdigest()
                visits: list[Visit] = []
                for line in chunk:
                    number += 1
                    report.lines += 1
                    try:
                        hit = parser.parse(line.decode("utf-8", errors="replace"))
                    except BadLine as exc:
                        report.bad_line(f"{path.name}:{number}", str(exc))
                        continue
                    if hit is None:
                        continue
                    visit = visit_of(hit, digest, number)
                    if visit is None:
                        report.browsers += 1
                        continue
                    visits.append(visit)
                    report.automated += 1
                    report.by_class[visit.bot_class or "other"] += 1
                self._write(digest, visits, len(chunk), report)
                on_bytes(raw.tell())

    def _write(self, digest: str, visits: Sequence[Visit], lines: int, report: Report) -> None:
        expires = layout.epoch(self.now() + timedelta(days=MARKER_TTL_DAYS))
        for index, part in enumerate(groups(visits) if visits else [[]]):
            actions = imports.transaction(self.table_name, digest, index, self._deltas(part), lines, expires, self.site)
            if imports.write(self.client, actions):
                report.groups_written += 1
            else:
                report.groups_already += 1

    def _deltas(self, visits: Sequence[Visit]) -> list[Delta]:
        """The updates of some visits, capped and packed as the writer does (``BatchWriter._deltas``)."""
        deltas = fold.fold(visits, NAMERS).values()
        capped = fold.merge_deltas(fold.capped(d, self._admitted) for d in deltas)
        return fold.pack(capped, self._slot)

    def _admitted(self, day: str, dim: str, name: str) -> bool:
        return self.known.admitted(day, dim, name, self._load)

    def _slot(self, day: str, dim: str, name: str) -> int:
        return self.known.slot(day, dim, name, self._load)

    def _load(self, day: str) -> Loaded:
        """Where each name of a period's partition is packed (one paginated Query)."""
        placed: Loaded = {}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": keys.PK},
            "ExpressionAttributeValues": {":pk": {"S": keys.in_site((keys.names_pk(day), ""), self.site)[0]}},
        }
        while True:
            response = self.client.query(**request)
            for item in response.get("Items", []):
                parts = layout.split_name_key(keys.out_of_site(key_tuple(item)))
                if parts is not None and parts[2].isdigit():
                    for name in pack_names(item):
                        placed.setdefault((parts[1], name), int(parts[2]))
            if "LastEvaluatedKey" not in response:
                return placed
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
