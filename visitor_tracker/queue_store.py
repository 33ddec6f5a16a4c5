"""Keeps local mode's SQS queues (in moto's memory) across restarts and crashes, in the data directory.

The table is in DynamoDB Local and persists by itself; the visit queue and the DLQ live in the
embedded moto server and would vanish with the process. Two files make them durable:

- ``queue-journal.jsonl``: every message sent to the visit queue, appended (and flushed to the OS)
  inside the emulator's lock, right after moto accepted it and before the sender hears back. A
  SIGKILL cannot lose a line the sender was told about (a power cut can: no fsync per visit).
- ``dead-letters.json``: the DLQ's messages with their ids (the writer's failure reasons are keyed
  by message id), receive counts and timestamps.

``compact()`` runs whenever the visit queue is empty: it rewrites ``dead-letters.json`` and
empties the journal, all inside the emulator's lock, so no send slips between the two. On start,
``restore()`` puts the dead letters back on the DLQ and every journaled message not among them back
on the visit queue, with their original ids. A journaled visit the writer had already written is
simply written again: the writer is exactly-once (a redelivery leaves one log item and counts once),
so replaying the journal is safe; one moved to the DLQ since the last compaction fails again and
returns there with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from visitor_tracker.emulator import EmbeddedEmulator

JOURNAL_FILE = "queue-journal.jsonl"
DEAD_LETTERS_FILE = "dead-letters.json"
SEND_TARGETS = ("AmazonSQS.SendMessage", "AmazonSQS.SendMessageBatch")


@dataclass(frozen=True)
class Restored:
    queued: int  # visits put back on the visit queue (not yet known to be written)
    dead_letters: int


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _account(url: str) -> str:
    return url.rstrip("/").rsplit("/", 2)[-2]


class QueueStore:
    """Journal and snapshot of the visit queue and DLQ of one embedded emulator (see the module docstring)."""

    def __init__(self, directory: Path, emulator: EmbeddedEmulator, *, queue_url: str, dlq_url: str, region: str):
        self._directory = directory
        self._emulator = emulator
        self._queue = _queue_name(queue_url)
        self._dlq = _queue_name(dlq_url)
        self._account = _account(queue_url)
        self._region = region
        self._journal_path = directory / JOURNAL_FILE
        self._dead_path = directory / DEAD_LETTERS_FILE
        self._journal: IO[str] | None = None
        self._journaled = 0
        self._dead_ids: tuple[str, ...] = ()

    # --- moto, in process (only under the emulator's lock) ------------------------------------

    def _backend(self) -> Any:
        from moto.sqs.models import sqs_backends

        return sqs_backends[self._account][self._region]

    def depths(self) -> tuple[int, int]:
        """(visit queue, DLQ) message counts, visible or not: cheap, read in process."""
        queues = self._backend().queues
        return len(queues[self._queue]._messages), len(queues[self._dlq]._messages)

    def _put(self, queue: str, entry: dict[str, Any], *, keep_receipts: bool) -> None:
        message = self._backend().send_message(queue, entry["body"], message_attributes=entry.get("attributes") or None)
        message.id = entry["id"]
        if keep_receipts:
            message.sent_timestamp = entry.get("sent", message.sent_timestamp)
            message.approximate_receive_count = entry.get("receives", 0)
            message.approximate_first_receive_timestamp = entry.get("first_receive")

    # --- the journal ----------------------------------------------------------------------------

    def record(self, target: str, request: bytes, response: bytes) -> None:
        """The emulator's observer: journal the messages a send put on the visit queue."""
        try:
            sent, answer = json.loads(request), json.loads(response)
        except ValueError:
            return
        if _queue_name(str(sent.get("QueueUrl", ""))) != self._queue or self._journal is None:
            return
        if target == "AmazonSQS.SendMessage":
            pairs = [(sent, answer.get("MessageId"))]
        else:
            ids = {ok.get("Id"): ok.get("MessageId") for ok in answer.get("Successful", [])}
            pairs = [(entry, ids.get(entry.get("Id"))) for entry in sent.get("Entries", [])]
        for message, message_id in pairs:
            if message_id:
                line = {"id": message_id, "body": message.get("MessageBody", "")}
                if message.get("MessageAttributes"):
                    line["attributes"] = message["MessageAttributes"]
                self._journal.write(json.dumps(line, separators=(",", ":")) + "\n")
                self._journaled += 1
        self._journal.flush()

    def _read_journal(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        try:
            lines = self._journal_path.read_text().splitlines()
        except FileNotFoundError:
            return entries
        for line in lines:
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by a crash: its sender never heard back
        return entries

    # --- start, compaction, stop --------------------------------------------------------------

    def restore(self) -> Restored:
        """Put the persisted dead letters and journaled visits back; start journaling. Call before any traffic."""
        self._directory.mkdir(parents=True, exist_ok=True)
        try:
            dead: list[dict[str, Any]] = json.loads(self._dead_path.read_text())
        except FileNotFoundError:
            dead = []
        journal = self._read_journal()
        with self._emulator.paused():
            for entry in dead:
                self._put(self._dlq, entry, keep_receipts=True)
            dead_ids = {entry["id"] for entry in dead}
            queued = {entry["id"]: entry for entry in journal if entry["id"] not in dead_ids}
            for entry in queued.values():
                self._put(self._queue, entry, keep_receipts=False)
            self._dead_ids = tuple(sorted(dead_ids))
            self._rewrite_journal(queued.values())
        assert self._emulator.app is not None
        self._emulator.app.observe(SEND_TARGETS, self.record)
        return Restored(queued=len(queued), dead_letters=len(dead))

    def _rewrite_journal(self, entries: Iterable[dict[str, Any]]) -> None:
        if self._journal is not None:
            self._journal.close()
        tmp = self._journal_path.with_suffix(".tmp")
        with tmp.open("w") as out:
            for entry in entries:
                out.write(json.dumps(entry, separators=(",", ":")) + "\n")
        tmp.replace(self._journal_path)
        self._journal = self._journal_path.open("a")
        self._journaled = 0

    def _save_dead_letters(self) -> None:
        messages = self._backend().queues[self._dlq]._messages
        ids = tuple(sorted(m.id for m in messages))
        if ids == self._dead_ids and self._dead_path.exists():
            return
        entries = []
        for m in messages:
            entry: dict[str, Any] = {"id": m.id, "body": m.body, "sent": m.sent_timestamp,
                                     "receives": m.approximate_receive_count,
                                     "first_receive": m.approximate_first_receive_timestamp}
            if m.message_attributes:
                entry["attributes"] = m.message_attributes
            entries.append(entry)
        tmp = self._dead_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries))
        tmp.replace(self._dead_path)
        self._dead_ids = ids

    def compact(self) -> bool:
        """If the visit queue is empty: save the DLQ, empty the journal. True when it did."""
        with self._emulator.paused():
            if self.depths()[0]:
                self._save_dead_letters()  # the journal still covers what is on the visit queue
                return False
            self._save_dead_letters()
            if self._journaled or self._journal_path.stat().st_size:
                self._rewrite_journal(())
            return True

    def close(self) -> None:
        """Final save at shutdown: compact if the queue is empty, else keep the journal for the next start."""
        self.compact()
        with self._emulator.paused():
            if self._journal is not None:
                self._journal.close()
                self._journal = None
