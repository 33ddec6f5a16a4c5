"""The dashboard page: read once per execution environment, served with a strict CSP.

The page is self-contained (inline ``<style>`` and ``<script>``, no external sources), so the
Content-Security-Policy allows exactly those inline blocks by their SHA-256 hashes, computed
here from the file itself: editing the page can never leave a stale hash in the header.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from functions.core.environment import ENVIRONMENT

DASHBOARD_PATH = Path(__file__).with_name("dashboard.html")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_INLINE = re.compile(r"<(script|style)\b([^>]*)>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Page:
    html: str
    content_security_policy: str


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(html: str) -> str:
    """A CSP allowing the page's own inline blocks and requests to its own origin, nothing else."""
    scripts: list[str] = []
    styles: list[str] = []
    for tag, attributes, body in _INLINE.findall(_COMMENT.sub("", html)):
        if tag.lower() == "script" and "src=" not in attributes.lower():
            scripts.append(_hash(body))
        elif tag.lower() == "style":
            styles.append(_hash(body))
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + (" ".join(dict.fromkeys(scripts)) or "'none'"),
            "style-src " + (" ".join(dict.fromkeys(styles)) or "'none'"),
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


@ENVIRONMENT.cached
@cache
def load_page() -> Page | None:
    """The page and its CSP, or None when the file is not deployed (the handler answers 404)."""
    try:
        html = DASHBOARD_PATH.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    return Page(html=html, content_security_policy=content_security_policy(html))
