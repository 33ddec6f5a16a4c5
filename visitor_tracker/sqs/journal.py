"""Keeps local mode's visit queue and DLQ across restarts and crashes: a journal in the data directory.

The table is in DynamoDB Local and persists by itself; the queues live in local mode's SQS engine
(``visitor_tracker.sqs``), in memory. The engine tells this journal every change to the two
queues inside its lock, and each change is one appended line of ``queues.jsonl``, flushed to the
OS before the caller hears back: a ``kill -9`` cannot lose a message whose sender was told it was
sent (a power cut can: no fsync per visit). Lines:

- ``{"op": "send", "q", "id", "body", "attrs"?, "sent", "receives"?, "first"?}``: a message arrived
  (or, after a compaction, is still there with that receive count);
- ``{"op": "del", "q", "ids"}``: deleted (written by the writer, or expired);
- ``{"op": "move", "from", "to", "ids", "receives", "first"}``: dead-lettered or redriven, with the
  receive counts the CLI shows;
- ``{"op": "purge", "q"}``.

Each record is framed: the CRC-32 of its JSON (8 hex digits), a space, the JSON, a newline. On start a
record whose bytes are not UTF-8, whose checksum does not match, or whose fields are missing or of the
wrong type is set aside, as it was, in ``queues.damaged`` beside the journal and counted (local mode
says how many, in one line); every intact record is replayed. A last record without its newline was
being written when the process died: it was never acknowledged (the line is flushed before the sender
hears back), so it is dropped without a word. Lines of the previous, unframed version are read as they are.

``restore()`` replays the file into the engine, message ids kept (the writer's failure reasons are
keyed by them), then starts journaling. A visit that was written but whose delete line was not yet
appended is simply written again: the writer is exactly-once, so a replay is safe. When the file
holds many more lines than live messages it is rewritten with one ``send`` line per live message.
The previous layout (``queue-journal.jsonl`` + ``dead-letters.json``) is read once and converted.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from visitor_tracker.sqs.engine import SqsEngine
from visitor_tracker.sqs.frames import Damaged, apply_record, frame, unframe
from visitor_tracker.sqs.model import Message

JOURNAL_FILE = "queues.jsonl"
QUARANTINE_FILE = "queues.damaged"
ACKED_FILE = "queues.acked"  # the journal's length as of its last acknowledged record
OLD_JOURNAL_FILE = "queue-journal.jsonl"
OLD_DEAD_LETTERS_FILE = "dead-letters.json"
COMPACT_MIN_LINES = 20_000  # rewrite only past this many lines, and when most of them are history
COMPACT_RATIO = 4


@dataclass(frozen=True)
class Restored:
    queued: int  # visits put back on the visit queue (not yet known to be written)
    dead_letters: int
    damaged: int = 0  # records set aside in ``quarantine``
    quarantine: Path | None = None
    lost_bytes: int = 0  # acknowledged bytes missing from the journal's end (truncated after the fact)


def _entry(queue: str, message: Message) -> dict[str, Any]:
    line: dict[str, Any] = {"op": "send", "q": queue, "id": message.id, "body": message.body, "sent": message.sent_ms}
    if message.attributes:
        line["attrs"] = message.attributes
    if message.receives:
        line["receives"] = message.receives
        line["first"] = message.first_receive_ms
    return line


class QueueStore:
    """The journal of two queues of one engine (see the module docstring); also the engine's ``Journal``."""

    def __init__(self, directory: Path, engine: SqsEngine, *, queue: str, dlq: str) -> None:
        self._directory = directory
        self._engine = engine
        self._queue, self._dlq = queue, dlq
        self._kept = frozenset({queue, dlq})
        self._path = directory / JOURNAL_FILE
        self._file: IO[bytes] | None = None
        self._acked_fd: int | None = None
        self._lines = 0

    # --- the engine's Journal (called inside the engine's lock) --------------------------------

    def _write(self, line: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(frame(line).encode())
        self._file.flush()
        self._ack()
        self._lines += 1

    def sent(self, queue: str, messages: Iterable[Message]) -> None:
        if queue in self._kept and self._file is not None:
            lines = [frame(_entry(queue, m)) for m in messages]
            self._file.write("".join(lines).encode())
            self._file.flush()
            self._ack()
            self._lines += len(lines)  # one per message: a batch is not one line

    def _ack(self) -> None:
        """Record how far the journal is acknowledged: one pwrite, no fsync (it survives the process)."""
        if self._file is not None and self._acked_fd is not None:
            os.pwrite(self._acked_fd, f"{self._file.tell():<20}\n".encode(), 0)

    def deleted(self, queue: str, ids: Iterable[str]) -> None:
        if queue in self._kept:
            self._write({"op": "del", "q": queue, "ids": list(ids)})
            self._maybe_compact()

    def moved(self, source: str, target: str, messages: Iterable[Message]) -> None:
        messages = list(messages)
        if source in self._kept or target in self._kept:
            self._write(
                {
                    "op": "move",
                    "from": source,
                    "to": target,
                    "ids": [m.id for m in messages],
                    "receives": {m.id: m.receives for m in messages},
                    "first": {m.id: m.first_receive_ms for m in messages},
                }
            )

    def purged(self, queue: str) -> None:
        if queue in self._kept:
            self._write({"op": "purge", "q": queue})

    # --- replay, compaction ---------------------------------------------------------------------

    def _replay(self) -> tuple[dict[str, dict[str, dict[str, Any]]], list[bytes], int]:
        """(queue -> message id -> its latest ``send``-shaped entry, the damaged records, acknowledged bytes
        lost), from the disk."""
        state: dict[str, dict[str, dict[str, Any]]] = {self._queue: {}, self._dlq: {}}
        try:
            acked: int | None = int((self._directory / ACKED_FILE).read_text().strip() or 0)
        except (OSError, ValueError):
            acked = None
        records, damaged, lost = self._read(self._path, acked)
        for raw, line in records:
            try:
                apply_record(state, line)
            except (Damaged, KeyError, TypeError, ValueError, AttributeError):
                damaged.append(raw)
        self._convert_old_layout(state)
        return state, damaged, lost

    @staticmethod
    def _read(path: Path, acked: int | None = None) -> tuple[list[tuple[bytes, dict[str, Any]]], list[bytes], int]:
        """(intact records with their bytes, damaged records' bytes, acknowledged bytes missing at the end).

        A last record without its newline was being written: dropped silently when it starts past the
        acknowledged length (its sender never heard back), set aside as damaged when it does not (it had
        been acknowledged, then the file was cut).
        """
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return [], [], 0
        lines = data.split(b"\n")
        torn = lines.pop()
        records: list[tuple[bytes, dict[str, Any]]] = []
        damaged: list[bytes] = []
        if torn and acked is not None and len(data) - len(torn) < acked:
            damaged.append(torn)
        lost = max(0, acked - len(data)) if acked is not None else 0
        for raw in lines:
            if not raw.strip():
                continue
            try:
                records.append((raw, unframe(raw)))
            except Damaged:
                damaged.append(raw)
        return records, damaged, lost

    def _set_aside(self, damaged: list[bytes]) -> Path | None:
        """Append the damaged records, as they were, to the quarantine file (never lost, never replayed)."""
        if not damaged:
            return None
        quarantine = self._directory / QUARANTINE_FILE
        with quarantine.open("ab") as out:
            out.write(b"".join(raw + b"\n" for raw in damaged))
        return quarantine

    def _convert_old_layout(self, state: dict[str, dict[str, dict[str, Any]]]) -> None:
        """Messages kept by the previous version (a send journal of the visit queue and a DLQ snapshot)."""
        old_dead = self._directory / OLD_DEAD_LETTERS_FILE
        try:
            dead: list[dict[str, Any]] = json.loads(old_dead.read_text())
        except (FileNotFoundError, ValueError):
            dead = []
        dead_ids = {d["id"] for d in dead}
        for d in dead:
            state[self._dlq][d["id"]] = {
                "op": "send",
                "q": self._dlq,
                "id": d["id"],
                "body": d["body"],
                "attrs": d.get("attributes"),
                "sent": d.get("sent", 0),
                "receives": d.get("receives", 0),
                "first": d.get("first_receive"),
            }
        for _, old in self._read(self._directory / OLD_JOURNAL_FILE)[0]:  # no acknowledged length kept
            if old.get("id") and old["id"] not in dead_ids:
                state[self._queue][old["id"]] = {
                    "op": "send",
                    "q": self._queue,
                    "id": old["id"],
                    "body": old.get("body", ""),
                    "attrs": old.get("attributes"),
                    "sent": 0,
                }

    def _rewrite(self, entries: Iterable[dict[str, Any]]) -> None:
        if self._file is not None:
            self._file.close()
        tmp = self._path.with_suffix(".tmp")
        count = 0
        with tmp.open("wb") as out:
            for entry in entries:
                out.write(frame(entry).encode())
                count += 1
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self._path)
        for old in (OLD_JOURNAL_FILE, OLD_DEAD_LETTERS_FILE):
            (self._directory / old).unlink(missing_ok=True)
        self._file = self._path.open("ab")
        if self._acked_fd is None:
            self._acked_fd = os.open(self._directory / ACKED_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        self._ack()
        self._lines = count

    def _live(self) -> list[dict[str, Any]]:
        return [
            _entry(name, m) for name in (self._queue, self._dlq) for m in self._engine.queue(name).messages.values()
        ]

    def _maybe_compact(self) -> None:
        live = self._engine.depth(self._queue) + self._engine.depth(self._dlq)
        if self._lines > COMPACT_MIN_LINES and self._lines > COMPACT_RATIO * live:
            self._rewrite(self._live())

    # --- start and stop -----------------------------------------------------------------------------

    def restore(self) -> Restored:
        """Put the journaled messages back and start journaling. Call after the queues exist, before traffic."""
        self._directory.mkdir(parents=True, exist_ok=True)
        state, damaged, lost = self._replay()
        quarantine = self._set_aside(damaged)
        with self._engine.lock:
            for name in (self._queue, self._dlq):
                for entry in state.get(name, {}).values():
                    sent = int(entry.get("sent") or 0) or int(time.time() * 1000)  # the old layout kept none
                    self._engine.restore(
                        name,
                        Message(
                            id=entry["id"],
                            body=entry["body"],
                            attributes=dict(entry.get("attrs") or {}),
                            sent_ms=sent,
                            receives=int(entry.get("receives") or 0),
                            first_receive_ms=entry.get("first"),
                        ),
                    )
            self._rewrite(self._live())
            self._engine.journal = self
        return Restored(
            queued=len(state[self._queue]),
            dead_letters=len(state[self._dlq]),
            damaged=len(damaged),
            quarantine=quarantine,
            lost_bytes=lost,
        )

    def close(self) -> None:
        """Stop journaling; what is still queued stays in the file for the next start."""
        with self._engine.lock:
            if self._engine.journal is self:
                self._engine.journal = None
            self._rewrite(self._live())
            if self._file is not None:
                self._file.close()
                self._file = None
            if self._acked_fd is not None:
                os.close(self._acked_fd)
                self._acked_fd = None
