"""Local mode's HTTP listener: a threaded werkzeug server with bounds, so that no client, slow,
abandoned or hostile, can hold it or plant a visit.

- **Whole requests only.** A request whose header block never ended (the client closed first) is
  dropped unanswered: it is never handed to a function, so it never counts a visit.
- **Bounded connections.** At most ``MAX_CONNECTIONS`` connections are served at once (one thread
  each); one more is answered ``503`` and closed at once. A connection idle for
  ``IDLE_TIMEOUT_SECONDS`` (waiting for a request, or in the middle of one) is closed.
- **Small bodies.** Nothing local mode serves reads a body: one over ``MAX_BODY_BYTES`` (or of
  unknown length) is answered ``413`` and the connection closed; any request with a body closes its
  connection after the answer, so an unread body can never be read as the next request.
- **A status line for every answer.** A malformed request line (``GET  HTTP/1.1``, no target) is a
  ``400`` with an HTTP/1.1 status line, never an HTTP/0.9 bare body.
"""

from __future__ import annotations

import socket
import sys
import threading
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

MAX_CONNECTIONS = 256
IDLE_TIMEOUT_SECONDS = 10.0
MAX_BODY_BYTES = 16 * 1024
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 41\r\n"
    b'Connection: close\r\n\r\n{"error": "too many connections, retry"}\n'
)


class _Lines:
    """The request's input stream, remembering whether the header block ended or the client left."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.last_line = b""

    def readline(self, *args: Any) -> bytes:
        line = bytes(self._stream.readline(*args))
        self.last_line = line
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class BoundedRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, refusing what is not a whole, small request (see the module docstring)."""

    timeout = IDLE_TIMEOUT_SECONDS
    verbose = False
    default_request_version = "HTTP/1.1"  # errors found before the version is read still get a status line
    error_content_type = "application/json"
    error_message_format = '{"error": "%(message)s"}\n'

    def setup(self) -> None:
        super().setup()
        self.rfile = _Lines(self.rfile)  # type: ignore[assignment]

    def parse_request(self) -> bool:
        if len(self.raw_requestline.split()) != 3:  # no target, no version, or too many parts
            self.command, self.request_version = None, self.default_request_version  # type: ignore[assignment]
            self.close_connection = True
            self.send_error(400, "Bad request line")
            return False
        if not super().parse_request():
            return False
        if self.rfile.last_line not in (b"\r\n", b"\n"):  # type: ignore[attr-defined]
            self.close_connection = True  # the client left before its headers ended: not a request
            return False
        return self._body_allowed()

    def _body_allowed(self) -> bool:
        length = self.headers.get("Content-Length")
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        try:
            size = int(length) if length is not None else 0
        except ValueError:
            size = -1
        if chunked or size < 0 or size > MAX_BODY_BYTES:
            self.close_connection = True
            self.send_error(413, "Request body too large")
            return False
        if size or chunked:
            self.close_connection = True  # nothing here reads a body: never parse it as a request
        return True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.verbose:
            sys.stderr.write(f'{self.address_string()} "{self.requestline}" {code}\n')


class BoundedServer(ThreadedWSGIServer):
    """A thread per connection, at most ``MAX_CONNECTIONS`` of them."""

    def __init__(self, host: str, port: int, app: Any, handler: type[WSGIRequestHandler]) -> None:
        super().__init__(host, port, app, handler=handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        try:
            request.settimeout(1.0)
            request.sendall(_BUSY)
        except OSError:
            pass
        self.shutdown_request(request)


def listen(host: str, port: int, app: Any, *, verbose: bool) -> BoundedServer:
    """The listener for ``app`` on ``host:port`` (raises OSError when the port is not available)."""
    handler = type("Handler", (BoundedRequestHandler,), {"verbose": verbose})
    try:
        return BoundedServer(host, port, app, handler)
    except SystemExit as exc:  # werkzeug explains a busy port itself, then exits
        raise OSError("the port is not available") from exc
