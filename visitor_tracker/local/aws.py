"""Local mode's AWS: DynamoDB Local (or the in-memory emulator), the embedded endpoint with local mode's
own SQS engine, the table and queues, and the queue journal, started and stopped in one place.

The table, queue and DLQ are created from ``functions.core.definitions`` through
``visitor_tracker.resources``, like the stack's. Locally the queue's visibility timeout is
``LOCAL_VISIBILITY_TIMEOUT_SECONDS`` (10 s) instead of the deployed 180 s, so a batch lost in a crash
comes back quickly.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from functions.core.definitions import METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME
from visitor_tracker.local.console import error, say, warn
from visitor_tracker.local.datadir import DataDir, DataDirBusy, default_data_dir
from visitor_tracker.local.gateway import DEFAULT_REGION, Handler
from visitor_tracker.resources import PipelineResources, create_resources

LOCAL_VISIBILITY_TIMEOUT_SECONDS = 10
HANDLER_MODULES: Mapping[str, str] = {
    "ingest": "functions.ingest.handler",
    "status": "functions.status.handler",
    "writer": "functions.writer.handler",
}


def region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def configure_environment(endpoint: str, dynamodb_endpoint: str | None, where: str, verbose: bool) -> None:
    """Point every boto3 client of this process at the emulators and quiet Powertools unless ``verbose``."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    if dynamodb_endpoint:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint  # botocore: this one wins for DynamoDB
    else:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    os.environ["AWS_DEFAULT_REGION"] = where
    os.environ["AWS_REGION"] = where
    if not os.environ.get("AWS_ACCESS_KEY_ID") or endpoint.startswith("http://127.0.0.1"):
        # The emulators need no real credentials: never sign anything with them.
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ["AWS_ACCESS_KEY_ID"] = "local"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - a dummy for the emulator
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", POWERTOOLS_SERVICE_NAME)
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO" if verbose else "WARNING")
    if not verbose:
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no EMF JSON blob per visit


@dataclass
class LocalAws:
    """Everything local mode plays AWS with; ``start`` returns an exit code when it cannot start."""

    aws_endpoint: str | None
    emulator_port: int
    prefix: str
    data_dir: Path | None
    in_memory: bool
    quiet: bool
    verbose: bool
    region: str = field(default_factory=region)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    emulator: Any = field(default=None, init=False)
    dynamodb_local: Any = field(default=None, init=False)
    store: Any = field(default=None, init=False)
    data: DataDir | None = field(default=None, init=False)
    endpoint: str = field(default="", init=False)
    resources: PipelineResources | None = field(default=None, init=False)

    # --- start ------------------------------------------------------------------------------

    def start(self) -> int | None:
        """Start everything; None when up, else the exit code (what failed was said)."""
        previous = self._open_data_dir()
        if previous is False:
            return 1
        self._start_endpoint()
        dynamodb_url = self.dynamodb_local.url if self.dynamodb_local else None
        configure_environment(self.endpoint, dynamodb_url, self.region, self.verbose)
        if not self._create_resources():
            return 1
        self._restore_queues(previous if isinstance(previous, dict) else None)
        return None

    def _open_data_dir(self) -> dict[str, Any] | None | bool:
        """The previous owner's record (None: a clean start); False when another local mode owns it."""
        from visitor_tracker.dynamodb_local import DynamoDBLocal, DynamoDBLocalError

        if self.aws_endpoint is not None or self.in_memory:
            return None
        data = DataDir(self.data_dir or default_data_dir())
        try:
            previous = data.previous_owner()
        except DataDirBusy as exc:
            error(str(exc))
            return False
        try:
            self.dynamodb_local = DynamoDBLocal(data.dynamodb, log_file=data.path / "dynamodb-local.log")
            if not self.quiet:
                say(f"Starting DynamoDB Local (data in {data.path})...")
            self.dynamodb_local.start()
        except DynamoDBLocalError as exc:
            warn(f"{exc}: using the in-memory emulator instead, data is lost when local mode stops")
            self.dynamodb_local = None
            return None
        data.claim(self.started_at)
        self.data = data
        return previous

    def _start_endpoint(self) -> None:
        from visitor_tracker.emulator import EmbeddedEmulator

        if self.aws_endpoint is not None:
            self.endpoint = self.aws_endpoint.rstrip("/")
            return
        forward = self.dynamodb_local.url if self.dynamodb_local else None
        self.emulator = EmbeddedEmulator(port=self.emulator_port, forward_dynamodb=forward, region=self.region)
        self.emulator.start()
        self.endpoint = self.emulator.url

    def _create_resources(self) -> bool:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.resources = create_resources(
                boto3.client("dynamodb"),
                boto3.client("sqs"),
                prefix=self.prefix,
                visibility_timeout=LOCAL_VISIBILITY_TIMEOUT_SECONDS,
            )
        except (BotoCoreError, ClientError) as exc:
            error(f"cannot create the table and queues at {self.endpoint}: {exc}")
            return False
        os.environ.update(self.resources.environment())
        # The lake (issue 22): the writer's raw events in the data directory, queried with DuckDB by /status/explore.
        lake = (
            self.data.path / "lake" if self.data is not None else Path(tempfile.mkdtemp(prefix="visitor-tracker-lake-"))
        )
        os.environ.setdefault("LAKE_DIR", str(lake))
        return True

    def _restore_queues(self, previous: dict[str, Any] | None) -> None:
        from visitor_tracker.sqs.journal import QueueStore

        if self.data is None or self.emulator is None or self.resources is None:
            return
        self.store = QueueStore(
            self.data.path,
            self.emulator.sqs,
            queue=queue_name(self.resources.queue_url),
            dlq=queue_name(self.resources.dlq_url),
        )
        restored = self.store.restore()
        if restored.lost_bytes:
            warn(
                f"the queue journal lost its last {restored.lost_bytes:,} acknowledged bytes (cut after they were "
                "written): visits answered just before the previous stop may be missing"
            )
        if restored.damaged:
            warn(
                f"{restored.damaged:,} damaged queue record(s) set aside in {restored.quarantine}; "
                f"{restored.queued:,} queued visits recovered"
            )
        if previous is not None:
            in_flight = self.data.lost_at_kill()
            warn(
                f"the previous local mode (pid {previous.get('pid')}, started {previous.get('started_at')}) "
                f"was killed: {restored.queued:,} queued visits recovered from the journal (being written now; "
                "every visit answered 200 was journaled before its answer); "
                + (
                    f"{in_flight:,} request(s) were being counted at that moment and got no answer (each is "
                    "counted only if its visit was already queued)"
                    if in_flight
                    else "no request was being counted at that moment"
                )
                + "; requests still arriving got no answer and were not counted"
            )
        elif restored.queued and not self.quiet:
            say(f"{restored.queued:,} visits queued by the previous run are being written now.")

    # --- what the rest of local mode uses -----------------------------------------------------

    def load_handlers(self) -> dict[str, Handler]:
        """Import the functions only now, after the environment points at the emulator, with their SQS
        calls attached in process to the engine (``sqs.protocol.attach_in_process``) before any client exists."""
        from functions.core import aws as aws_clients
        from functions.core.environment import ENVIRONMENT
        from visitor_tracker.sqs.protocol import attach_in_process

        ENVIRONMENT.reset()
        if self.emulator is not None:
            attach_in_process(aws_clients.session(), self.emulator.sqs, self.endpoint)
        return {name: importlib.import_module(module).handler for name, module in HANDLER_MODULES.items()}

    def sqs_client(self) -> Any:
        """The client the event source mapping polls with: the engine in process, or the endpoint's."""
        import boto3

        from visitor_tracker.sqs.protocol import EngineClient

        return EngineClient(self.emulator.sqs) if self.emulator is not None else boto3.client("sqs")

    def depths(self) -> Callable[[], tuple[int, int]] | None:
        """(queue, DLQ) depths read from the engine in process, None against another endpoint."""
        if self.emulator is None or self.resources is None:
            return None
        engine = self.emulator.sqs
        queue, dlq = queue_name(self.resources.queue_url), queue_name(self.resources.dlq_url)
        return lambda: (engine.depth(queue), engine.depth(dlq))

    def describe(self) -> tuple[str, str]:
        """(where the AWS endpoint is, what is kept) for the start-up banner."""
        if self.dynamodb_local is not None and self.data is not None:
            where = f"{self.endpoint}  (SQS: local mode's own; DynamoDB: DynamoDB Local {self.dynamodb_local.url})"
            return where, f"{self.data.path}  (table, queued visits and dead letters survive restarts)"
        if self.emulator is not None:
            where = f"{self.endpoint}  (embedded: local SQS, moto for DynamoDB)"
            return where, "nothing: in memory, gone when local mode stops"
        return self.endpoint, f"at {self.endpoint}"

    def keep_queued(self) -> int | None:
        """Close the journal with what is still queued in it (written on the next start): how many, or
        None when nothing is journaled (in memory, another endpoint)."""
        depths = self.depths()
        if self.store is None or depths is None:
            return None
        self.store.close()
        self.store = None
        return depths()[0]

    # --- stop -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop whatever started, in reverse order (safe to call after a failed start)."""
        if self.store is not None:
            self.store.close()
            self.store = None
        if self.emulator is not None:
            self.emulator.stop()
        if self.dynamodb_local is not None:
            self.dynamodb_local.stop()
        if self.data is not None:
            self.data.release()
