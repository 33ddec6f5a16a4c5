"""The visit record: what ingest puts on the queue and the writer logs.

Versioned and validated on both sides: the writer rejects (and so dead-letters) a message whose
schema it does not know, instead of logging garbage.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.core.definitions import MAX_PATH_LENGTH, MAX_REFERRER_LENGTH, MAX_USER_AGENT_LENGTH, VISIT_SCHEMA_VERSION

# Limits the writer enforces on what it did not produce itself (a message can be hand-made or
# corrupted): a record over them fails alone instead of breaking a DynamoDB call for its batch mates.
MAX_VISIT_ID_LENGTH = 128
MAX_IP_LENGTH = 64
MAX_VISITOR_LENGTH = 64
_FIELD_LIMITS = {
    "visit_id": MAX_VISIT_ID_LENGTH,
    "timestamp": 40,
    "user_agent": MAX_USER_AGENT_LENGTH,
    "path": MAX_PATH_LENGTH,
    "ip": MAX_IP_LENGTH,
    "referrer": MAX_REFERRER_LENGTH,
    "visitor": MAX_VISITOR_LENGTH,
    "bot_class": 16,
    "country": 2,
    "utm_source": 64,
    "utm_medium": 64,
    "utm_campaign": 64,
    "event": 64,
    "hostname": 100,
    "screen": 16,
    "site": 100,
}
OPTIONAL_SINCE_ISSUE_21 = ("event", "props", "hostname", "screen", "site")
MAX_EVENT_PROPS = 10
MAX_EVENT_PROP_CHARS = 256
# Visits older than this cannot be in a queue (4 days) or a DLQ (14 days) any more; newer than
# "now + a day" are clock garbage. Both would also overflow date arithmetic at the extremes.
MAX_VISIT_AGE = timedelta(days=30)
MAX_CLOCK_SKEW = timedelta(days=1)


class InvalidVisit(ValueError):
    """A message body that is not a visit record of a known schema version."""


@dataclass(frozen=True)
class Visit:
    visit_id: str  # the API Gateway request id: also the correlation id across SQS
    timestamp: str  # ISO-8601 UTC, e.g. 2026-11-26T13:05:09.123Z
    ip: str | None  # per IP_MODE: full, truncated, a keyed hash, or None
    user_agent: str  # truncated to MAX_USER_AGENT_LENGTH
    path: str
    referrer: str | None
    is_bot: bool
    counted: bool  # whether this visit incremented the counter
    visitor: str | None = None  # daily-salted hash for unique-visitor counts; None with IP_MODE=none
    bot_class: str | None = None  # functions.model.bots.CLASSES for automated traffic, None for a browser
    country: str | None = None  # ISO 3166 alpha-2 from CloudFront-Viewer-Country; None where the front door gives none
    utm_source: str | None = None  # campaign parameters of the visited page's URL
    utm_medium: str | None = None
    utm_campaign: str | None = None
    # A custom event (functions.model.events) instead of a pageview: never counted, never a page tally.
    event: str | None = None
    props: dict[str, str] | None = None
    hostname: str | None = None  # the page's host (the script's h=, else the Origin or Referer header's)
    screen: str | None = None  # functions.model.channels.screen_class of the viewport width the script sends
    # The site (a domain of the ``SITES`` setting) the visit belongs to; None: the deployment's default site,
    # whose items keep the keys of a one-site deployment (functions.model.keys.in_site).
    site: str | None = None
    schema_version: int = VISIT_SCHEMA_VERSION

    @property
    def when(self) -> datetime:
        return parse_timestamp(self.timestamp)

    def to_json(self) -> str:
        """The message body. Issue 21's fields are left out when empty, so a pageview without them is the
        same message a writer of the previous release reads (a deployment updates the functions apart)."""
        data = asdict(self)
        for name in OPTIONAL_SINCE_ISSUE_21:
            if data[name] is None:
                del data[name]
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, body: str) -> Visit:
        try:
            data = json.loads(body)
        except (TypeError, ValueError) as exc:
            raise InvalidVisit(f"body is not JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> Visit:
        if not isinstance(data, dict):
            raise InvalidVisit("body is not a JSON object")
        version = data.get("schema_version")
        if type(version) is not int or version != VISIT_SCHEMA_VERSION:  # True == 1 in Python
            raise InvalidVisit(f"unknown schema_version {data.get('schema_version')!r}")
        required_str = ("visit_id", "timestamp", "user_agent", "path")
        optional_str = (
            "ip",
            "referrer",
            "visitor",
            "bot_class",
            "country",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "event",
            "hostname",
            "screen",
            "site",
        )
        for name in required_str:
            if not isinstance(data.get(name), str) or (name != "user_agent" and not data[name]):
                raise InvalidVisit(f"field {name!r} must be a non-empty string")
        for name in optional_str:
            if data.get(name) is not None and not isinstance(data[name], str):
                raise InvalidVisit(f"field {name!r} must be a string or null")
        for name in ("is_bot", "counted"):
            if not isinstance(data.get(name), bool):
                raise InvalidVisit(f"field {name!r} must be a boolean")
        for name, limit in _FIELD_LIMITS.items():
            value = data.get(name)
            if isinstance(value, str) and len(value) > limit:
                raise InvalidVisit(f"field {name!r} is longer than {limit} characters")
        _check_props(data.get("props"))
        if "#" in data["visit_id"]:
            raise InvalidVisit("field 'visit_id' must not contain '#'")
        if "#" in (data.get("site") or ""):
            raise InvalidVisit("field 'site' must not contain '#'")
        try:
            when = parse_timestamp(data["timestamp"])
        except (ValueError, OverflowError) as exc:
            raise InvalidVisit(f"bad timestamp {data['timestamp']!r}") from exc
        now = utc_now()
        if not now - MAX_VISIT_AGE <= when <= now + MAX_CLOCK_SKEW:
            raise InvalidVisit(f"timestamp {data['timestamp']!r} is outside the accepted window")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidVisit(f"unknown field(s): {', '.join(sorted(unknown))}")
        return cls(**data)


def _check_props(props: Any) -> None:
    if props is None:
        return
    if not isinstance(props, dict) or len(props) > MAX_EVENT_PROPS:
        raise InvalidVisit(f"field 'props' must be an object of at most {MAX_EVENT_PROPS} entries")
    for key, value in props.items():
        if not isinstance(value, str) or len(key) > MAX_EVENT_PROP_CHARS or len(value) > MAX_EVENT_PROP_CHARS:
            raise InvalidVisit("field 'props' must map short names to short strings")


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def parse_timestamp(value: str) -> datetime:
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        raise ValueError("timestamp without a time zone")
    return ts.astimezone(UTC)
