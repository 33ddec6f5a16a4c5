"""Local mode's listener under abandoned, malformed, oversized and idle connections, over raw sockets:
nothing a client does plants a visit, hangs the server or gets a 5xx, and idle connections are bounded."""

from __future__ import annotations

import random
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.localmode import LocalMode, start_local_mode, wait_for
from tests.support.events import DEFAULT_UA
from visitor_tracker.local.listener import MAX_CONNECTIONS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-processes")]

STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")
ROUTES = ("/", "/status", "/dashboard", "/count?page=/a", "/badge.svg?page=/a", "/nope")


@pytest.fixture(scope="module")
def mode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMode]:
    running = start_local_mode(tmp_path_factory.mktemp("bounds"), "--in-memory")
    try:
        yield running
    finally:
        running.kill()


def _address(mode: LocalMode) -> tuple[str, int]:
    parts = urlsplit(mode.url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _exchange(mode: LocalMode, payload: bytes, *, close_after_send: bool = False) -> bytes:
    """Send raw bytes on a new connection; what came back before the server closed it (5 s at most)."""
    with socket.create_connection(_address(mode), timeout=5) as conn:
        conn.sendall(payload)
        if close_after_send:
            return b""
        chunks = []
        while True:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and payload.startswith(b"GET  "):
                break
        return b"".join(chunks)


def _count(mode: LocalMode) -> int:
    return int(mode.status()["visitor_count"])


def _threads(mode: LocalMode) -> int:
    status = Path(f"/proc/{mode.process.pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]


def test_requests_abandoned_before_their_headers_ended_count_nothing(mode: LocalMode) -> None:
    before = _count(mode)
    # GIVEN 30 clients that send a visit's request line and some headers, then leave
    for i in range(30):
        _exchange(
            mode,
            f"GET /?page=/gone{i} HTTP/1.1\r\nHost: a\r\nUser-Agent: {DEFAULT_UA}\r\n".encode(),
            close_after_send=True,
        )
    # AND one whole visit after them
    assert httpx.get(f"{mode.url}/", params={"page": "/whole"}, headers={"User-Agent": DEFAULT_UA}).status_code == 200
    # THEN only the whole one is counted
    assert wait_for(lambda: _count(mode) == before + 1, timeout=30), mode.output()
    assert _count(mode) == before + 1


def test_a_malformed_request_line_gets_a_status_line(mode: LocalMode) -> None:
    for payload in (b"GET  HTTP/1.1\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/1.1 extra\r\n\r\n"):
        answer = _exchange(mode, payload)
        assert answer.startswith(b"HTTP/1.1 400 "), (payload, answer[:80])


def test_a_large_body_is_refused_with_413_and_the_connection_closed(mode: LocalMode) -> None:
    body = b"x" * 100_000
    answer = _exchange(
        mode, b"POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nContent-Length: 100000\r\n\r\n" + body
    )
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]  # and _exchange returned: the server closed it


def test_idle_connections_are_bounded(mode: LocalMode) -> None:
    baseline = _threads(mode)
    # GIVEN more idle connections than the listener serves at once
    idle = [socket.create_connection(_address(mode), timeout=5) for _ in range(MAX_CONNECTIONS + 44)]
    try:
        assert wait_for(lambda: _threads(mode) >= baseline + MAX_CONNECTIONS - 5, timeout=10)
        # THEN the threads stop at the bound: the connections beyond it were answered 503 and closed
        assert _threads(mode) <= baseline + MAX_CONNECTIONS + 16  # slack: the event source mapping's own threads
        refused = 0
        for conn in idle[-44:]:
            data = conn.recv(1024)
            refused += data.startswith(b"HTTP/1.1 503 ")
        assert refused == 44
    finally:
        for conn in idle:
            conn.close()


def _malformed(rng: random.Random) -> bytes:
    """One request broken in one of several ways (none is a whole, valid visit)."""
    route = rng.choice(ROUTES)
    kind = rng.randrange(6)
    if kind == 0:
        return f"{rng.choice(['GET', 'POST', 'BREW', ''])}  HTTP/1.1\r\n\r\n".encode()
    if kind == 1:
        return f"GET {route} HTTP/1.1\r\nHost: a\r\nX-Junk: {'y' * rng.randrange(1, 2000)}".encode()  # never ends
    if kind == 2:
        return f"POST {route} HTTP/1.1\r\nHost: a\r\nContent-Length: {rng.randrange(20_000, 90_000)}\r\n\r\n".encode()
    if kind == 3:
        return f"GET {route} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".encode()
    if kind == 4:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) + b"\r\n\r\n"
    return (
        f"{rng.choice(['PUT', 'DELETE', 'PATCH'])} {route} HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc".encode()
    )


def test_a_seeded_fuzz_of_malformed_requests_gets_no_5xx_no_hang_and_counts_nothing(mode: LocalMode) -> None:
    rng = random.Random(20261204)
    before = _count(mode)
    statuses = []
    for _ in range(300):
        payload = _malformed(rng)
        answer = _exchange(mode, payload, close_after_send=payload.endswith(b"y") and b"X-Junk" in payload)
        if answer:
            match = STATUS_LINE.match(answer)
            assert match, (payload[:60], answer[:60])
            statuses.append(int(match.group(1)))
    assert statuses and max(statuses) < 500, sorted(set(statuses))
    # AND the server still answers, and counted nothing
    assert httpx.get(f"{mode.url}/status", headers=mode.auth, timeout=10).status_code == 200
    assert _count(mode) == before
