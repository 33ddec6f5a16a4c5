"""Local mode: the whole pipeline on one machine, with the real handlers and no AWS account.

``serve`` starts local mode's AWS (``visitor_tracker.local.aws``), the API Gateway stand-in
(``visitor_tracker.local.gateway``) and the writer's SQS event source mapping
(``visitor_tracker.local.esm``), and stops them in one place. On SIGINT/SIGTERM it stops accepting
requests, lets in-flight requests finish, drains the queue (bounded by ``DRAIN_TIMEOUT_SECONDS``) so
no counted visit is left unwritten, stops the emulator and removes the state file. A second signal
skips the drain.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from functions.core.definitions import QUEUE
from visitor_tracker.local.aws import LocalAws
from visitor_tracker.local.console import Console, error, say, warn
from visitor_tracker.local.gateway import Backpressure, Handler, LocalGateway
from visitor_tracker.local.listener import listen
from visitor_tracker.state import LocalState, clear_state, state_path, write_state

DRAIN_TIMEOUT_SECONDS = 8.0  # then the journal keeps the rest for the next start: stopping stays under 10 s
UNJOURNALED_DRAIN_TIMEOUT_SECONDS = 20.0  # in memory or --aws-endpoint: what is not written is lost
BACKPRESSURE_QUEUE_DEPTH = 2 * QUEUE.batch_size  # visits wait while more than two writer batches are queued
IN_FLIGHT_TIMEOUT_SECONDS = 5.0


class Stopper:
    """Turns SIGINT/SIGTERM into an event; the second signal also asks to skip the drain."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop or threading.Event()
        self.hurry = threading.Event()
        self._previous: dict[int, Any] = {}

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            self.hurry.set()
        self.stop.set()

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals can only be handled on the main thread; the caller sets ``stop``
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def serve(
    *,
    port: int = 8080,
    host: str = "127.0.0.1",
    aws_endpoint: str | None = None,
    emulator_port: int = 0,
    prefix: str = "visitor-tracker",
    data_dir: Path | None = None,
    in_memory: bool = False,
    quiet: bool = False,
    verbose: bool = False,
    stop_event: threading.Event | None = None,
) -> int:
    """Run local mode until SIGINT/SIGTERM (or ``stop_event``); the process exit code.

    The table lives in DynamoDB Local under ``data_dir`` (default ``~/.visitor-tracker/data``) and the
    queues in the embedded SQS engine, journaled there too (``visitor_tracker.sqs.journal``).
    ``in_memory`` (or no Java) keeps everything in memory; ``aws_endpoint`` uses that endpoint for all.
    ``stop_event`` lets a caller on another thread stop it (signals only reach the main thread).
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the listener logs requests itself (--verbose)
    stopper = Stopper(stop_event)
    stopper.install()  # from the start: a signal during start-up stops cleanly once it is up
    local_aws = LocalAws(
        aws_endpoint=aws_endpoint,
        emulator_port=emulator_port,
        prefix=prefix,
        data_dir=data_dir,
        in_memory=in_memory,
        quiet=quiet,
        verbose=verbose,
    )
    running: dict[str, Any] = {}  # what has started: stopped in the finally, in reverse order
    try:
        failed = local_aws.start()
        if failed is not None:
            return failed
        handlers = local_aws.load_handlers()
        gateway = _gateway(local_aws, handlers)
        if gateway is None:
            return 1
        try:
            running["server"] = server = listen(host, port, gateway, verbose=verbose)
        except OSError as exc:
            error(f"cannot listen on {host}:{port}: {exc.strerror or 'the port is not available'}")
            return 1
        running["esm"] = esm = _event_source_mapping(local_aws, handlers["writer"])
        esm.start()
        http_thread = threading.Thread(target=server.serve_forever, name="local-http", daemon=True)
        http_thread.start()
        _announce(local_aws, f"http://{host}:{server.server_port}")
        depths = local_aws.depths() or (lambda: (esm.pending(), 0))
        console = None if quiet else Console(gateway, esm, depths, live=sys.stdout.isatty() and not verbose)
        _wait(stopper, http_thread, console)
        say("Stopping: no new requests; writing what is queued...")
        server.shutdown()
        server.server_close()
        gateway.wait_idle(IN_FLIGHT_TIMEOUT_SECONDS)
        return _drain(stopper, local_aws, running.pop("esm"))
    finally:
        stopper.restore()
        if "esm" in running:
            running["esm"].stop()
        if "server" in running:
            running["server"].server_close()
        local_aws.stop()
        clear_state(os.getpid())


def _gateway(local_aws: LocalAws, handlers: dict[str, Handler]) -> LocalGateway | None:
    """The API Gateway stand-in in front of the real handlers (None: the settings are unusable)."""
    from functions.core.observability import logger
    from functions.core.settings import ConfigError, get_settings

    logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])
    try:
        settings = get_settings()
    except ConfigError as exc:
        error(str(exc))
        return None

    def on_error(function: str, exc: BaseException) -> None:
        logger.error("function raised: answered 502", exc_info=exc, extra={"function": function})

    gateway = LocalGateway(
        handlers,
        prefix=local_aws.prefix,
        region=local_aws.region,
        on_error=on_error,
        cors_origins=settings.allowed_origins + tuple(o for site in settings.sites for o in site.origins),
    )
    if local_aws.data is not None:
        gateway.on_counting = local_aws.data.counting
    depths = local_aws.depths()
    if depths is not None:
        gateway.before_ingest = Backpressure(lambda: depths()[0], high_water=BACKPRESSURE_QUEUE_DEPTH)
    return gateway


def _event_source_mapping(local_aws: LocalAws, writer: Handler) -> Any:
    import boto3

    from visitor_tracker.local.esm import SqsEventSourceMapping

    if local_aws.resources is None:
        raise RuntimeError("local mode's AWS is not started")
    return SqsEventSourceMapping(
        local_aws.sqs_client(),
        queue_url=local_aws.resources.queue_url,
        queue_arn=local_aws.resources.queue_arn,
        region=local_aws.region,
        handler=writer,
        function_name=f"{local_aws.prefix}-writer",
        cloudwatch=boto3.client("cloudwatch"),
    )


def _announce(local_aws: LocalAws, api_url: str) -> None:
    """The state file the CLI finds local mode by, and the banner."""
    resources = local_aws.resources
    if resources is None:
        raise RuntimeError("local mode's AWS is not started")
    token = _owner_token(resources.table_name)  # before the state file: whoever finds it finds the token
    write_state(
        LocalState(
            pid=os.getpid(),
            api_url=api_url,
            endpoint_url=local_aws.endpoint,
            region=local_aws.region,
            table_name=resources.table_name,
            queue_url=resources.queue_url,
            dlq_url=resources.dlq_url,
            started_at=local_aws.started_at,
        )
    )
    where, kept = local_aws.describe()
    say(f"visitor-tracker local mode (pid {os.getpid()})")
    say(f"  API (count a visit)  {api_url}/")
    say(f"  status (JSON)        {api_url}/status  (Authorization: Bearer <token>; `visitor-tracker token show`)")
    say(f"  dashboard            {api_url}/dashboard#token={token}")
    from functions.core.settings import get_settings

    sites = get_settings().sites
    if not sites:
        say(f'  site script          <script defer src="{api_url}/script.js"></script>')
    for site in sites:  # SITES: one tag per site, the default first
        say(f'  {site.domain[:20]:<20} <script defer src="{api_url}/script.js" data-site="{site.domain}"></script>')
    say(f"  AWS endpoint         {where}")
    say(f"  data kept            {kept}")
    say(f"  state file           {state_path()}")
    say("Ready. Ctrl-C to stop.")


def _owner_token(table_name: str) -> str:
    """Private like a deployment: the owner's token (kept in the table between runs), for the banner's link."""
    from functions.model.access import OWNER_ID
    from functions.tables import access

    return access.issue(table_name, OWNER_ID, "owner", replace=False).token


def _wait(stopper: Stopper, http_thread: threading.Thread, console: Console | None) -> None:
    ticks = 0
    while not stopper.stop.wait(0.2):
        if not http_thread.is_alive():
            error("the HTTP server stopped unexpectedly")
            break
        ticks += 1
        if ticks % 5 == 0 and console is not None:
            console.tick()
    if console is not None:
        console.tick()
        console.done()


def _drain(stopper: Stopper, local_aws: LocalAws, esm: Any) -> int:
    """Write what is queued (bounded), then stop the event source mapping; the exit code."""
    started = time.monotonic()
    drained = False
    if not stopper.hurry.is_set():
        journaled = local_aws.store is not None
        deadline = started + (DRAIN_TIMEOUT_SECONDS if journaled else UNJOURNALED_DRAIN_TIMEOUT_SECONDS)
        while time.monotonic() < deadline and not stopper.hurry.is_set():
            if esm.drain(0.5):
                drained = True
                break
    esm.stop()
    if drained:
        say(f"Queue drained in {time.monotonic() - started:.1f} s.")
        return 0
    left = local_aws.keep_queued()
    if left is not None:
        where = local_aws.data.path if local_aws.data else ""
        say(f"{left:,} queued visits kept in {where}: they are written on the next start.")
        return 0
    warn("stopped before the queue was empty; queued visits were not written")
    return 1  # visits were left unwritten: say so to scripts too
