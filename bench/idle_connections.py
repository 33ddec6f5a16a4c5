"""Idle connections: threads and memory of local mode's listener with 2,000 idle connections open, beside
the unbounded threaded werkzeug server local mode used before (the baseline), in the same run.

    .venv/bin/python bench/idle_connections.py [--connections 2000]

Each server runs in its own process on 127.0.0.1; the connections are opened by this process and send
nothing. Printed per server: threads and resident memory before, with the connections open (after
2 s), and how many connections it refused at once (503) instead of holding a thread each.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from bench.harness import emit, table  # noqa: E402
from visitor_tracker.state import STATE_ENV  # noqa: E402

# The baseline: werkzeug's threaded server with a one-line app, a thread per connection, no bound.
_BASELINE = r"""
import sys
from werkzeug.serving import make_server
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def _proc(pid: int) -> tuple[int, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
    rss_kb = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
    return threads, rss_kb / 1024


def _start_local_mode(state: Path) -> tuple[subprocess.Popen[bytes], int]:
    env = {STATE_ENV: str(state), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "visitor_tracker.local", "--port", "0", "--quiet", "--in-memory"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    for raw in process.stdout:
        match = re.search(rb"API \(count a visit\)\s+http://127\.0\.0\.1:(\d+)/", raw)
        if match:
            return process, int(match.group(1))
    raise RuntimeError("local mode did not start")


def _start_baseline() -> tuple[subprocess.Popen[bytes], int]:
    process = subprocess.Popen([sys.executable, "-c", _BASELINE], stdout=subprocess.PIPE)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def measure(name: str, process: subprocess.Popen[bytes], port: int, connections: int) -> list[object]:
    time.sleep(1.0)
    threads_before, rss_before = _proc(process.pid)
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(connections)]
    time.sleep(2.0)
    threads_open, rss_open = _proc(process.pid)
    refused = 0
    for conn in idle:
        conn.setblocking(False)
        try:
            refused += conn.recv(64).startswith(b"HTTP/1.1 503 ")
        except BlockingIOError:
            pass
        conn.close()
    return [name, threads_before, threads_open, round(rss_before, 1), round(rss_open, 1), refused]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, start in (
            ("baseline: werkzeug threaded, unbounded", _start_baseline),
            ("ours: local mode's listener", lambda: _start_local_mode(Path(tmp) / "state.json")),
        ):
            process, port = start()
            try:
                rows.append(measure(name, process, port, args.connections))
            finally:
                process.kill()
                process.wait()
    emit(
        table(
            f"Idle connections: {args.connections:,} open, sending nothing (threads and RSS of the server process)",
            ["server", "threads before", "threads, connections open", "RSS MB before", "RSS MB, open", "refused (503)"],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
