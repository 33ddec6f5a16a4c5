"""The embedded AWS emulator of local mode: moto's ThreadedMotoServer, made safe for concurrent callers.

Two moto gaps (moto 5.2) break local mode under load, so both are worked around here, for the
embedded emulator only (deployed code and the unit tests' ``mock_aws`` are untouched):

1. moto's backends are not thread-safe, and its threaded server calls them from many threads:
   ``TransactWriteItems`` deep-copies the table while another request's ``UpdateItem`` mutates it
   (``RuntimeError: dictionary changed size during iteration`` -> HTTP 500). ``SerializedApp``
   runs emulator requests one at a time - the GIL serialises this pure-Python work anyway - except
   SQS ``ReceiveMessage``, whose long poll would otherwise hold everyone up for seconds.
2. ``TransactWriteItems`` deep-copies the whole table once PER ACTION as its rollback snapshot:
   a 100-action transaction on a 1,000-item table took over 10 s (about 0.1 s per copy here),
   so the writer's transactions timed out. ``patch_transaction_snapshots`` makes it take one
   snapshot per table per transaction - the same rollback, a hundredth of the work.
3. SQS is quadratic in the backlog: every received message re-computes ALL queue attributes
   (counting every message, each check building datetimes) just to read the retention period,
   and every SendMessage does the same. With a few hundred visits queued, 60 % of local mode's
   CPU went there. ``patch_sqs_speed`` reads the retention period directly and gives moto's SQS
   module a float clock (``time.time()``) instead of datetime arithmetic: the same values.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from moto.server import ThreadedMotoServer

# X-Amz-Target of the one call that may block (long poll): it must not hold the lock.
_UNLOCKED_TARGETS = frozenset({"AmazonSQS.ReceiveMessage"})


class SerializedApp:
    """WSGI middleware: one emulator request at a time, long polls excepted."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") in _UNLOCKED_TARGETS:
            return self._app(environ, start_response)
        with self._lock:
            # Materialise the body inside the lock: moto builds it eagerly, but be sure.
            return list(self._app(environ, start_response))


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


_patch_lock = threading.Lock()


def patch_transaction_snapshots() -> Callable[[], None]:
    """Make moto's TransactWriteItems snapshot each table once; returns the undo function."""
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


def patch_moto() -> Callable[[], None]:
    """Every workaround of this module; returns one undo function."""
    undos = [patch_transaction_snapshots(), patch_sqs_speed()]

    def undo() -> None:
        for one in reversed(undos):
            one()

    return undo


class EmbeddedEmulator(ThreadedMotoServer):
    """ThreadedMotoServer whose app is wrapped in ``SerializedApp``, with moto patched (``patch_moto``)."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self._undo: Callable[[], None] | None = None

    def _server_entry(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = SerializedApp(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        self._undo = patch_moto()
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
