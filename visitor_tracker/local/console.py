"""Local mode's console: its messages and the one status line."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from visitor_tracker.local.gateway import LocalGateway

PERIODIC_LINE_SECONDS = 10.0


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def warn(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")
    sys.stderr.flush()


def error(text: str) -> None:
    sys.stderr.write(f"error: {text}\n")
    sys.stderr.flush()


class Console:
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
            say(f"{datetime.now().strftime('%H:%M:%S')}  {text}")
            self._last, self._last_at = text.split("(")[0], time.monotonic()

    def done(self) -> None:
        if self._live:
            sys.stdout.write("\n")
            sys.stdout.flush()
