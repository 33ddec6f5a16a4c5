"""The embedded AWS emulator of local mode: moto's ThreadedMotoServer for SQS (and CloudWatch), made safe
for concurrent callers, with DynamoDB forwarded to DynamoDB Local.

DynamoDB lives in DynamoDB Local (``visitor_tracker.dynamodb_local``): exact under concurrency and
with real transactions, so moto's DynamoDB needs no workaround any more. ``forward_dynamodb`` makes
this one endpoint also answer DynamoDB calls by passing them to DynamoDB Local untouched, so the
state file's single AWS endpoint serves the CLI and tests; the handlers call DynamoDB Local directly.

What SQS on moto (5.2) still needs, for the embedded emulator only (deployed code and the unit
tests' ``mock_aws`` are untouched):

1. moto's backends are not thread-safe and its threaded server calls them from many threads:
   ``DeleteMessage`` rebuilds a queue's message list without a lock, so a ``SendMessage`` landing
   at the same moment is lost (a counted visit never logged). ``SerializedApp`` runs emulator
   requests one at a time - the GIL serialises this pure-Python work anyway - except SQS
   ``ReceiveMessage``, whose long poll would otherwise hold everyone up for a second (local mode's
   event source mapping is its only receiver and deletes on the same thread).
2. SQS is quadratic in the backlog: every received message re-computes ALL queue attributes
   (counting every message, each check building datetimes) just to read the retention period,
   and every SendMessage does the same. With a few hundred visits queued, 60 % of local mode's
   CPU went there. ``patch_sqs_speed`` reads the retention period directly and gives moto's SQS
   module a float clock (``time.time()``) instead of datetime arithmetic: the same values.

Without Java (no DynamoDB Local, or ``--in-memory``) the same server also serves DynamoDB from moto,
serialized like the rest, in memory. Only then is moto's DynamoDB patched too: its
``TransactWriteItems`` deep-copies the whole table once PER ACTION as its rollback snapshot (a
100-action transaction on a 1,000-item table took over 10 s), and ``patch_transaction_snapshots``
makes it take one snapshot per table per transaction — the same rollback, a hundredth of the work.
"""

from __future__ import annotations

import http.client
import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from moto.server import ThreadedMotoServer

# X-Amz-Target of the one call that may block (long poll): it must not hold the lock.
_UNLOCKED_TARGETS = frozenset({"AmazonSQS.ReceiveMessage"})
DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810."
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host", "content-length"})

# Called inside the lock after a successful SQS call it asked for: (target, request body, response body).
SqsObserver = Callable[[str, bytes, bytes], None]


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


class SerializedApp:
    """WSGI middleware: one emulator request at a time (long polls excepted), DynamoDB forwarded."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, forward_dynamodb: str | None = None) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._forward = _Forwarder(forward_dynamodb) if forward_dynamodb else None
        self._observed: frozenset[str] = frozenset()
        self._observer: SqsObserver | None = None

    def observe(self, targets: Iterable[str], observer: SqsObserver) -> None:
        """Call ``observer`` after each successful call to one of ``targets`` (e.g. AmazonSQS.SendMessage)."""
        self._observed = frozenset(targets)
        self._observer = observer

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET") or ""
        if self._forward is not None and target.startswith(DYNAMODB_TARGET_PREFIX):
            return self._forward(environ, start_response)
        if target in _UNLOCKED_TARGETS:
            return self._app(environ, start_response)
        if target not in self._observed or self._observer is None:
            with self._lock:
                # Materialise the body inside the lock: moto builds it eagerly, but be sure.
                return list(self._app(environ, start_response))
        request = _request_body(environ)
        status: list[str] = []

        def capture(code: str, headers: Any, *args: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *args)

        with self._lock:
            chunks = list(self._app(environ, capture))
            if status and status[0].startswith("200"):
                self._observer(target, request, b"".join(chunks))
        return chunks


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




def _fast_clocks(slow_seconds: Callable[..., float]) -> tuple[Callable[..., float], Callable[..., float]]:
    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else slow_seconds(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else slow_seconds(dt) * 1000.0

    return unix_time, unix_time_millis


def patch_sqs_speed() -> Callable[[], None]:
    """Make moto's SQS linear again (see the module docstring); returns the undo function."""
    from moto.sqs import models

    with _patch_lock:
        backend = models.SQSBackend
        if getattr(backend.is_message_valid_based_on_retention_period, "_fast", False):
            return lambda: None
        original_valid = backend.is_message_valid_based_on_retention_period
        original_clocks = (models.unix_time, models.unix_time_millis)

        def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
            retention = int(self.get_queue(queue_name).message_retention_period)
            return bool(retention + message.sent_timestamp / 1000 > time.time())

        is_message_valid_based_on_retention_period._fast = True  # type: ignore[attr-defined]
        backend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
            is_message_valid_based_on_retention_period
        )
        models.unix_time, models.unix_time_millis = _fast_clocks(original_clocks[0])

    def undo() -> None:
        with _patch_lock:
            backend.is_message_valid_based_on_retention_period = original_valid  # type: ignore[method-assign]
            models.unix_time, models.unix_time_millis = original_clocks

    return undo


class EmbeddedEmulator(ThreadedMotoServer):
    """ThreadedMotoServer whose app is a ``SerializedApp``, with moto's SQS patched (``patch_sqs_speed``)."""

    def __init__(self, port: int = 0, *, forward_dynamodb: str | None = None) -> None:
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self._undo: Callable[[], None] | None = None
        self._forward_dynamodb = forward_dynamodb
        self.app: SerializedApp | None = None

    def _server_entry(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.app = SerializedApp(
            DomainDispatcherApplication(create_backend_app), forward_dynamodb=self._forward_dynamodb
        )
        self._server = make_server(self._ip_address, self._port, self.app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        undos = [patch_sqs_speed()]
        if self._forward_dynamodb is None:
            # No DynamoDB Local (no Java, or --in-memory): moto serves DynamoDB itself, and its
            # transactions would copy the whole table once per action.
            undos.append(patch_transaction_snapshots())

        def undo() -> None:
            for one in reversed(undos):
                one()

        self._undo = undo
        super().start()

    def stop(self) -> None:
        super().stop()
        if self._undo is not None:
            self._undo()
            self._undo = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No emulator request runs meanwhile (ReceiveMessage excepted): for consistent in-process reads."""
        assert self.app is not None, "start() first"
        with self.app._lock:
            yield

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
