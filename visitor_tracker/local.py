"""Local mode: the whole pipeline on one machine, with the real handlers and no AWS account.

``serve()`` starts moto's server as the AWS emulator (``visitor_tracker.emulator``, which also works
around two moto gaps under concurrency) or uses ``--aws-endpoint``; it creates the
table, queue and DLQ from ``functions.common.definitions`` through ``visitor_tracker.resources``,
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
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from functions.common.definitions import (
    CORS_ALLOW_METHODS,
    CORS_MAX_AGE_SECONDS,
    METRICS_NAMESPACE,
    NOT_FOUND_BODY,
    POWERTOOLS_SERVICE_NAME,
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
DRAIN_TIMEOUT_SECONDS = 20.0
IN_FLIGHT_TIMEOUT_SECONDS = 5.0
DEFAULT_REGION = "us-east-1"

# API resource path -> function. The stack maps the same paths to the same handlers.
ROUTES: Mapping[str, str] = {"/": "ingest", "/status": "status", "/dashboard": "status"}
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

    def wait_idle(self, timeout: float) -> bool:
        """Wait for requests already being handled to finish (after the server stopped accepting)."""
        return self._idle.wait(timeout)

    def dispatch(self, request: Request) -> ProxyResult:
        """Route one request to its function and convert the answer, as API Gateway does."""
        function = self._routes.get(request.path)
        if function is None or request.method not in CORS_ALLOW_METHODS:
            # as the deployed REST API: no route for this path or method -> its 404 gateway response
            return json_result(404, dict(NOT_FOUND_BODY))
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
        try:
            response = self._handlers[function](event, context)
        except Exception as exc:  # noqa: BLE001 - API Gateway answers 502 when the function fails
            if self._on_error:
                self._on_error(function, exc)
            return internal_error()
        return from_proxy_response(response)

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
    """One plain access-log line per request on stderr (werkzeug's own logger is muted: it would
    also log every poll the event source mapping makes to the embedded emulator)."""

    quiet = False

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if not self.quiet:
            sys.stderr.write(f'{self.address_string()} "{self.requestline}" {code}\n')


def _configure_environment(endpoint: str, region: str, embedded: bool, quiet: bool) -> None:
    """Point every boto3 client of this process at the emulator and quiet Powertools for local use."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["AWS_REGION"] = region
    if embedded:
        # The embedded emulator needs no real credentials: never sign anything with them.
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ["AWS_ACCESS_KEY_ID"] = "local"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - a dummy for the emulator
    elif not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE"):
        os.environ["AWS_ACCESS_KEY_ID"] = "local"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", POWERTOOLS_SERVICE_NAME)
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING" if quiet else "INFO")


def _load_handlers() -> dict[str, Handler]:
    """Import the functions only now, after the environment points at the emulator."""
    from functions.common import aws as aws_clients
    from functions.common.settings import get_settings

    aws_clients.reset_clients()
    get_settings.cache_clear()
    return {name: importlib.import_module(module).handler for name, module in HANDLER_MODULES.items()}


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION


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


def serve(
    *,
    port: int = 8080,
    host: str = "127.0.0.1",
    aws_endpoint: str | None = None,
    emulator_port: int = 0,
    prefix: str = "visitor-tracker",
    quiet: bool = False,
    stop_event: threading.Event | None = None,
) -> int:
    """Run local mode until SIGINT/SIGTERM (or ``stop_event``); the process exit code.

    ``stop_event`` lets a caller on another thread stop it (signals only reach the main thread).
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from visitor_tracker.emulator import EmbeddedEmulator

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # see _AccessLog
    stopper = _Stopper()
    if stop_event is not None:
        stopper.stop = stop_event
    region = _region()
    emulator: EmbeddedEmulator | None = None
    server: BaseWSGIServer | None = None
    esm: Any = None
    pid = os.getpid()
    stopper.install()  # from the start: a signal during start-up stops cleanly once it is up
    try:
        if aws_endpoint is None:
            emulator = EmbeddedEmulator(port=emulator_port)
            emulator.start()
            endpoint = emulator.url
        else:
            endpoint = aws_endpoint.rstrip("/")
        _configure_environment(endpoint, region, embedded=emulator is not None, quiet=quiet)
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

        from functions.common.observability import logger
        from visitor_tracker.esm import SqsEventSourceMapping

        logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])
        handlers = _load_handlers()

        def on_error(function: str, exc: BaseException) -> None:
            logger.error("function raised: answered 502", exc_info=exc, extra={"function": function})

        from functions.common.settings import ConfigError, get_settings

        try:
            settings = get_settings()
        except ConfigError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 1
        gateway = LocalGateway(
            handlers, prefix=prefix, region=region, on_error=on_error, cors_origins=settings.allowed_origins
        )
        access_log = type("AccessLog", (_AccessLog,), {"quiet": quiet})
        try:
            server = make_server(host, port, gateway, threaded=True, request_handler=access_log)
        except (OSError, SystemExit) as exc:  # werkzeug explains a busy port itself, then exits
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "the port is not available"
            sys.stderr.write(f"error: cannot listen on {host}:{port}: {reason}\n")
            return 1
        esm = SqsEventSourceMapping(
            boto3.client("sqs"),
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
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )
        _say(f"visitor-tracker local mode (pid {pid})")
        _say(f"  API (count a visit)  {api_url}/")
        _say(f"  status (JSON)        {api_url}/status")
        _say(f"  dashboard            {api_url}/dashboard")
        _say(f"  AWS endpoint         {endpoint}{'  (embedded moto server)' if emulator else ''}")
        _say(f"  table {resources.table_name}, queue {resources.queue_url}")
        _say(f"  state file           {state_path()}")
        _say("Ready. Ctrl-C to stop.")

        while not stopper.stop.wait(0.2):
            if not http_thread.is_alive():
                sys.stderr.write("error: the HTTP server stopped unexpectedly\n")
                break

        _say("Stopping: no new requests; writing what is queued...")
        server.shutdown()
        server.server_close()
        gateway.wait_idle(IN_FLIGHT_TIMEOUT_SECONDS)
        started = time.monotonic()
        drained = False
        if not stopper.hurry.is_set():
            deadline = started + DRAIN_TIMEOUT_SECONDS
            while time.monotonic() < deadline and not stopper.hurry.is_set():
                if esm.drain(0.5):
                    drained = True
                    break
        esm.stop()
        esm = None
        if drained:
            _say(f"Queue drained in {time.monotonic() - started:.1f} s.")
        else:
            sys.stderr.write("warning: stopped before the queue was empty; queued visits were not written\n")
            return 1  # visits were left unwritten: say so to scripts too
        return 0
    finally:
        stopper.restore()
        if esm is not None:
            esm.stop()
        if server is not None:
            server.server_close()
        if emulator is not None:
            emulator.stop()
        clear_state(pid)


def main(argv: list[str] | None = None) -> int:
    """``python -m visitor_tracker.local``: the same as ``visitor-tracker local``."""
    parser = argparse.ArgumentParser(prog="python -m visitor_tracker.local", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8080, help="HTTP port of the local API (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--aws-endpoint", default=None, help="use this AWS-compatible endpoint, no embedded emulator")
    parser.add_argument("--emulator-port", type=int, default=0, help="port of the embedded moto server (0: free)")
    parser.add_argument("--prefix", default="visitor-tracker", help="name prefix of the table and queues")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors in the logs")
    args = parser.parse_args(argv)
    for name in ("port", "emulator_port"):
        if not 0 <= getattr(args, name) <= 65535:
            parser.error(f"--{name.replace('_', '-')} must be between 0 and 65535")
    return serve(
        port=args.port,
        host=args.host,
        aws_endpoint=args.aws_endpoint,
        emulator_port=args.emulator_port,
        prefix=args.prefix,
        quiet=args.quiet,
    )


if __name__ == "__main__":
    sys.exit(main())
