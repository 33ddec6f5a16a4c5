"""The embedded AWS endpoint of local mode: SQS from ``visitor_tracker.sqs``, DynamoDB forwarded to
DynamoDB Local, and moto's ThreadedMotoServer for the rest (CloudWatch metrics).

One URL serves every AWS call of local mode, the CLI and the tests, routed by ``X-Amz-Target``:

- ``AmazonSQS.*`` goes to the SQS engine: thread-safe and durable itself (its journal is
  ``visitor_tracker.sqs.journal``). moto's SQS is not used: it lost messages under concurrent
  callers, recomputed every queue attribute over the whole backlog on each send and receive, and
  cost about 5 ms of CPU per SendMessage (see ``visitor_tracker.sqs``).
- ``DynamoDB_20120810.*`` is passed to DynamoDB Local untouched (``forward_dynamodb``); the
  handlers call DynamoDB Local directly, this only gives the CLI and tests one endpoint.
- anything else goes to moto's app, one request at a time: moto's backends are not thread-safe.

Without Java (no DynamoDB Local, or ``--in-memory``) moto also serves DynamoDB, in memory, under the
same lock. Only then is moto's DynamoDB patched: its ``TransactWriteItems`` deep-copies the whole
table once PER ACTION as its rollback snapshot (a 100-action transaction on a 1,000-item table took
over 10 s), and ``patch_transaction_snapshots`` makes it take one snapshot per table per
transaction - the same rollback, a hundredth of the work.
"""

from __future__ import annotations

import http.client
import io
import threading
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from moto.server import ThreadedMotoServer

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


_patch_lock = threading.Lock()


class _OneSnapshotPerTable:
    """Stands in for the ``copy`` module inside moto's DynamoDB models during a transaction."""

    def __init__(self, real: ModuleType, table_type: type) -> None:
        self._real = real
        self._table_type = table_type
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def begin(self) -> None:
        self._local.snapshots = {}

    def end(self) -> None:
        self._local.snapshots = None

    def deepcopy(self, obj: Any, memo: dict[int, Any] | None = None) -> Any:
        snapshots = getattr(self._local, "snapshots", None)
        if snapshots is None or not isinstance(obj, self._table_type):
            return self._real.deepcopy(obj, memo)
        if id(obj) not in snapshots:
            snapshots[id(obj)] = (obj, self._real.deepcopy(obj))  # keep obj alive: ids stay unique
        return snapshots[id(obj)][1]


def patch_transaction_snapshots() -> Callable[[], None]:
    """Make in-process moto's TransactWriteItems snapshot each table once; returns the undo function.

    Local mode no longer needs this (its table is in DynamoDB Local); the in-process moto users do:
    ``tests.pipeline_helpers.fast_moto`` and ``bench.harness``. A 100-action transaction otherwise
    deep-copies the table 100 times (over 10 s on a 1,000-item table).
    """
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    with _patch_lock:
        backend = models.DynamoDBBackend
        if getattr(backend.transact_write_items, "_one_snapshot", False):
            return lambda: None
        original = backend.transact_write_items
        real_copy = models.copy
        shim = _OneSnapshotPerTable(real_copy, Table)

        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            shim.begin()
            try:
                original(self, transact_items)
            finally:
                shim.end()

        transact_write_items._one_snapshot = True  # type: ignore[attr-defined]
        backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        models.copy = shim  # type: ignore[assignment]

    def undo() -> None:
        with _patch_lock:
            backend.transact_write_items = original  # type: ignore[method-assign]
            models.copy = real_copy

    return undo


class EmbeddedEmulator(ThreadedMotoServer):
    """ThreadedMotoServer whose app is a ``SerializedApp`` with local mode's SQS engine (``sqs``)."""

    def __init__(self, port: int = 0, *, forward_dynamodb: str | None = None, region: str = "us-east-1") -> None:
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self._undo: Callable[[], None] | None = None
        self._forward_dynamodb = forward_dynamodb
        self.sqs = SqsEngine(region=region)
        self.app: SerializedApp | None = None

    def _server_entry(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.app = SerializedApp(
            DomainDispatcherApplication(create_backend_app), sqs=self.sqs, forward_dynamodb=self._forward_dynamodb
        )
        self._server = make_server(self._ip_address, self._port, self.app, True, request_handler=MotoRequestHandler)
        self.sqs.base_url = f"http://{self._ip_address}:{self._server.server_port}"
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        if self._forward_dynamodb is None:
            # No DynamoDB Local (no Java, or --in-memory): moto serves DynamoDB itself, and its
            # transactions would copy the whole table once per action.
            self._undo = patch_transaction_snapshots()
        super().start()

    def stop(self) -> None:
        super().stop()
        if self._undo is not None:
            self._undo()
            self._undo = None

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
