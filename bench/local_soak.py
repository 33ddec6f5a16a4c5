"""Local mode soak: 10,000 visits from 32 clients, then the checks of issue 12 (not part of `make test`).

    .venv/bin/python bench/local_soak.py [--visits 10000] [--clients 32]

Starts ``python -m visitor_tracker.local`` on a fresh data directory (DynamoDB Local + embedded
SQS), sends the visits with a browser User-Agent over keep-alive connections, and reports: visits/s,
p50/p99 latency, the queue depth sampled during the load (does the writer keep up?), the drain time
after the last answer, the server's resident memory (its own RSS plus DynamoDB Local's) before, after
the drain and 30 s later, whether ``visitor_count`` equals the 200 answers, every visit is logged and
/status agrees, and how long SIGINT takes to stop it. Exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (DynamoDB Local), in MB (Linux /proc)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visits", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()

    import boto3

    from tests.e2e.localmode import count_log_items, queue_depth

    work = Path(tempfile.mkdtemp(prefix="local-soak-"))
    state = work / "state.json"
    env = {**os.environ, "VISITOR_TRACKER_STATE": str(state), "STATUS_CACHE_SECONDS": "0"}
    env.pop("AWS_ENDPOINT_URL", None)
    log = (work / "local.log").open("wb")
    data = str(work / "data")
    command = [sys.executable, "-m", "visitor_tracker.local", "--port", "0", "--quiet", "--data-dir", data]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not state.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"local mode did not start; see {log.name}")
            time.sleep(0.2)
        info: dict[str, Any] = json.loads(state.read_text())
        clients = {
            name: boto3.client(name, endpoint_url=info["endpoint_url"], region_name=info["region"],
                               aws_access_key_id="local", aws_secret_access_key="local")
            for name in ("sqs", "dynamodb")
        }
        rss_before = rss_mb(process.pid)
        parts = urlsplit(info["api_url"])
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        remaining = iter(range(args.visits))
        depths: list[int] = []
        loading = threading.Event()
        loading.set()

        def worker() -> None:
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
            mine: list[float] = []
            while True:
                with lock:
                    i = next(remaining, None)
                if i is None:
                    break
                started = time.perf_counter()
                try:
                    conn.request("GET", f"/?page=/soak/{i % 20}", headers={"User-Agent": UA})
                    response = conn.getresponse()
                    response.read()
                    code = response.status
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
                    code = 0
                mine.append(time.perf_counter() - started)
                with lock:
                    statuses[code] = statuses.get(code, 0) + 1
            conn.close()
            with lock:
                latencies.extend(mine)

        def sample_depth() -> None:
            while loading.is_set():
                depths.append(queue_depth(clients["sqs"], info["queue_url"]))
                time.sleep(2)

        sampler = threading.Thread(target=sample_depth, daemon=True)
        sampler.start()
        threads = [threading.Thread(target=worker) for _ in range(args.clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        loading.clear()
        rss_loaded = rss_mb(process.pid)
        drain_started = time.perf_counter()
        while queue_depth(clients["sqs"], info["queue_url"]) > 0 and time.perf_counter() - drain_started < 600:
            time.sleep(0.25)
        drain = time.perf_counter() - drain_started
        rss_drained = rss_mb(process.pid)
        time.sleep(30)
        rss_later = rss_mb(process.pid)
        ok = statuses.get(200, 0)
        logged = count_log_items(clients["dynamodb"], info["table_name"], counted_only=True)
        status = json.loads(_get(info["api_url"] + "/status"))
        stop_started = time.perf_counter()
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
        stop = time.perf_counter() - stop_started
    finally:
        if process.poll() is None:
            process.kill()
        log.close()

    half = len(depths) // 2
    checks = {
        "every visit answered 200": ok == args.visits,
        "visitor_count == 200 answers": status["visitor_count"] == ok,
        "every counted visit logged": logged == ok,
        "/status visits_last_24h agrees": status["visits_last_24h"] == ok,
        "queue drains as fast as it fills (depth in the 2nd half <= 1st half's peak + 1 batch)": (
            max(depths[half:], default=0) <= max(depths[:half] or [0]) + 100
        ),
        "SIGINT stopped within 10 s, exit 0": stop < 10 and code == 0,
    }
    print(f"{args.visits:,} visits from {args.clients} clients in {wall:.1f} s: {args.visits / wall:.0f} visits/s, "
          f"p50 {percentile(latencies, 50) * 1000:.0f} ms, p99 {percentile(latencies, 99) * 1000:.0f} ms; "
          f"answers {statuses}")
    print(f"queue depth during the load (every 2 s): {depths}")
    print(f"drained {drain:.1f} s after the last answer; SIGINT stopped it in {stop:.1f} s (exit {code})")
    print(f"RSS (local mode + DynamoDB Local): {rss_before:.0f} MB before, {rss_loaded:.0f} MB after the load, "
          f"{rss_drained:.0f} MB drained, {rss_later:.0f} MB 30 s later "
          f"({(rss_drained - rss_before) * 10_000 / args.visits:.0f} MB per 10,000 visits)")
    print(f"visitor_count {status['visitor_count']}, logged {logged}, /status last 24 h {status['visits_last_24h']}")
    for name, passed in checks.items():
        print(f"  [{'ok' if passed else 'FAIL'}] {name}")
    print(f"(data and log in {work})")
    return 0 if all(checks.values()) else 1


def _get(url: str) -> str:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    conn.request("GET", parts.path, headers={"User-Agent": UA})
    return conn.getresponse().read().decode()


if __name__ == "__main__":
    sys.exit(main())
