"""How a recorded value becomes a tally name: a page without its query, a referrer's host, a bounded label."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_PATH_CHARS = 100
MAX_HOST_CHARS = 100
MAX_LABEL_CHARS = 40
VISITOR_HASH_CHARS = 16
_HOST_RE = re.compile(r"^[a-z0-9._:\[\]-]+$", re.IGNORECASE)


def page_name(path: str) -> str:
    """The path without query string or fragment, truncated."""
    clean = path.split("?", 1)[0].split("#", 1)[0] or "/"
    return clean[:MAX_PATH_CHARS]


def referrer_name(referrer: str | None) -> str | None:
    """The referrer URL's host (lower case, no port), or None when there is no usable host."""
    if not referrer:
        return None
    try:
        host = urlsplit(referrer if "//" in referrer else "//" + referrer).hostname
    except ValueError:
        return None
    if not host or not _HOST_RE.match(host):
        return None
    return host.lower()[:MAX_HOST_CHARS]


def label(value: str) -> str:
    return (value.strip() or "Other")[:MAX_LABEL_CHARS]


def visitor_member(visitor: str) -> str:
    return visitor[:VISITOR_HASH_CHARS]
