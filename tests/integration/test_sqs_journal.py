"""Local mode's queue journal (``visitor_tracker.sqs.journal``) on an ``SqsEngine`` used directly.

A "crash" is an engine and its store dropped without ``close()``: whatever the journal flushed is
all the next engine gets, as after a ``kill -9``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from visitor_tracker.sqs import journal
from visitor_tracker.sqs.engine import SqsEngine
from visitor_tracker.sqs.frames import frame, unframe
from visitor_tracker.sqs.journal import (
    JOURNAL_FILE,
    OLD_DEAD_LETTERS_FILE,
    OLD_JOURNAL_FILE,
    QueueStore,
    Restored,
)
from visitor_tracker.sqs.model import md5_of_attributes

QUEUE, DLQ = "vt-queue", "vt-dlq"
MAX_RECEIVES = 2
ATTRIBUTES = {
    "source": {"DataType": "String", "StringValue": "ingest"},
    "blob": {"DataType": "Binary", "BinaryValue": "AAH+/w=="},  # the JSON protocol's base64
}


class Local:
    """One engine with the visit queue and its DLQ (as ``visitor_tracker.resources`` makes them) and its store."""

    def __init__(self, directory: Path) -> None:
        self.engine = SqsEngine()
        dlq_url = self.call("CreateQueue", QueueName=DLQ)["QueueUrl"]
        dlq_arn = self.call("GetQueueAttributes", QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)})
        self.url = self.call(
            "CreateQueue", QueueName=QUEUE, Attributes={"VisibilityTimeout": "30", "RedrivePolicy": policy}
        )["QueueUrl"]
        self.dlq_url, self.dlq_arn = dlq_url, dlq_arn
        self.queue_arn = self.call("GetQueueAttributes", QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.store = QueueStore(directory, self.engine, queue=QUEUE, dlq=DLQ)
        self.restored: Restored = self.store.restore()

    def call(self, operation: str, **request: Any) -> dict[str, Any]:
        return self.engine.call(operation, request)

    def send(self, body: str, **extra: Any) -> str:
        return str(self.call("SendMessage", QueueUrl=self.url, MessageBody=body, **extra)["MessageId"])

    def send_batch(self, bodies: list[str]) -> list[str]:
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)]
        answer = self.call("SendMessageBatch", QueueUrl=self.url, Entries=entries)
        assert not answer["Failed"]
        return [s["MessageId"] for s in answer["Successful"]]

    def receive(self, url: str | None = None, *, visibility: int = 30, limit: int = 10) -> list[dict[str, Any]]:
        answer = self.call(
            "ReceiveMessage",
            QueueUrl=url or self.url,
            MaxNumberOfMessages=limit,
            VisibilityTimeout=visibility,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(answer.get("Messages", []))

    def delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            assert not self.call("DeleteMessageBatch", QueueUrl=self.url, Entries=entries)["Failed"]

    def held(self, name: str) -> dict[str, tuple[str, int, int | None]]:
        """A queue's messages: id -> (body, receive count, first receive), visible or not."""
        with self.engine.lock:
            return {m.id: (m.body, m.receives, m.first_receive_ms) for m in self.engine.queue(name).messages.values()}


def _journal(directory: Path) -> list[dict[str, Any]]:
    return [unframe(line) for line in (directory / JOURNAL_FILE).read_bytes().splitlines()]


def test_a_fresh_directory_restores_nothing_and_starts_a_journal(tmp_path: Path) -> None:
    local = Local(tmp_path / "data")

    assert local.restored == Restored(queued=0, dead_letters=0)
    assert (tmp_path / "data" / JOURNAL_FILE).exists()
    message_id = local.send("first")
    assert [line["id"] for line in _journal(tmp_path / "data")] == [message_id]


def test_unacknowledged_messages_survive_a_crash_with_their_ids(tmp_path: Path) -> None:
    before = Local(tmp_path)
    kept_plain = before.send("plain")
    kept_attributes = before.send("with attributes", MessageAttributes=ATTRIBUTES)
    batch = before.send_batch(["b0", "b1", "b2"])
    received = before.receive(limit=3)  # plain, with attributes, b0: in flight
    assert [m["MessageId"] for m in received] == [kept_plain, kept_attributes, batch[0]]
    before.delete([received[0]])  # plain is written: acknowledged
    sent_md5 = received[1]["MD5OfMessageAttributes"]

    after = Local(tmp_path)  # the crash: ``before`` was never closed

    assert after.restored == Restored(queued=4, dead_letters=0)
    assert set(after.held(QUEUE)) == {kept_attributes, *batch}  # the deleted one stays deleted
    messages = after.receive()
    assert [m["MessageId"] for m in messages] == [kept_attributes, *batch]  # visible again, in send order
    assert [m["Body"] for m in messages] == ["with attributes", "b0", "b1", "b2"]
    assert messages[0]["MessageAttributes"] == ATTRIBUTES
    assert messages[0]["MD5OfMessageAttributes"] == sent_md5 == md5_of_attributes(ATTRIBUTES)
    original_sent = {m["MessageId"]: m["Attributes"]["SentTimestamp"] for m in received}
    assert messages[0]["Attributes"]["SentTimestamp"] == original_sent[kept_attributes]
    assert after.held(DLQ) == {}


def test_dead_letters_survive_a_crash_with_their_id_and_receive_count(tmp_path: Path) -> None:
    before = Local(tmp_path)
    poison = before.send("poison", MessageAttributes=ATTRIBUTES)
    healthy = before.send("healthy")
    for count in range(1, MAX_RECEIVES + 1):
        got = before.receive(visibility=0)
        assert [m["Attributes"]["ApproximateReceiveCount"] for m in got] == [str(count), str(count)]
    first_receive = before.held(QUEUE)[poison][2]
    before.delete([m for m in got if m["MessageId"] == healthy])
    assert before.receive() == []  # the next receive dead-letters it
    assert before.held(DLQ) == {poison: ("poison", MAX_RECEIVES, first_receive)}

    after = Local(tmp_path)

    assert after.restored == Restored(queued=0, dead_letters=1)
    assert after.held(QUEUE) == {}
    assert after.held(DLQ) == {poison: ("poison", MAX_RECEIVES, first_receive)}
    dead = after.receive(after.dlq_url)
    assert dead[0]["MessageAttributes"] == ATTRIBUTES
    assert dead[0]["Attributes"]["ApproximateReceiveCount"] == str(MAX_RECEIVES + 1)


def test_a_journal_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    before = Local(tmp_path)
    kept = [before.send("one"), before.send("two")]
    # a crash in the middle of writing a third record: part of it on disk, never acknowledged
    record = frame({"op": "send", "q": QUEUE, "id": "m-3", "body": "three, whose sender never heard back", "sent": 1})
    with (tmp_path / JOURNAL_FILE).open("ab") as out:
        out.write(record.encode()[:-15])

    after = Local(tmp_path)

    assert after.restored == Restored(queued=2, dead_letters=0)
    assert list(after.held(QUEUE)) == kept
    # the restore rewrote the file whole: what comes next is journaled on a line of its own
    later = after.send("four")
    assert [line["id"] for line in _journal(tmp_path)] == [*kept, later]
    again = Local(tmp_path)
    assert list(again.held(QUEUE)) == [*kept, later]


def test_a_cut_delete_line_brings_its_messages_back(tmp_path: Path) -> None:
    before = Local(tmp_path)
    ids = before.send_batch(["a", "b"])
    received = before.receive()
    # a crash while the delete's record was being written: its caller never heard back
    with (tmp_path / JOURNAL_FILE).open("ab") as out:
        out.write(frame({"op": "del", "q": QUEUE, "ids": [m["MessageId"] for m in received]}).encode()[:-5])

    after = Local(tmp_path)

    assert after.restored == Restored(queued=2, dead_letters=0)  # silent: nothing acknowledged was cut
    assert list(after.held(QUEUE)) == ids  # written again by the writer: it is exactly-once


def test_an_acknowledged_record_cut_off_the_journal_is_reported(tmp_path: Path) -> None:
    before = Local(tmp_path)
    kept = [before.send("one"), before.send("two")]
    before.send("three, acknowledged")
    path = tmp_path / JOURNAL_FILE
    whole = path.read_bytes()
    path.write_bytes(whole[:-15])  # the file lost its end after the sender heard back

    after = Local(tmp_path)

    cut = whole[:-15].rsplit(b"\n", 1)[1]
    assert after.restored == Restored(
        queued=2, dead_letters=0, damaged=1, quarantine=tmp_path / journal.QUARANTINE_FILE, lost_bytes=15
    )
    assert list(after.held(QUEUE)) == kept
    assert (tmp_path / journal.QUARANTINE_FILE).read_bytes() == cut + b"\n"


def test_compaction_rewrites_the_journal_to_one_line_per_live_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "COMPACT_MIN_LINES", 20)
    local = Local(tmp_path)
    ids = local.send_batch([f"m{i}" for i in range(10)])
    ids += local.send_batch([f"m{i}" for i in range(10, 20)])
    ids += local.send_batch([f"m{i}" for i in range(20, 30)])
    assert len(_journal(tmp_path)) == 30  # one line per message, batch or not

    received = local.receive(limit=10)
    received += local.receive(limit=10)
    received += local.receive(limit=9)  # ids[29] is never received
    in_flight = received.pop()  # ids[28], received and not deleted: it keeps its receive count
    local.delete(received[:10])  # 31 lines for 20 live messages: too few to compact
    local.delete(received[10:20])  # 32 for 10
    assert len(_journal(tmp_path)) == 32
    local.delete(received[20:])  # 33 lines for 2 live messages: compacted

    lines = _journal(tmp_path)
    survivors = [ids[28], ids[29]]
    assert in_flight["MessageId"] == ids[28]
    assert [(line["op"], line["id"]) for line in lines] == [("send", i) for i in survivors]
    assert lines[0]["receives"] == 1 and lines[0]["first"] == local.held(QUEUE)[ids[28]][2]
    assert "receives" not in lines[1]

    after = Local(tmp_path)

    assert after.restored == Restored(queued=2, dead_letters=0)
    assert after.held(QUEUE) == local.held(QUEUE)  # same ids, bodies, receive counts
    redelivered = {m["MessageId"]: m for m in after.receive()}
    assert set(redelivered) == set(survivors)
    assert redelivered[ids[28]]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert redelivered[ids[29]]["Attributes"]["ApproximateReceiveCount"] == "1"


def test_compaction_keeps_journaling_what_follows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "COMPACT_MIN_LINES", 5)
    local = Local(tmp_path)
    ids = [local.send(f"m{i}") for i in range(8)]
    received = local.receive(limit=8)
    for message in received[:5]:
        local.delete([message])
    # the fifth delete: 13 lines for 3 live messages, compacted to 3 lines
    assert [line["id"] for line in _journal(tmp_path)] == ids[5:]
    for message in received[5:]:
        local.delete([message])
    # the last one: 6 lines for none, compacted to nothing
    assert _journal(tmp_path) == []
    last = local.send("after compaction")
    assert [line["id"] for line in _journal(tmp_path)] == [last]

    after = Local(tmp_path)

    assert list(after.held(QUEUE)) == [last]


def test_the_previous_layout_is_converted_and_removed(tmp_path: Path) -> None:
    old_journal = [
        {"id": "visit-1", "body": "v1"},
        {"id": "visit-2", "body": "v2", "attributes": ATTRIBUTES},
        {"id": "dead-1", "body": "d1"},  # journaled, then dead-lettered: the snapshot has it
    ]
    (tmp_path / OLD_JOURNAL_FILE).write_text(
        "".join(json.dumps(line) + "\n" for line in old_journal) + '{"id": "visit-3", "bo'  # cut by a crash
    )
    sent = int(time.time() * 1000) - 60_000  # within the DLQ's retention period
    dead = [{"id": "dead-1", "body": "d1", "sent": sent, "receives": 3, "first_receive": sent + 1000}]
    (tmp_path / OLD_DEAD_LETTERS_FILE).write_text(json.dumps(dead))

    local = Local(tmp_path)

    assert local.restored == Restored(queued=2, dead_letters=1)
    assert not (tmp_path / OLD_JOURNAL_FILE).exists()
    assert not (tmp_path / OLD_DEAD_LETTERS_FILE).exists()
    assert {k: v[0] for k, v in local.held(QUEUE).items()} == {"visit-1": "v1", "visit-2": "v2"}
    assert local.held(DLQ) == {"dead-1": ("d1", 3, sent + 1000)}
    dead_letter = local.receive(local.dlq_url)[0]
    assert dead_letter["Attributes"]["SentTimestamp"] == str(sent)
    visits = {m["MessageId"]: m for m in local.receive()}
    assert visits["visit-2"]["MessageAttributes"] == ATTRIBUTES
    assert int(visits["visit-1"]["Attributes"]["SentTimestamp"]) > 0  # the old journal kept none

    again = Local(tmp_path)  # converted once: the new journal alone gives the same messages
    assert again.restored == Restored(queued=2, dead_letters=1)
    assert set(again.held(QUEUE)) == {"visit-1", "visit-2"}
    assert again.held(DLQ) == {"dead-1": ("d1", 3, sent + 1000)}


def test_close_then_restore_keeps_what_is_queued(tmp_path: Path) -> None:
    before = Local(tmp_path)
    ids = before.send_batch(["a", "b", "c"])
    before.delete([m for m in before.receive() if m["MessageId"] == ids[0]])
    before.store.close()
    assert before.engine.journal is None
    before.send("after close: not journaled")

    after = Local(tmp_path)

    assert after.restored == Restored(queued=2, dead_letters=0)
    assert list(after.held(QUEUE)) == ids[1:]
    assert [line["id"] for line in _journal(tmp_path)] == ids[1:]


def test_purge_is_journaled(tmp_path: Path) -> None:
    before = Local(tmp_path)
    before.send_batch(["a", "b"])
    before.call("PurgeQueue", QueueUrl=before.url)
    kept = before.send("after the purge")

    after = Local(tmp_path)

    assert list(after.held(QUEUE)) == [kept]


def test_a_move_task_back_to_the_queue_is_journaled(tmp_path: Path) -> None:
    before = Local(tmp_path)
    poison = before.send("poison")
    for _ in range(MAX_RECEIVES):
        before.receive(visibility=0)
    assert before.receive() == []
    before.call("StartMessageMoveTask", SourceArn=before.dlq_arn, DestinationArn=before.queue_arn)
    assert before.held(QUEUE) == {poison: ("poison", 0, None)}

    after = Local(tmp_path)

    assert after.restored == Restored(queued=1, dead_letters=0)
    assert after.held(QUEUE) == {poison: ("poison", 0, None)}
    assert after.held(DLQ) == {}


def test_queues_other_than_the_two_are_not_journaled(tmp_path: Path) -> None:
    local = Local(tmp_path)
    other = local.call("CreateQueue", QueueName="elsewhere")["QueueUrl"]
    local.call("SendMessage", QueueUrl=other, MessageBody="not ours")

    assert _journal(tmp_path) == []


# --- damage: set aside, counted, never a traceback ------------------------------------------------


def _damage(tmp_path: Path, how: str) -> tuple[list[str], bytes]:
    """A journal of 14 queued visits, then damaged ``how``: (the intact visits' ids, the bad record)."""
    before = Local(tmp_path)
    kept = [before.send(f"visit {i}") for i in range(14)]
    path = tmp_path / JOURNAL_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    bad = {
        "invalid utf-8": b"\xff\xfe not text at all\n",
        "missing key": frame({"op": "send", "q": QUEUE, "body": "no id"}).encode(),
        "altered": lines[3].replace(b"visit 3", b"visit 9"),
        "garbage": b"%%%% 1234 {{ not a record\n",
        "wrong type": frame({"op": "del", "q": QUEUE, "ids": 7}).encode(),
    }[how]
    if how == "altered":
        kept.remove(kept[3])
        lines[3] = bad
    else:
        lines.insert(5, bad)
    path.write_bytes(b"".join(lines))
    return kept, bad.rstrip(b"\n")


@pytest.mark.parametrize("how", ["invalid utf-8", "missing key", "altered", "garbage", "wrong type"])
def test_a_damaged_record_is_set_aside_and_every_intact_visit_kept(tmp_path: Path, how: str) -> None:
    kept, bad = _damage(tmp_path, how)

    after = Local(tmp_path)

    assert after.restored == Restored(
        queued=len(kept), dead_letters=0, damaged=1, quarantine=tmp_path / journal.QUARANTINE_FILE
    )
    assert list(after.held(QUEUE)) == kept
    assert (tmp_path / journal.QUARANTINE_FILE).read_bytes() == bad + b"\n"
    # the next start finds a clean journal: nothing more set aside
    after.store.close()
    again = Local(tmp_path)
    assert again.restored == Restored(queued=len(kept), dead_letters=0)


def test_a_message_body_that_is_not_a_visit_is_kept_for_the_writer_to_refuse(tmp_path: Path) -> None:
    before = Local(tmp_path)
    ids = [before.send("{not json"), before.send("\u00ff\u2028 odd but text")]

    after = Local(tmp_path)

    assert after.restored == Restored(queued=2, dead_letters=0)
    assert list(after.held(QUEUE)) == ids
