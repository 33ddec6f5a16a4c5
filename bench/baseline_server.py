"""The baseline handler served exactly the way local mode serves ours, for figure 6.

Same pieces as ``visitor_tracker.local``: the embedded moto server (``visitor_tracker.emulator``,
with its concurrency fixes), the table and queues from ``visitor_tracker.resources``, the same
threaded werkzeug server and API Gateway event converter (``visitor_tracker.local.gateway.LocalGateway``,
which uses ``visitor_tracker.events``). Only the function differs: ``GET /`` goes to
``bench.baseline_handler`` and there is no queue consumer. Writes the same state file as local mode
(``$VISITOR_TRACKER_STATE``) once it is ready, so the bench finds its URL the same way.

    python bench/baseline_server.py --port 0
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def serve(port: int, prefix: str = "baseline") -> int:
    import boto3
    from werkzeug.serving import make_server

    from visitor_tracker.emulator import EmbeddedEmulator
    from visitor_tracker.local.gateway import LocalGateway
    from visitor_tracker.resources import create_resources
    from visitor_tracker.state import LocalState, clear_state, write_state

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # like local mode --quiet: no access log
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    emulator = EmbeddedEmulator(port=0)
    emulator.start()
    pid = os.getpid()
    try:
        os.environ.update(
            AWS_ENDPOINT_URL=emulator.url,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S105 - a dummy for the emulator
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        resources = create_resources(boto3.client("dynamodb"), boto3.client("sqs"), prefix=prefix)
        os.environ.update(resources.environment())
        baseline = importlib.import_module("bench.baseline_handler")  # its module-level client: the emulator
        gateway = LocalGateway({"ingest": baseline.handler}, prefix=prefix, routes={"/": "ingest"})
        server = make_server("127.0.0.1", port, gateway, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="baseline-http", daemon=True)
        thread.start()
        write_state(
            LocalState(
                pid=pid,
                api_url=f"http://127.0.0.1:{server.server_port}",
                endpoint_url=emulator.url,
                region="us-east-1",
                table_name=resources.table_name,
                queue_url=resources.queue_url,
                dlq_url=resources.dlq_url,
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )
        stop.wait()
        server.shutdown()
        server.server_close()
        return 0
    finally:
        emulator.stop()
        clear_state(pid)


def main() -> int:
    parser = argparse.ArgumentParser(description="Serve the baseline handler like local mode serves ours.")
    parser.add_argument("--port", type=int, default=0, help="HTTP port (0: any free port)")
    return serve(parser.parse_args().port)


if __name__ == "__main__":
    sys.exit(main())
