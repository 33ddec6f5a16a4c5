"""Access-log lines as requests: nginx/Apache "combined" and CloudFront standard logs (pure).

The tracker only sees clients that run its JavaScript; most crawlers (AI crawlers first) never do.
Their requests are in the web server's or CDN's access log: ``visitor-tracker import-logs`` reads
them with this parser and tallies the automated ones (``functions.model.bots``) into the
automated-traffic aggregates. A future S3-notified function would reuse the same parser.

- combined (nginx's default ``combined``, Apache's ``%h %l %u %t "%r" %>s %b "%{Referer}i"
  "%{User-agent}i"``); extra fields after the User-Agent (nginx ``$request_time`` ...) are ignored;
- CloudFront standard logs (the legacy format: a ``#Version`` and a ``#Fields`` header, then one
  tab-separated line a request; the User-Agent URL-encoded). The ``#Fields`` line says which column
  is which; without one the documented order is assumed.

A line that is neither raises ``BadLine`` with a short reason; the caller counts and reports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from urllib.parse import unquote

MAX_LINE_CHARS: Final = 16_384  # longer lines are malformed or hostile, not requests worth a tally

_COMBINED: Final = re.compile(
    r'^\S+ \S+ .*?\[(?P<time>[^\]]+)\] "(?P<method>[A-Z]{3,10}) (?P<target>\S+)(?: [^"]*)?" (?P<status>\d{3}) \S+'
    r' "(?P<referrer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)"'
)
_CLOUDFRONT_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}\t")
# The documented field order of CloudFront standard logs (legacy), used when no #Fields line came first.
CLOUDFRONT_FIELDS: Final = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent)"
    " cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken"
    " x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status"
    " fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len"
    " sc-range-start sc-range-end"
).split()


class BadLine(ValueError):
    """A line that is not a request of a known log format."""


@dataclass(frozen=True)
class Hit:
    """One request of the log: when, which page, by whom, answered how."""

    when: datetime
    method: str
    path: str
    user_agent: str
    status: int


@dataclass
class LogParser:
    """Parses one file's lines in order (a CloudFront ``#Fields`` header applies to the lines after it)."""

    fields: tuple[str, ...] = field(default_factory=lambda: tuple(CLOUDFRONT_FIELDS))

    def parse(self, line: str) -> Hit | None:
        """The request on ``line``; None for a header, comment or blank line; ``BadLine`` otherwise."""
        text = line.rstrip("\r\n")
        if not text.strip():
            return None
        if len(text) > MAX_LINE_CHARS:
            raise BadLine(f"longer than {MAX_LINE_CHARS} characters")
        if text.startswith("#"):
            if text.startswith("#Fields:"):
                self.fields = tuple(text[len("#Fields:") :].split())
            return None
        if _CLOUDFRONT_DATE.match(text):
            return self._cloudfront(text)
        return _combined(text)

    def _cloudfront(self, text: str) -> Hit:
        values = dict(zip(self.fields, text.split("\t"), strict=False))
        try:
            when = datetime.strptime(f"{values['date']} {values['time']}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            status = int(values.get("sc-status", "0") or 0)
            path = values["cs-uri-stem"]
            agent = values.get("cs(User-Agent)", "-")
        except (KeyError, ValueError) as exc:
            raise BadLine(f"not a CloudFront log line ({exc})") from None
        if not path.startswith("/"):
            raise BadLine("CloudFront line without a path")
        return Hit(when, values.get("cs-method", "GET"), path, _cloudfront_text(agent), status)


def _cloudfront_text(value: str) -> str:
    """A CloudFront-encoded field: "-" for none, URL-encoded (some characters twice: ``%2520``)."""
    if value == "-":
        return ""
    text = unquote(value)
    return unquote(text) if "%20" in text or "%25" in text else text


def _combined(text: str) -> Hit:
    found = _COMBINED.match(text)
    if found is None:
        raise BadLine("neither a combined (nginx/Apache) nor a CloudFront log line")
    try:
        when = datetime.strptime(found["time"], "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC)
    except ValueError:
        raise BadLine(f"unreadable time {found['time'][:40]!r}") from None
    agent = found["agent"].replace('\\"', '"').replace("\\\\", "\\")
    return Hit(when, found["method"], found["target"], "" if agent == "-" else agent, int(found["status"]))
