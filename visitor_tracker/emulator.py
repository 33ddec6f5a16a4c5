"""The embedded AWS endpoint of local mode: SQS from ``visitor_tracker.sqs``, DynamoDB forwarded to
DynamoDB Local, and moto's app for the rest (CloudWatch metrics).

One URL serves every AWS call of local mode, the CLI and the tests, routed by ``X-Amz-Target``:

- ``AmazonSQS.*`` goes to the SQS engine: thread-safe and durable itself (its journal is
  ``visitor_tracker.sqs.journal``). moto's SQS is not used: it lost messages under concurrent
  callers, recomputed every queue attribute over the whole backlog on each send and receive, and
  cost about 5 ms of CPU per SendMessage (see ``visitor_tracker.sqs``).
- ``DynamoDB_20120810.*`` is passed to DynamoDB Local untouched (``forward_dynamodb``); the
  handlers call DynamoDB Local directly, this only gives the CLI and tests one endpoint.
- anything else goes to moto's app, one request at a time: moto's backends are not thread-safe.

Without Java (no DynamoDB Local, or ``--in-memory``) moto also serves DynamoDB, in memory, under the
same lock, as moto is (unpatched: its ``TransactWriteItems`` deep-copies the table once per action,
so that fallback slows down as the table grows; DynamoDB Local is the supported way to keep data).
"""

from __future__ import annotations

import http.client
import io
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import WSGIRequestHandler, make_server

from visitor_tracker.sqs.engine import SqsEngine
from visitor_tracker.sqs.protocol import TARGET_PREFIX as SQS_TARGET_PREFIX
from visitor_tracker.sqs.protocol import answer_json

DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810."
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host", "content-length"})


def _request_body(environ: dict[str, Any]) -> bytes:
    """Read the request body once and put it back, so the wrapped app can still read it."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class _Forwarder:
    """Passes DynamoDB requests to DynamoDB Local (thread-safe itself: no lock), one connection per thread."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=30)
            self._local.connection = connection
        return connection

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _request_body(environ)
        headers = {
            key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        headers = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        for attempt in (1, 2):  # a keep-alive connection the other side closed: reconnect once
            connection = self._connection()
            try:
                connection.request(environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/", body, headers)
                response = connection.getresponse()
                payload = response.read()
                break
            except (OSError, http.client.HTTPException):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
                    return [b"DynamoDB Local is not answering"]
        reply = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
        start_response(f"{response.status} {response.reason}", [*reply, ("Content-Length", str(len(payload)))])
        return [payload]


def _sqs_app(engine: SqsEngine, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """One SQS JSON-protocol request answered by the engine."""
    status, headers, payload = answer_json(engine, str(environ.get("HTTP_X_AMZ_TARGET", "")), _request_body(environ))
    start_response(
        f"{status} {'OK' if status == 200 else 'Error'}", [*headers.items(), ("Content-Length", str(len(payload)))]
    )
    return [payload]


class SerializedApp:
    """WSGI router: SQS to the engine, DynamoDB forwarded, the rest to moto one request at a time."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        sqs: SqsEngine | None = None,
        forward_dynamodb: str | None = None,
    ) -> None:
        self._app = app
        self._sqs = sqs
        self._lock = threading.Lock()
        self._forward = _Forwarder(forward_dynamodb) if forward_dynamodb else None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET") or ""
        if self._sqs is not None and target.startswith(SQS_TARGET_PREFIX):
            return _sqs_app(self._sqs, environ, start_response)
        if self._forward is not None and target.startswith(DYNAMODB_TARGET_PREFIX):
            return self._forward(environ, start_response)
        with self._lock:
            # Materialise the body inside the lock: moto builds it eagerly, but be sure.
            return list(self._app(environ, start_response))


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per AWS call (the event source mapping polls all the time)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class EmbeddedEmulator:
    """One local HTTP endpoint (a threaded werkzeug server on 127.0.0.1) whose app is a ``SerializedApp``:
    local mode's SQS engine (``sqs``), DynamoDB forwarded or moto's, and moto's app for the rest."""

    def __init__(self, port: int = 0, *, forward_dynamodb: str | None = None, region: str = "us-east-1") -> None:
        self._port = port
        self._forward_dynamodb = forward_dynamodb
        self.sqs = SqsEngine(region=region)
        self.app: SerializedApp | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app

        self.app = SerializedApp(
            DomainDispatcherApplication(create_backend_app), sqs=self.sqs, forward_dynamodb=self._forward_dynamodb
        )
        self._server = make_server("127.0.0.1", self._port, self.app, threaded=True, request_handler=_QuietHandler)
        self.sqs.base_url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-aws", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"
