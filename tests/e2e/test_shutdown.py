"""SIGINT while visits are queued: local mode drains the queue before it exits, no counted visit is lost.

The drain check runs local mode with ``--aws-endpoint`` against an endpoint the test owns (local
mode's SQS engine, DynamoDB Local behind it) and inspects the table and queues after the process has exited.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from functions.model.keys import PK, counter_key
from functions.model.visit import Visit, format_timestamp, utc_now
from tests.e2e.localmode import ROOT, count_log_items, queue_depth, start_local_mode, wait_for
from tests.support.events import DEFAULT_UA

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-processes")]

INJECTED = 300
BACKLOG = 1000  # several seconds of writer work
CLIENTS = 8


def _visit(user_agent: str) -> Visit:
    """A distinct, valid visit record (not counted: it bypassed ingest) to put straight on the queue."""
    return Visit(
        visit_id=str(uuid.uuid4()),
        timestamp=format_timestamp(utc_now()),
        ip=None,
        user_agent=user_agent,
        path="/injected",
        referrer=None,
        is_bot=False,
        counted=False,
    )


def _counter_total(dynamodb: object, table: str) -> int:
    pk = counter_key(0)[PK]["S"]
    items = dynamodb.query(  # type: ignore[attr-defined]
        TableName=table,
        KeyConditionExpression=f"{PK} = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )["Items"]
    return sum(int(item["visits"]["N"]) for item in items)


def test_sigint_drains_queued_visits_before_exit(tmp_path: Path, moto_endpoint: str) -> None:
    # GIVEN local mode running against an endpoint this test owns, with clients sending visits
    mode = start_local_mode(tmp_path / "run", "--aws-endpoint", moto_endpoint, "--prefix", "drain")
    try:
        sqs, dynamodb = mode.client("sqs"), mode.client("dynamodb")
        stop_clients = threading.Event()
        ok = [0] * CLIENTS

        def client(slot: int) -> None:
            with httpx.Client(base_url=mode.url, timeout=10, headers={"User-Agent": DEFAULT_UA}) as http:
                while not stop_clients.is_set():
                    try:
                        response = http.get("/", params={"page": f"/drain/{slot}"})
                    except httpx.HTTPError:
                        return  # the server stopped accepting: expected after SIGINT
                    if response.status_code != 200:
                        return
                    ok[slot] += 1

        with ThreadPoolExecutor(CLIENTS) as pool:
            for slot in range(CLIENTS):
                pool.submit(client, slot)
            assert wait_for(lambda: sum(ok) >= 100, timeout=30), mode.output()

            # ... and a burst of visits put straight on the queue, more than one batch
            injected = [_visit("drain-test") for _ in range(INJECTED)]
            for start in range(0, INJECTED, 10):
                chunk = injected[start : start + 10]
                sqs.send_message_batch(
                    QueueUrl=mode.state.queue_url,
                    Entries=[{"Id": str(i), "MessageBody": v.to_json()} for i, v in enumerate(chunk)],
                )
            queued_at_sigint = queue_depth(sqs, mode.state.queue_url)

            # WHEN local mode gets SIGINT while clients are still sending and the queue is full
            exit_code = mode.stop()
            stop_clients.set()
        print(f"\nqueued at SIGINT: {queued_at_sigint}; HTTP visits answered 200: {sum(ok)}")

        # THEN it exited cleanly, removed its state file, and left nothing on the queue
        assert exit_code == 0, mode.output()
        assert not mode.state_file.exists()
        assert queue_depth(sqs, mode.state.queue_url) == 0, mode.output()
        assert queue_depth(sqs, mode.state.dlq_url) == 0
        # every counted visit is logged, and every answered visit was counted
        counted = _counter_total(dynamodb, mode.state.table_name)
        assert count_log_items(dynamodb, mode.state.table_name, counted_only=True) == counted
        assert counted >= sum(ok) >= 100
        # every injected visit is logged too
        table = mode.state.table_name
        logged = count_log_items(dynamodb, table) - count_log_items(dynamodb, table, counted_only=True)
        assert logged == INJECTED
        assert "Queue drained" in mode.output()
    finally:
        mode.kill()


def test_aws_endpoint_that_cannot_be_reached_is_a_clear_error(tmp_path: Path) -> None:
    # GIVEN an endpoint where nothing listens (a port just freed)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    state_file = tmp_path / "state.json"

    # WHEN local mode is pointed at it
    result = subprocess.run(
        [sys.executable, "-m", "visitor_tracker.local", "--port", "0", "--aws-endpoint", f"http://127.0.0.1:{port}"],
        cwd=ROOT,
        env={**os.environ, "VISITOR_TRACKER_STATE": str(state_file), "AWS_MAX_ATTEMPTS": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    # THEN it exits non-zero with a one-line reason, no traceback, and leaves no state file
    assert result.returncode == 1
    assert "cannot create the table and queues" in result.stderr
    assert "Traceback" not in result.stderr
    assert not state_file.exists()


def test_port_in_use_is_a_clear_error_and_stops_the_emulator(tmp_path: Path) -> None:
    # GIVEN a port another program listens on
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        state_file = tmp_path / "state.json"

        # WHEN local mode is asked to serve on it
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "visitor_tracker.local",
                "--port",
                str(port),
                "--quiet",
                "--data-dir",
                str(tmp_path / "data"),
            ],
            cwd=ROOT,
            env={**os.environ, "VISITOR_TRACKER_STATE": str(state_file)},
            capture_output=True,
            text=True,
            timeout=60,
        )

    # THEN it exits 1 with the reason (the embedded emulator stopped with it), no traceback
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not state_file.exists()


def test_second_sigint_skips_the_drain_and_the_next_start_writes_the_rest(tmp_path: Path) -> None:
    # GIVEN local mode with a backlog of distinct visits, far larger than one batch
    data = str(tmp_path / "data")
    mode = start_local_mode(tmp_path / "hurry", "--data-dir", data)
    try:
        sqs = mode.client("sqs")
        for _ in range(BACKLOG // 10):
            entries = [{"Id": str(i), "MessageBody": _visit("hurry-test").to_json()} for i in range(10)]
            sqs.send_message_batch(QueueUrl=mode.state.queue_url, Entries=entries)

        # WHEN Ctrl-C is pressed twice (and no more: stop() below only waits)
        mode.interrupt()
        assert wait_for(lambda: "Stopping" in mode.output(), timeout=10)
        mode.process.send_signal(signal.SIGINT)

        # THEN it stops without waiting for the queue and says the queued visits are kept
        assert mode.stop() == 0, mode.output()
        assert "queued visits kept in" in mode.output()
        assert not mode.state_file.exists()
    finally:
        mode.kill()

    # ... and the next start on the same data writes every one of them, once
    again = start_local_mode(tmp_path / "again", "--data-dir", data)
    try:
        dynamodb = again.client("dynamodb")
        assert wait_for(lambda: count_log_items(dynamodb, again.state.table_name) >= BACKLOG, timeout=120, interval=1)
        assert wait_for(lambda: queue_depth(again.client("sqs"), again.state.queue_url) == 0, timeout=30)
        assert count_log_items(dynamodb, again.state.table_name) == BACKLOG
        assert again.stop() == 0, again.output()
    finally:
        again.kill()


def test_in_memory_second_sigint_says_queued_visits_were_not_written(tmp_path: Path) -> None:
    # GIVEN local mode keeping nothing, with a backlog
    mode = start_local_mode(tmp_path / "hurry", "--in-memory")
    try:
        sqs = mode.client("sqs")
        for _ in range(BACKLOG // 10):
            entries = [{"Id": str(i), "MessageBody": _visit("hurry-test").to_json()} for i in range(10)]
            sqs.send_message_batch(QueueUrl=mode.state.queue_url, Entries=entries)

        # WHEN Ctrl-C is pressed twice (and no more: stop() below only waits)
        mode.interrupt()
        assert wait_for(lambda: "Stopping" in mode.output(), timeout=10)
        mode.process.send_signal(signal.SIGINT)

        # THEN it stops without waiting, says so, and exits 1 (visits left unwritten)
        assert mode.stop() == 1
        assert "stopped before the queue was empty" in mode.output()
        assert not mode.state_file.exists()
    finally:
        mode.kill()
