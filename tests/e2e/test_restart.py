"""Local mode keeps its data: a clean stop and a SIGKILL, then a restart on the same data directory.

After Ctrl-C everything is back (count, logged visits, aggregates, dead letters with their failure
reasons); after ``kill -9`` every answered visit is counted and logged once the restart has written
what was queued, the restart says what happened, and no DynamoDB Local process is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.localmode import ROOT, LocalMode, count_log_items, queue_depth, start_local_mode, wait_for
from tests.support.events import DEFAULT_UA
from tests.support.pipeline import make_visit
from visitor_tracker.sqs.frames import frame
from visitor_tracker.state import STATE_ENV

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-processes")]

VISITS = 40
CLIENTS = 4


def _visit(mode: LocalMode, n: int) -> None:
    with httpx.Client(base_url=mode.url, headers={"User-Agent": DEFAULT_UA}, timeout=10) as http:
        for i in range(n):
            assert http.get("/", params={"page": f"/kept/{i % 2}"}).status_code == 200


def _dlq_list(mode: LocalMode) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "visitor_tracker.cli", "dlq", "list", "--json"],
        cwd=ROOT,
        env={**os.environ, STATE_ENV: str(mode.state_file)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def _dynamodb_local_running(data: Path) -> bool:
    """Whether a DynamoDB Local process still serves this data directory."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(data / "dynamodb").encode() in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return False


def test_clean_stop_then_restart_finds_everything(tmp_path: Path) -> None:
    # GIVEN local mode with visits written and a poison message dead-lettered with its reason
    data = tmp_path / "data"
    mode = start_local_mode(tmp_path / "first", "--data-dir", str(data))
    try:
        _visit(mode, VISITS)
        sqs, dynamodb = mode.client("sqs"), mode.client("dynamodb")
        poison = sqs.send_message(QueueUrl=mode.state.queue_url, MessageBody='{"not": "a visit"}')["MessageId"]
        assert wait_for(lambda: queue_depth(sqs, mode.state.dlq_url) == 1, timeout=90, interval=0.5), mode.output()
        assert wait_for(lambda: count_log_items(dynamodb, mode.state.table_name) == VISITS, timeout=30)
        before = mode.status()
        dead_before = _dlq_list(mode)
        assert [m["message_id"] for m in dead_before] == [poison] and dead_before[0]["reason"]

        # WHEN it is stopped with Ctrl-C and started again on the same data
        assert mode.stop() == 0, mode.output()
    finally:
        mode.kill()
    again = start_local_mode(tmp_path / "second", "--data-dir", str(data))
    try:
        # THEN the count, the logged visits, the aggregates and the dead letter with its reason are back
        after = again.status()
        assert after["visitor_count"] == VISITS
        for key in ("visits_last_24h", "top_pages", "browsers", "hourly"):
            assert after[key] == before[key], key
        assert after["dlq_depth"] == 1
        assert count_log_items(again.client("dynamodb"), again.state.table_name, counted_only=True) == VISITS
        kept = ("message_id", "body", "reason", "sent_at")
        assert [{k: m.get(k) for k in kept} for m in _dlq_list(again)] == [
            {k: m.get(k) for k in kept} for m in dead_before
        ]
        assert "was killed" not in again.output()

        # ... and counting goes on from there
        _visit(again, 1)
        assert wait_for(lambda: again.status()["visitor_count"] == VISITS + 1, timeout=30)
        assert again.stop() == 0, again.output()
    finally:
        again.kill()


def test_kill_9_then_restart_recovers_queued_visits_and_says_so(tmp_path: Path) -> None:
    # GIVEN local mode under steady traffic from a few clients
    data = tmp_path / "data"
    mode = start_local_mode(tmp_path / "first", "--data-dir", str(data))
    answered = [0] * CLIENTS
    stop = threading.Event()
    try:

        def client(slot: int) -> None:
            with httpx.Client(base_url=mode.url, headers={"User-Agent": DEFAULT_UA}, timeout=10) as http:
                while not stop.is_set():
                    try:
                        response = http.get("/", params={"page": "/killed"})
                    except httpx.HTTPError:
                        return  # the process died
                    if response.status_code == 200:
                        answered[slot] += 1

        with ThreadPoolExecutor(CLIENTS) as pool:
            for slot in range(CLIENTS):
                pool.submit(client, slot)
            assert wait_for(lambda: sum(answered) >= 150, timeout=60), mode.output()

            # WHEN it is killed with SIGKILL mid-traffic
            mode.process.send_signal(signal.SIGKILL)
            mode.process.wait(timeout=10)
            stop.set()
    finally:
        mode.kill()
    total = sum(answered)

    # THEN its DynamoDB Local died with it
    assert wait_for(lambda: not _dynamodb_local_running(data), timeout=15), "DynamoDB Local outlived local mode"

    # ... the next start says the previous run was killed, and what it recovered
    again = start_local_mode(tmp_path / "second", "--data-dir", str(data))
    try:
        assert "was killed" in again.output(), again.output()
        assert "queued visits recovered from the journal" in again.output(), again.output()
        assert "no answered visit was lost" not in again.output()
        dynamodb, sqs = again.client("dynamodb"), again.client("sqs")
        assert wait_for(lambda: queue_depth(sqs, again.state.queue_url) == 0, timeout=60), again.output()

        # ... every answered visit is counted, and logged once (in-flight ones may be counted, not logged)
        status = again.status()
        logged = count_log_items(dynamodb, again.state.table_name, counted_only=True)
        assert status["visitor_count"] >= total
        assert wait_for(lambda: count_log_items(dynamodb, again.state.table_name) >= total, timeout=30)
        assert status["visitor_count"] - logged <= CLIENTS, again.output()
        assert status["dlq_depth"] == 0
        assert again.stop() == 0, again.output()
    finally:
        again.kill()
    assert not _dynamodb_local_running(data)


def test_a_damaged_queue_journal_is_set_aside_and_local_mode_starts_with_every_intact_visit(tmp_path: Path) -> None:
    # GIVEN a data directory whose queue journal holds 14 queued visits and two damaged records
    data = tmp_path / "data"
    data.mkdir()
    queue, now_ms = "visitor-tracker-queue", int(time.time() * 1000)
    visits = [make_visit(path=f"/journal/{i}") for i in range(14)]
    records = [
        frame({"op": "send", "q": queue, "id": f"m-{i}", "body": v.to_json(), "sent": now_ms})
        for i, v in enumerate(visits)
    ]
    damaged = [b"\xff\xfe torn bytes", frame({"op": "send", "q": queue, "body": "no id"}).encode().rstrip(b"\n")]
    (data / "queues.jsonl").write_bytes(
        records[0].encode() + damaged[0] + b"\n" + "".join(records[1:]).encode() + damaged[1] + b"\n"
    )

    # WHEN local mode starts on it
    mode = start_local_mode(tmp_path / "run", "--data-dir", str(data))
    try:
        # THEN it says in one line what it set aside, keeps it, and writes every intact visit
        assert "2 damaged queue record(s) set aside in" in mode.output()
        assert "14 queued visits recovered" in mode.output()
        assert "Traceback" not in mode.output()
        assert (data / "queues.damaged").read_bytes() == damaged[0] + b"\n" + damaged[1] + b"\n"
        dynamodb = mode.client("dynamodb")
        assert wait_for(lambda: count_log_items(dynamodb, mode.state.table_name) == 14, timeout=60), mode.output()
        assert mode.status()["visitor_count"] == 14
    finally:
        mode.kill()
