"""Who may read the analytics: access tokens, shared links and public counters (pure: no I/O).

A token is ``<id>.<secret>``: ``id`` names its item (``owner``, or a shared link's id) so the status
function reads one item, and the secret is compared in constant time. Tokens travel in a header
(``Authorization: Bearer`` from the CLI, ``X-Visitor-Tracker-Token`` from the dashboard, which the
front door can forward), never in a URL the server sees:
a shared link carries its token in the fragment (``/dashboard#token=...``), which browsers keep
to themselves.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from fnmatch import fnmatchcase

from functions.core.definitions import TOKEN_HEADER
from functions.core.http import Request
from functions.core.settings import Settings
from functions.model import sites

OWNER_ID = "owner"
_TOKEN = re.compile(r"^([a-z0-9]{1,16})\.([A-Za-z0-9_-]{20,128})$")
_SHARE_ID = re.compile(r"^[a-z0-9]{1,16}$")
MAX_LABEL_LENGTH = 80


@dataclass(frozen=True)
class Presented:
    """A well-formed token from a request: which item to read, and the secret to compare."""

    token_id: str
    secret: str


def presented_token(request: Request) -> Presented | None:
    """The token of a request (``Authorization: Bearer``, else the dashboard's ``X-Visitor-Tracker-Token``),
    or None when there is none or it is malformed."""
    scheme, _, value = (request.header("authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        value = request.header(TOKEN_HEADER) or ""
    match = _TOKEN.match(value.strip())
    return Presented(match.group(1), match.group(2)) if match else None


def secret_matches(stored: str | None, presented: str) -> bool:
    """Constant-time comparison, so the answer time tells nothing about how much of a guess was right."""
    if not stored:
        hmac.compare_digest(presented.encode(), presented.encode())  # same work either way
        return False
    return hmac.compare_digest(stored.encode(), presented.encode())


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def token_of(token_id: str, secret: str) -> str:
    return f"{token_id}.{secret}"


def new_share_id() -> str:
    return secrets.token_hex(4)


def valid_share_id(value: str) -> bool:
    return bool(_SHARE_ID.match(value)) and value != OWNER_ID


def counter_is_public(settings: Settings, page: str, site: str | None = None) -> bool:
    """Whether /count and /badge.svg answer anyone for ``page`` of ``site`` (its ``public_counters``, else
    the deployment's PUBLIC_COUNTERS patterns)."""
    return any(fnmatchcase(page, pattern) for pattern in sites.counter_patterns(settings, site))
