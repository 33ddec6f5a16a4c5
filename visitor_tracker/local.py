"""Local mode: the whole pipeline on one machine, with the real handlers and no AWS account.

``serve()`` starts the embedded AWS endpoint (``visitor_tracker.emulator``: local mode's own SQS,
DynamoDB Local behind it, moto for CloudWatch) or uses ``--aws-endpoint``; it creates the
table, queue and DLQ from ``functions.core.definitions`` through ``visitor_tracker.resources``,
then plays the two AWS pieces the handlers rely on:

- API Gateway (REST, Lambda proxy): a threaded werkzeug server turns each request into the event
  API Gateway would send (``visitor_tracker.events``) and calls the real handler:
  ``/`` -> ingest, ``/status`` and ``/dashboard`` -> status, anything else -> 404 JSON.
  OPTIONS gets the CORS preflight the deployed REST API answers itself (``ALLOWED_ORIGINS``);
  any other method than GET/OPTIONS is the REST API's 404 gateway response, as deployed.
- the SQS event source mapping of the writer (``visitor_tracker.esm``).

Locally the queue's visibility timeout is ``LOCAL_VISIBILITY_TIMEOUT_SECONDS`` (10 s) instead of
the deployed 180 s, so a batch lost in a crash comes back quickly; failed records are released at once.

On SIGINT/SIGTERM it stops accepting requests, lets in-flight requests finish, drains the queue
(bounded by ``DRAIN_TIMEOUT_SECONDS``) so no counted visit is left unwritten, stops the emulator
and removes the state file. A second signal skips the drain.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from functions.core.definitions import (
    CORS_ALLOW_METHODS,
    CORS_MAX_AGE_SECONDS,
    METRICS_NAMESPACE,
    NOT_FOUND_BODY,
    POWERTOOLS_SERVICE_NAME,
    QUEUE,
)
from visitor_tracker.events import (
    LambdaContext,
    ProxyResult,
    from_proxy_response,
    internal_error,
    json_result,
    rest_api_preflight,
    to_rest_event,
)
from visitor_tracker.resources import PipelineResources, create_resources
from visitor_tracker.state import LocalState, clear_state, state_path, write_state

Handler = Callable[[dict[str, Any], Any], Any]

LOCAL_VISIBILITY_TIMEOUT_SECONDS = 10
DRAIN_TIMEOUT_SECONDS = 8.0  # then the journal keeps the rest for the next start: stopping stays under 10 s
UNJOURNALED_DRAIN_TIMEOUT_SECONDS = 20.0  # in memory or --aws-endpoint: what is not written is lost
PERIODIC_LINE_SECONDS = 10.0
BACKPRESSURE_QUEUE_DEPTH = 2 * QUEUE.batch_size  # visits wait while more than two writer batches are queued
IN_FLIGHT_TIMEOUT_SECONDS = 5.0
DEFAULT_REGION = "us-east-1"

# API resource path -> function. The stack maps the same paths to the same handlers.
ROUTES: Mapping[str, str] = {
    "/": "ingest",
    "/status": "status",
    "/dashboard": "status",
    "/count": "status",  # issue 13's public per-page counters: read-only, they count no visit
    "/badge.svg": "status",
}
# Query parameters the REST API's request validator requires (pipeline/api.py COUNTER_ROUTES): a GET
# without one, or with it blank, is the gateway's 400 before any function runs.
REQUIRED_QUERY: Mapping[str, tuple[str, ...]] = {"/count": ("page",), "/badge.svg": ("page",)}
HANDLER_MODULES: Mapping[str, str] = {
    "ingest": "functions.ingest.handler",
    "status": "functions.status.handler",
    "writer": "functions.writer.handler",
}


class LocalGateway:
    """A WSGI app standing in for the API Gateway REST API in front of the functions."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        *,
        prefix: str = "visitor-tracker",
        region: str = DEFAULT_REGION,
        routes: Mapping[str, str] = ROUTES,
        on_error: Callable[[str, BaseException], None] | None = None,
        cors_origins: Sequence[str] | None = None,
    ) -> None:
        """``cors_origins``: answer OPTIONS as the deployed REST API does (its CORS preflight) for
        these origins; None passes OPTIONS to the functions like any other method."""
        self._handlers = handlers
        self._prefix = prefix
        self._region = region
        self._routes = routes
        self._on_error = on_error
        self._cors_origins = tuple(cors_origins) if cors_origins is not None else None
        self._lock = threading.Lock()
        self._in_flight = 0
        self._idle = threading.Event()
        self._idle.set()
        self.requests = 0
        self.counted = 0  # ingest answers 200: visits counted
        self.errors = 0  # answers 5xx
        self.on_counting: Callable[[int], None] | None = None  # ingest requests in flight, on every change
        self.before_ingest: Callable[[], None] | None = None  # backpressure (see _Backpressure)
        self._counting = 0

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.requests += 1
            self._idle.clear()

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    def _counting_changed(self, delta: int) -> None:
        with self._lock:
            self._counting += delta
            if self.on_counting is not None:
                self.on_counting(self._counting)

    def _tally(self, function: str, status: int) -> None:
        with self._lock:
            if status >= 500:
                self.errors += 1
            elif function == "ingest" and status == 200:
                self.counted += 1

    def wait_idle(self, timeout: float) -> bool:
        """Wait for requests already being handled to finish (after the server stopped accepting)."""
        return self._idle.wait(timeout)

    def dispatch(self, request: Request) -> ProxyResult:
        """Route one request to its function and convert the answer, as API Gateway does."""
        function = self._routes.get(request.path)
        if function is None or request.method not in CORS_ALLOW_METHODS:
            # as the deployed REST API: no route for this path or method -> its 404 gateway response
            return json_result(404, dict(NOT_FOUND_BODY))
        missing = [name for name in REQUIRED_QUERY.get(request.path, ()) if not request.args.get(name, "").strip()]
        if missing and request.method == "GET":
            # as the deployed REST API's validator (BAD_REQUEST_PARAMETERS gateway response)
            return json_result(400, {"error": f"Missing required request parameters: [{', '.join(missing)}]"})
        if request.method == "OPTIONS" and self._cors_origins is not None:
            return rest_api_preflight(
                self._cors_origins,
                request.headers.get("Origin"),
                methods=CORS_ALLOW_METHODS,
                max_age_seconds=CORS_MAX_AGE_SECONDS,
            )
        event = to_rest_event(
            method=request.method,
            path=request.path,
            query_string=request.query_string.decode("latin-1"),
            headers=list(request.headers.items()),
            body=request.get_data() or None,
            source_ip=request.remote_addr or "127.0.0.1",
            resource=request.path,
            domain_name=request.host,
        )
        context = LambdaContext(f"{self._prefix}-{function}", region=self._region)
        if function == "ingest" and self.before_ingest is not None:
            self.before_ingest()
        if function == "ingest":
            self._counting_changed(+1)
        try:
            response = self._handlers[function](event, context)
        except Exception as exc:  # noqa: BLE001 - API Gateway answers 502 when the function fails
            if self._on_error:
                self._on_error(function, exc)
            result = internal_error()
        else:
            result = from_proxy_response(response)
        finally:
            if function == "ingest":
                self._counting_changed(-1)
        self._tally(function, result.status)
        return result

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self._enter()
        try:
            result = self.dispatch(Request(environ))
            response = Response(result.body, status=result.status)
            response.headers.clear()
            for name, value in result.headers:
                response.headers.add(name, value)
            return response(environ, start_response)
        finally:
            self._leave()


class _AccessLog(WSGIRequestHandler):
    """One plain access-log line per request on stderr with ``--verbose`` (werkzeug's own logger is
    muted: it would also log every poll the event source mapping makes to the embedded emulator)."""

    verbose = False

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.verbose:
            sys.stderr.write(f'{self.address_string()} "{self.requestline}" {code}\n')


def _configure_environment(endpoint: str, dynamodb_endpoint: str | None, region: str, verbose: bool) -> None:
    """Point every boto3 client of this process at the emulators and quiet Powertools unless ``verbose``."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    if dynamodb_endpoint:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint  # botocore: this one wins for DynamoDB
    else:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["AWS_REGION"] = region
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


def _load_handlers(sqs: tuple[Any, str] | None = None) -> dict[str, Handler]:
    """Import the functions only now, after the environment points at the emulator.

    ``sqs``: (the SQS engine, its endpoint), attached in process to the functions' botocore session
    (``sqs_local.attach_in_process``) before any of their clients exists.
    """
    from functions.core import aws as aws_clients
    from functions.core.environment import ENVIRONMENT
    from visitor_tracker.sqs_local import attach_in_process

    ENVIRONMENT.reset()
    if sqs is not None:
        attach_in_process(aws_clients.session(), *sqs)
    return {name: importlib.import_module(module).handler for name, module in HANDLER_MODULES.items()}


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _warn(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")
    sys.stderr.flush()


def _region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION


def default_data_dir() -> Path:
    return Path.home() / ".visitor-tracker" / "data"


class _Stopper:
    """Turns SIGINT/SIGTERM into an event; the second signal also asks to skip the drain."""

    def __init__(self) -> None:
        self.stop = threading.Event()
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


class DataDir:
    """Local mode's data directory: DynamoDB Local's files, the queue store, and who is using it.

    ``owner.json`` names the running local mode and is removed on a clean stop: found with its process
    gone, the previous run was killed. ``counting`` holds, rewritten in place on every change, the number
    of visits being counted right now: what a SIGKILL at that instant may have cost.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.owner_file = path / "owner.json"
        self.counting_file = path / "counting"
        self.dynamodb = path / "dynamodb"
        self._counting_fd: int | None = None

    def previous_owner(self) -> dict[str, Any] | None:
        """The owner record left behind, or None. Raises DataDirBusy if that process is still running."""
        try:
            owner = dict(json.loads(self.owner_file.read_text()))
        except (OSError, ValueError):
            return None
        pid = int(owner.get("pid", 0))
        if pid and pid != os.getpid() and _alive(pid):
            raise DataDirBusy(f"{self.path} is in use by another local mode (pid {pid}); stop it first")
        return owner

    def lost_at_kill(self) -> int:
        try:
            return int(self.counting_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def claim(self, started_at: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.owner_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "started_at": started_at}))
        tmp.replace(self.owner_file)
        self._counting_fd = os.open(self.counting_file, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.counting(0)

    def counting(self, n: int) -> None:
        """One pwrite, no fsync: it only has to survive the process, not the machine."""
        if self._counting_fd is not None:
            os.pwrite(self._counting_fd, f"{n:<12}\n".encode(), 0)

    def release(self) -> None:
        if self._counting_fd is not None:
            os.close(self._counting_fd)
            self._counting_fd = None
        for path in (self.counting_file, self.owner_file):
            path.unlink(missing_ok=True)


class DataDirBusy(RuntimeError):
    """Another local mode owns the data directory."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reset_data(path: Path) -> None:
    """Delete local mode's data directory (``--reset``); refuses while a local mode is using it."""
    DataDir(path).previous_owner()
    shutil.rmtree(path, ignore_errors=True)


class _Backpressure:
    """Holds new visits back while the visit queue is deeper than ``high_water`` (up to ``max_wait`` each).

    Why: in AWS the writer runs on its own Lambda capacity; here it is one thread of the same Python
    process as 32 request threads, and the GIL gives it a 33rd of the CPU: without this the queue
    grew by thousands during a load and drained minutes later. Holding visitors a few milliseconds
    keeps the queue short, so it drains as fast as it fills, memory stays flat and Ctrl-C is quick.
    """

    def __init__(self, depth: Callable[[], int], high_water: int, max_wait: float = 5.0) -> None:
        self._depth = depth  # cheap: read from the SQS engine in process
        self._high_water = high_water
        self._max_wait = max_wait

    def __call__(self) -> None:
        if self._depth() <= self._high_water:
            return
        deadline = time.monotonic() + self._max_wait
        while self._depth() > self._high_water and time.monotonic() < deadline:
            time.sleep(0.01)


class _Console:
    """The calm console: one status line (rewritten in place on a terminal, a line every 10 s elsewhere)."""

    def __init__(self, gateway: LocalGateway, esm: Any, depths: Callable[[], tuple[int, int]], live: bool) -> None:
        self._gateway = gateway
        self._esm = esm
        self._depths = depths
        self._live = live
        self._last = ""
        self._last_at = 0.0
        self._started = time.monotonic()
        self._previous = (self._started, 0)

    def line(self) -> str:
        queued, dead = self._depths()
        now = time.monotonic()
        counted = self._gateway.counted
        rate = (counted - self._previous[1]) / max(now - self._previous[0], 1e-6)
        self._previous = (now, counted)
        errors = self._gateway.errors + self._esm.records_failed
        return (
            f"visits counted {counted:,} ({rate:,.0f}/s)  written {self._esm.records_succeeded:,}  "
            f"queued {queued:,}  dead letters {dead:,}  errors {errors:,}"
        )

    def tick(self) -> None:
        text = self.line()
        if self._live:
            sys.stdout.write(f"\r\x1b[2K{text}")
            sys.stdout.flush()
        elif time.monotonic() - self._last_at >= PERIODIC_LINE_SECONDS and text.split("(")[0] != self._last:
            _say(f"{datetime.now().strftime('%H:%M:%S')}  {text}")
            self._last, self._last_at = text.split("(")[0], time.monotonic()

    def done(self) -> None:
        if self._live:
            sys.stdout.write("\n")
            sys.stdout.flush()


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
    queues in the embedded SQS engine, journaled there too (``visitor_tracker.queue_store``).
    ``in_memory`` (or no Java) keeps everything in memory; ``aws_endpoint`` uses that endpoint for all.
    ``stop_event`` lets a caller on another thread stop it (signals only reach the main thread).
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from visitor_tracker.dynamodb_local import DynamoDBLocal, DynamoDBLocalError
    from visitor_tracker.emulator import EmbeddedEmulator
    from visitor_tracker.queue_store import QueueStore

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # see _AccessLog
    stopper = _Stopper()
    if stop_event is not None:
        stopper.stop = stop_event
    region = _region()
    emulator: EmbeddedEmulator | None = None
    dynamodb_local: DynamoDBLocal | None = None
    store: QueueStore | None = None
    data: DataDir | None = None
    server: BaseWSGIServer | None = None
    console: _Console | None = None
    esm: Any = None
    pid = os.getpid()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    stopper.install()  # from the start: a signal during start-up stops cleanly once it is up
    try:
        previous: dict[str, Any] | None = None
        if aws_endpoint is None and not in_memory:
            data = DataDir(data_dir or default_data_dir())
            try:
                previous = data.previous_owner()
            except DataDirBusy as exc:
                sys.stderr.write(f"error: {exc}\n")
                data = None
                return 1
            try:
                dynamodb_local = DynamoDBLocal(data.dynamodb, log_file=data.path / "dynamodb-local.log")
                if not quiet:
                    _say(f"Starting DynamoDB Local (data in {data.path})...")
                dynamodb_local.start()
            except DynamoDBLocalError as exc:
                _warn(f"{exc}: using the in-memory emulator instead, data is lost when local mode stops")
                dynamodb_local, data, previous = None, None, None
            else:
                data.claim(started_at)
        if aws_endpoint is None:
            emulator = EmbeddedEmulator(
                port=emulator_port, forward_dynamodb=dynamodb_local.url if dynamodb_local else None, region=region
            )
            emulator.start()
            endpoint = emulator.url
        else:
            endpoint = aws_endpoint.rstrip("/")
        _configure_environment(endpoint, dynamodb_local.url if dynamodb_local else None, region, verbose)
        try:
            resources: PipelineResources = create_resources(
                boto3.client("dynamodb"),
                boto3.client("sqs"),
                prefix=prefix,
                visibility_timeout=LOCAL_VISIBILITY_TIMEOUT_SECONDS,
            )
        except (BotoCoreError, ClientError) as exc:
            sys.stderr.write(f"error: cannot create the table and queues at {endpoint}: {exc}\n")
            return 1
        os.environ.update(resources.environment())
        if data is not None and emulator is not None:
            store = QueueStore(
                data.path, emulator.sqs, queue=_queue_name(resources.queue_url), dlq=_queue_name(resources.dlq_url)
            )
            restored = store.restore()
            if previous is not None:
                lost = data.lost_at_kill()
                _warn(
                    f"the previous local mode (pid {previous.get('pid')}, started {previous.get('started_at')}) "
                    f"was killed: {restored.queued:,} queued visits recovered (being written now), "
                    + (
                        f"{lost:,} requests cut off before their answer (each counts only if its visit was "
                        "already queued)"
                        if lost
                        else "no answered visit was lost"
                    )
                )
            elif restored.queued and not quiet:
                _say(f"{restored.queued:,} visits queued by the previous run are being written now.")

        from functions.core.observability import logger
        from visitor_tracker.esm import SqsEventSourceMapping
        from visitor_tracker.sqs_local import EngineClient

        logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])
        handlers = _load_handlers((emulator.sqs, endpoint) if emulator is not None else None)

        def on_error(function: str, exc: BaseException) -> None:
            logger.error("function raised: answered 502", exc_info=exc, extra={"function": function})

        from functions.core.settings import ConfigError, get_settings

        try:
            settings = get_settings()
        except ConfigError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 1
        gateway = LocalGateway(
            handlers, prefix=prefix, region=region, on_error=on_error, cors_origins=settings.allowed_origins
        )
        if data is not None:
            gateway.on_counting = data.counting
        depths: Callable[[], tuple[int, int]] | None = None
        if emulator is not None:
            engine = emulator.sqs
            queue_name, dlq_name = _queue_name(resources.queue_url), _queue_name(resources.dlq_url)

            def depths() -> tuple[int, int]:
                return engine.depth(queue_name), engine.depth(dlq_name)

            gateway.before_ingest = _Backpressure(lambda: engine.depth(queue_name), high_water=BACKPRESSURE_QUEUE_DEPTH)
        access_log = type("AccessLog", (_AccessLog,), {"verbose": verbose})
        try:
            server = make_server(host, port, gateway, threaded=True, request_handler=access_log)
        except (OSError, SystemExit) as exc:  # werkzeug explains a busy port itself, then exits
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "the port is not available"
            sys.stderr.write(f"error: cannot listen on {host}:{port}: {reason}\n")
            return 1
        esm = SqsEventSourceMapping(
            EngineClient(emulator.sqs) if emulator is not None else boto3.client("sqs"),
            queue_url=resources.queue_url,
            queue_arn=resources.queue_arn,
            region=region,
            handler=handlers["writer"],
            function_name=f"{prefix}-writer",
            cloudwatch=boto3.client("cloudwatch"),
        )
        esm.start()
        http_thread = threading.Thread(target=server.serve_forever, name="local-http", daemon=True)
        http_thread.start()

        api_url = f"http://{host}:{server.server_port}"
        write_state(
            LocalState(
                pid=pid,
                api_url=api_url,
                endpoint_url=endpoint,
                region=region,
                table_name=resources.table_name,
                queue_url=resources.queue_url,
                dlq_url=resources.dlq_url,
                started_at=started_at,
            )
        )
        if dynamodb_local is not None and data is not None:
            where = f"{endpoint}  (SQS: local mode's own; DynamoDB: DynamoDB Local {dynamodb_local.url})"
            kept = f"{data.path}  (table, queued visits and dead letters survive restarts)"
        else:
            where = f"{endpoint}{'  (embedded: local SQS, moto for DynamoDB)' if emulator else ''}"
            kept = "nothing: in memory, gone when local mode stops" if emulator else f"at {endpoint}"
        _say(f"visitor-tracker local mode (pid {pid})")
        _say(f"  API (count a visit)  {api_url}/")
        _say(f"  status (JSON)        {api_url}/status")
        _say(f"  dashboard            {api_url}/dashboard")
        _say(f"  AWS endpoint         {where}")
        _say(f"  data kept            {kept}")
        _say(f"  state file           {state_path()}")
        _say("Ready. Ctrl-C to stop.")
        if not quiet:
            shown = depths if depths is not None else lambda: (esm.pending(), 0)
            console = _Console(gateway, esm, shown, live=sys.stdout.isatty() and not verbose)

        ticks = 0
        while not stopper.stop.wait(0.2):
            if not http_thread.is_alive():
                sys.stderr.write("error: the HTTP server stopped unexpectedly\n")
                break
            ticks += 1
            if ticks % 5 == 0 and console is not None:
                console.tick()
        if console is not None:
            console.tick()
            console.done()

        _say("Stopping: no new requests; writing what is queued...")
        server.shutdown()
        server.server_close()
        gateway.wait_idle(IN_FLIGHT_TIMEOUT_SECONDS)
        started = time.monotonic()
        drained = False
        if not stopper.hurry.is_set():
            deadline = started + (DRAIN_TIMEOUT_SECONDS if store is not None else UNJOURNALED_DRAIN_TIMEOUT_SECONDS)
            while time.monotonic() < deadline and not stopper.hurry.is_set():
                if esm.drain(0.5):
                    drained = True
                    break
        esm.stop()
        esm = None
        if drained:
            _say(f"Queue drained in {time.monotonic() - started:.1f} s.")
            return 0
        if store is not None and depths is not None:
            store.close()
            left = depths()[0]
            store = None
            _say(f"{left:,} queued visits kept in {data.path if data else ''}: they are written on the next start.")
            return 0
        _warn("stopped before the queue was empty; queued visits were not written")
        return 1  # visits were left unwritten: say so to scripts too
    finally:
        stopper.restore()
        if esm is not None:
            esm.stop()
        if server is not None:
            server.server_close()
        if store is not None:
            store.close()
        if emulator is not None:
            emulator.stop()
        if dynamodb_local is not None:
            dynamodb_local.stop()
        if data is not None:
            data.release()
        clear_state(pid)


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def main(argv: list[str] | None = None) -> int:
    """``python -m visitor_tracker.local``: the same as ``visitor-tracker local``."""
    parser = argparse.ArgumentParser(prog="python -m visitor_tracker.local", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8080, help="HTTP port of the local API (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--aws-endpoint", default=None, help="use this AWS-compatible endpoint, no embedded emulator")
    parser.add_argument("--emulator-port", type=int, default=0, help="port of the embedded moto server (0: free)")
    parser.add_argument("--prefix", default="visitor-tracker", help="name prefix of the table and queues")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the data is kept (~/.visitor-tracker/data)")
    parser.add_argument("--in-memory", action="store_true", help="keep nothing: no DynamoDB Local, no data dir")
    parser.add_argument("--reset", action="store_true", help="delete the kept data first (asks; --yes skips)")
    parser.add_argument("--yes", action="store_true", help="do not ask before --reset")
    parser.add_argument("--quiet", action="store_true", help="no status line: only warnings and errors")
    parser.add_argument("--verbose", action="store_true", help="a line per request and the functions' JSON logs")
    args = parser.parse_args(argv)
    for name in ("port", "emulator_port"):
        if not 0 <= getattr(args, name) <= 65535:
            parser.error(f"--{name.replace('_', '-')} must be between 0 and 65535")
    if args.reset:
        path = args.data_dir or default_data_dir()
        if not args.yes and input(f"Delete all local data in {path}? [y/N] ").strip().lower() not in ("y", "yes"):
            _say("Not reset.")
            return 1
        try:
            reset_data(path)
        except DataDirBusy as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 1
    return serve(
        port=args.port,
        host=args.host,
        aws_endpoint=args.aws_endpoint,
        emulator_port=args.emulator_port,
        prefix=args.prefix,
        data_dir=args.data_dir,
        in_memory=args.in_memory,
        quiet=args.quiet,
        verbose=args.verbose,
    )


if __name__ == "__main__":
    sys.exit(main())
