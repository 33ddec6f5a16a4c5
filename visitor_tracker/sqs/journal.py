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
from visitor_tracker.sqs.model import Message

JOURNAL_FILE = "queues.jsonl"
OLD_JOURNAL_FILE = "queue-journal.jsonl"
OLD_DEAD_LETTERS_FILE = "dead-letters.json"
COMPACT_MIN_LINES = 20_000  # rewrite only past this many lines, and when most of them are history
COMPACT_RATIO = 4


@dataclass(frozen=True)
class Restored:
    queued: int  # visits put back on the visit queue (not yet known to be written)
    dead_letters: int


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
        self._file: IO[str] | None = None
        self._lines = 0

    # --- the engine's Journal (called inside the engine's lock) --------------------------------

    def _write(self, line: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._file.flush()
        self._lines += 1

    def sent(self, queue: str, messages: Iterable[Message]) -> None:
        if queue in self._kept and self._file is not None:
            lines = [json.dumps(_entry(queue, m), separators=(",", ":")) + "\n" for m in messages]
            self._file.write("".join(lines))
            self._file.flush()
            self._lines += len(lines)  # one per message: a batch is not one line

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

    def _replay(self) -> dict[str, dict[str, dict[str, Any]]]:
        """queue -> message id -> its latest ``send``-shaped entry, from the file(s) on disk."""
        state: dict[str, dict[str, dict[str, Any]]] = {self._queue: {}, self._dlq: {}}
        for line in self._read(self._path):
            op = line.get("op")
            if op == "send":
                state.setdefault(line["q"], {})[line["id"]] = line
            elif op == "del":
                for message_id in line["ids"]:
                    state.get(line["q"], {}).pop(message_id, None)
            elif op == "move":
                source, target = state.setdefault(line["from"], {}), state.setdefault(line["to"], {})
                for message_id in line["ids"]:
                    entry = source.pop(message_id, None)
                    if entry is not None:
                        receives = line.get("receives", {}).get(message_id, 0)
                        target[message_id] = {
                            **entry,
                            "q": line["to"],
                            "receives": receives,
                            "first": line.get("first", {}).get(message_id),
                        }
            elif op == "purge":
                state[line["q"]] = {}
        self._convert_old_layout(state)
        return state

    @staticmethod
    def _read(path: Path) -> list[dict[str, Any]]:
        try:
            text = path.read_text()
        except FileNotFoundError:
            return []
        lines = []
        for raw in text.splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue  # a line cut short by a crash: its sender never heard back
        return lines

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
        for old in self._read(self._directory / OLD_JOURNAL_FILE):
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
        with tmp.open("w") as out:
            for entry in entries:
                out.write(json.dumps(entry, separators=(",", ":")) + "\n")
                count += 1
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self._path)
        for old in (OLD_JOURNAL_FILE, OLD_DEAD_LETTERS_FILE):
            (self._directory / old).unlink(missing_ok=True)
        self._file = self._path.open("a")
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
        state = self._replay()
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
        return Restored(queued=len(state[self._queue]), dead_letters=len(state[self._dlq]))

    def close(self) -> None:
        """Stop journaling; what is still queued stays in the file for the next start."""
        with self._engine.lock:
            if self._engine.journal is self:
                self._engine.journal = None
            self._rewrite(self._live())
            if self._file is not None:
                self._file.close()
                self._file = None
