"""Local mode's API Gateway: a WSGI app that turns each request into the REST API's proxy event
(the pure converter is ``visitor_tracker.events``), calls the real handler and answers as deployed:
``/`` -> ingest, ``/status``, ``/dashboard``, ``/count``, ``/badge.svg``, ``/script.js`` -> status, anything
else a 404 JSON. OPTIONS gets the CORS preflight the deployed REST API answers itself (``ALLOWED_ORIGINS``); any
method other than GET/OPTIONS is the REST API's 404 gateway response, as deployed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from werkzeug.wrappers import Request, Response

from functions.core.definitions import CORS_ALLOW_METHODS, CORS_MAX_AGE_SECONDS, NOT_FOUND_BODY
from visitor_tracker.events import (
    LambdaContext,
    ProxyResult,
    from_proxy_response,
    internal_error,
    json_result,
    rest_api_preflight,
    to_rest_event,
)

Handler = Callable[[dict[str, Any], Any], Any]
DEFAULT_REGION = "us-east-1"

# API resource path -> function. The stack maps the same paths to the same handlers.
ROUTES: Mapping[str, str] = {
    "/": "ingest",
    "/status": "status",
    "/status/explore": "status",  # the lake's answers (issue 22): owner-only like /status
    "/dashboard": "status",
    "/count": "status",  # issue 13's public per-page counters: read-only, they count no visit
    "/badge.svg": "status",
    "/script.js": "status",  # the site's script tag (issue 21): public, long-cached, counts nothing
}
# Query parameters the REST API's request validator requires (pipeline/api.py COUNTER_ROUTES): a GET
# without one, or with it blank, is the gateway's 400 before any function runs.
REQUIRED_QUERY: Mapping[str, tuple[str, ...]] = {"/count": ("page",), "/badge.svg": ("page",)}


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
        self.before_ingest: Callable[[], None] | None = None  # backpressure (see Backpressure)
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


class Backpressure:
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
