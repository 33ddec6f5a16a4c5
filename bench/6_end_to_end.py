"""Figure 6 — end to end in local mode: visits/s and latency at 16 concurrent clients, 2,000 visits.

Ours is ``python -m visitor_tracker.local`` on a fresh data directory (ingest + the writer draining
the queue in the same process; the table in DynamoDB Local, SQS in local mode's own engine); the
baseline is ``bench/baseline_server.py``, the baseline handler behind the same werkzeug server,
event converter and embedded endpoint, with its table in a DynamoDB Local of its own
(``AWS_ENDPOINT_URL_DYNAMODB``, which botocore prefers to ``AWS_ENDPOINT_URL``). Each runs in its
own process, found through its state file; 16 client threads (keep-alive connections) share the
visits; a short warm-up is not measured. Both are bounded by the emulators, not by AWS: the ratio
is the figure, not the absolute rate.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness  # noqa: E402
from bench.harness import Result, emit, percentile, table  # noqa: E402

CLIENTS = 16
VISITS = 2_000
WARM_UP = 50
ROUNDS = 3  # alternating rounds per side; the median round is reported
START_TIMEOUT = 60.0
DRAIN_TIMEOUT = 300.0
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


class Server:
    """A server process started for one measurement, found through its state file, stopped by pid."""

    def __init__(self, command: list[str], workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.state = workdir / "state.json"
        self.log = (workdir / "server.log").open("wb")
        env = harness.child_env(
            {"VISITOR_TRACKER_STATE": str(self.state), "POWERTOOLS_LOG_LEVEL": "WARNING", **(extra_env or {})}
        )
        self.process = subprocess.Popen(command, cwd=harness.ROOT, env=env, stdout=self.log, stderr=self.log)
        self.info = self._wait_ready()
        self.api_url = str(self.info["api_url"])

    def _wait_ready(self) -> dict[str, Any]:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log.name}")
            try:
                info = json.loads(self.state.read_text())
                if "api_url" in info:
                    return dict(info)
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {START_TIMEOUT} s; see {self.log.name}")

    def cpu_seconds(self) -> float:
        """User + system CPU the server process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_queue_empty(self, timeout: float = DRAIN_TIMEOUT) -> float:
        """Seconds until the visit queue is empty (nothing visible or in flight): the writer caught up."""
        import boto3

        sqs = boto3.client(
            "sqs", endpoint_url=self.info["endpoint_url"], region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",  # noqa: S106 - the emulator's dummy
        )
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            attributes = sqs.get_queue_attributes(QueueUrl=self.info["queue_url"], AttributeNames=names)["Attributes"]
            if all(int(attributes.get(n, 0)) == 0 for n in names):
                return time.monotonic() - start
            time.sleep(0.25)
        raise RuntimeError(f"the queue was not drained within {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def load(api_url: str, visits: int, clients: int) -> tuple[list[float], float, int, list[str]]:
    """GET / ``visits`` times over ``clients`` threads; (latencies ms, wall s, last count, errors)."""
    parts = urlsplit(api_url)
    latencies: list[float] = []
    errors: list[str] = []
    counts: list[int] = []
    lock = threading.Lock()
    next_visit = iter(range(visits))

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        mine: list[float] = []
        while True:
            with lock:
                i = next(next_visit, None)
            if i is None:
                break
            start = time.perf_counter()
            try:
                conn.request("GET", f"/?page=/post/{i % 10}", headers={"User-Agent": UA, "Connection": "keep-alive"})
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
                with lock:
                    errors.append(type(exc).__name__)
                continue
            mine.append((time.perf_counter() - start) * 1000)
            if response.status != 200:
                with lock:
                    errors.append(f"HTTP {response.status}")
            else:
                with lock:
                    counts.append(int(json.loads(body)["visitor_count"]))
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start, max(counts, default=0), errors


def measure(command: list[str], visits: int, drain: bool) -> dict[str, Any]:
    from visitor_tracker.dynamodb_local import DynamoDBLocal

    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp, ExitStack() as stack:
        if drain:  # ours: local mode starts its own DynamoDB Local on its data directory
            server = Server([*command, "--data-dir", str(Path(tmp) / "data")], Path(tmp))
        else:
            table = stack.enter_context(DynamoDBLocal(Path(tmp) / "baseline-data"))
            server = Server(command, Path(tmp), {"AWS_ENDPOINT_URL_DYNAMODB": table.url})
        try:
            load(server.api_url, WARM_UP, 4)
            if drain:
                server.wait_queue_empty()
            cpu = server.cpu_seconds()
            latencies, wall, count, errors = load(server.api_url, visits, CLIENTS)
            drained = server.wait_queue_empty() if drain else 0.0
            cpu = server.cpu_seconds() - cpu
        finally:
            server.stop()
    return {"latencies": latencies, "wall": wall, "count": count, "errors": errors, "cpu": cpu, "drain": drained}


OURS = [sys.executable, "-m", "visitor_tracker.local", "--port", "0", "--quiet"]
BASELINE = [sys.executable, str(harness.ROOT / "bench" / "baseline_server.py"), "--port", "0"]


SEND_THREADS = 8
SENDS = 2_000
VISIT_BODY = json.dumps({"visit_id": "x" * 36, "ts": "2026-12-02T00:00:00.000Z", "ip": "203.0.113.9",
                         "user_agent": UA, "path": "/post/1", "referrer": "https://example.com/"})


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _send_cost(client: Any, prefix: str, sends: int) -> float:
    """CPU ms per SendMessage of this whole process (client and server both live in it), 8 threads.

    The sends go round 40 queues, so no queue holds more than a few dozen messages: moto's SendMessage
    grows with the backlog, and the figure is about the cost of a send, not of a backlog."""
    urls = [client.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(40)]
    for url in urls:
        client.send_message(QueueUrl=url, MessageBody=VISIT_BODY)
    start = _cpu()
    with ThreadPoolExecutor(SEND_THREADS) as pool:
        list(pool.map(lambda i: client.send_message(QueueUrl=urls[i % 40], MessageBody=VISIT_BODY), range(sends)))
    return 1000 * (_cpu() - start) / sends


def send_costs(sends: int) -> dict[str, float]:
    """Figure 6b: what one SendMessage costs local mode's process, by SQS implementation."""
    import botocore.session
    from moto.server import ThreadedMotoServer

    from visitor_tracker.emulator import EmbeddedEmulator
    from visitor_tracker.sqs.protocol import attach_in_process

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    credentials = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
    costs: dict[str, float] = {}
    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto_server.start()
    try:
        host, port = moto_server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = botocore.session.get_session().create_client("sqs", endpoint_url=endpoint, **credentials)
        costs["moto server (before), over HTTP"] = _send_cost(client, "moto", sends)
    finally:
        moto_server.stop()
    emulator = EmbeddedEmulator(port=0)
    emulator.start()
    try:
        client = botocore.session.get_session().create_client("sqs", endpoint_url=emulator.url, **credentials)
        costs["local SQS engine, over HTTP (the CLI, tests)"] = _send_cost(client, "http", sends)
        session = botocore.session.get_session()
        attach_in_process(session, emulator.sqs, emulator.url)  # as local mode attaches the functions' session
        client = session.create_client("sqs", endpoint_url=emulator.url, **credentials)
        costs["local SQS engine, in process (the functions)"] = _send_cost(client, "in-process", sends)
    finally:
        emulator.stop()
    return costs


def _rate(r: dict[str, Any]) -> float:
    return len(r["latencies"]) / r["wall"]


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    visits = 500 if quick else VISITS
    rounds = 1 if quick else ROUNDS
    names = ("ours (local mode)", "baseline (same server)")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for round_ in range(rounds):
        # Alternate who goes first, so a machine that slows down (or warms up) during the run
        # does not favour one side.
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            runs[name].append(measure(OURS if name == names[0] else BASELINE, visits, drain=name == names[0]))
    ratios = [_rate(o) / _rate(b) for o, b in zip(runs[names[0]], runs[names[1]], strict=True)]
    costs = send_costs(500 if quick else SENDS)
    # Per side, the median round by visits/s stands for it (all its figures from that one round).
    median: dict[str, dict[str, Any]] = {}
    for name in names:
        ordered = sorted(runs[name], key=_rate)
        median[name] = ordered[len(ordered) // 2]
    rows: list[list[object]] = []
    for name in names:
        r = median[name]
        lat = r["latencies"]
        rows.append([name, _rate(r), percentile(lat, 50), percentile(lat, 99), 1000 * r["cpu"] / visits, r["drain"],
                     sum(len(x["errors"]) for x in runs[name]), r["count"]])
    ours, base = median[names[0]], median[names[1]]
    ours_rate, base_rate = _rate(ours), _rate(base)
    ours_p50, base_p50 = percentile(ours["latencies"], 50), percentile(base["latencies"], 50)
    ours_p99, base_p99 = percentile(ours["latencies"], 99), percentile(base["latencies"], 99)
    ours_cpu, base_cpu = ours["cpu"] / visits * 1000, base["cpu"] / visits * 1000
    rows.append(["ours / baseline", f"{ours_rate / base_rate:.2f}x", f"{ours_p50 / base_p50:.2f}x",
                 f"{ours_p99 / base_p99:.2f}x", f"{ours_cpu / base_cpu:.2f}x", "", "", ""])
    emit(
        table(
            f"Figure 6 — local mode end to end: {visits:,} visits, {CLIENTS} concurrent keep-alive clients "
            f"(after {WARM_UP} warm-up visits), median of {rounds} alternating round(s)",
            ["server", "visits/s", "p50 ms", "p99 ms", "server CPU ms/visit", "drain s", "errors", "last count"],
            rows,
        )
        + f"\nvisits/s per round, ours: {', '.join(f'{_rate(r):.1f}' for r in runs[names[0]])}; baseline: "
        f"{', '.join(f'{_rate(r):.1f}' for r in runs[names[1]])}; ratio per round: "
        f"{', '.join(f'{x:.2f}x' for x in ratios)}.\n"
        "Both keep their table in DynamoDB Local (a Java process). Ours serves SQS from local mode's own engine\n"
        "(visitor_tracker.sqs) in the same Python process as the handlers and the writer's event source\n"
        "mapping; the baseline has no queue. Server CPU per visit is the server process's user+system time from\n"
        "the start of the load until ours' queue is empty (drain s = how long the writer needed after the last\n"
        "response): it holds under machine load. The rows are each side's median round by visits/s.\n"
    )
    moto_cost = next(iter(costs.values()))
    emit(
        table(
            f"Figure 6b — CPU per SendMessage of the process that serves it, by SQS implementation "
            f"({SEND_THREADS} threads, {500 if quick else SENDS:,} sends of a visit-sized body; client and server "
            "in one process)",
            ["SQS", "CPU ms per SendMessage", "vs moto"],
            [[name, cost, f"{cost / moto_cost:.2f}x"] for name, cost in costs.items()],
        )
        + "\nThe baseline's whole request (two DynamoDB calls, the HTTP server, the handler) is the baseline row's\n"
        "server CPU per visit above: moto's SendMessage alone cost more than that.\n"
    )
    for name in names:
        errors = sorted({e for r in runs[name] for e in r["errors"]})
        if errors:
            emit(f"{name}: errors {errors[:5]}")
    ours_errors = sum(len(r["errors"]) for r in runs[names[0]])
    return [
        Result("6 local e2e", f"visits/s, {CLIENTS} clients", round(ours_rate, 1), round(base_rate, 1), ">= 1.0x",
               ours_rate >= base_rate),
        Result("6 local e2e", "p50 latency ms", round(ours_p50, 1), round(base_p50, 1), "", None),
        Result("6 local e2e", "p99 latency ms", round(ours_p99, 1), round(base_p99, 1), "", None),
        Result("6 local e2e", "server CPU ms per visit (incl. ours' writer)", round(ours_cpu, 2), round(base_cpu, 2),
               "", None),
        Result("6 local e2e", "CPU ms per in-process SendMessage (vs moto's server)",
               round(list(costs.values())[-1], 2), round(moto_cost, 2), "", None),
        Result("6 local e2e", "failed requests", ours_errors, sum(len(r["errors"]) for r in runs[names[1]]), "0",
               not ours_errors),
    ]


if __name__ == "__main__":
    os.environ.pop("AWS_ENDPOINT_URL", None)
    run("--quick" in sys.argv)
