"""``GET /script.js``: the site's one script tag, assembled from ``functions/core/js/`` and served as a
long-cached static asset. In core because two functions serve it: status behind an API (REST, HTTP
API, the CloudFront front door) and ingest behind its public function URL (status's URL is signed).

The core script (pageviews, client-side navigation, the ``vt(name, props)`` events API) is always
there; ``?ext=outbound,downloads,404`` appends opt-in extensions, each a separate file that only calls
``vt``, so a site pays only for what it uses. The files are written compact by hand (no build step);
docs/script.md has the readable description and tests/unit/test_script.py the size budget.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from functions.core import http
from functions.core.environment import ENVIRONMENT

SCRIPT_DIR = Path(__file__).with_name("js")
CORE = "core"
EXTENSIONS = ("outbound", "downloads", "404")  # the order they are appended in, whatever the query says
EXTENSION_PARAMETER = "ext"
CONTENT_TYPE = "text/javascript; charset=utf-8"
# A day: the script changes only with a deployment, and the ETag makes a later revalidation a 304.
CACHE_CONTROL = "public, max-age=86400"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Any site may embed it, also one that sets Cross-Origin-Embedder-Policy.
    "Cross-Origin-Resource-Policy": "cross-origin",
}


class UnknownExtension(ValueError):
    """``?ext=`` names something that is not an extension (the answer is a 400)."""


@dataclass(frozen=True)
class Script:
    text: str
    etag: str


def source(name: str) -> str:
    """One part of the script, as shipped (the core or one extension)."""
    return (SCRIPT_DIR / f"{name}.js").read_text(encoding="utf-8").strip()


def extensions_of(query: str | None) -> tuple[str, ...]:
    """The extensions ``?ext=`` asks for, in their fixed order (so equal sets are one cached file)."""
    asked = {part.strip().lower() for part in (query or "").split(",") if part.strip()}
    unknown = sorted(asked.difference(EXTENSIONS))
    if unknown:
        raise UnknownExtension(
            f"unknown script extension(s): {', '.join(unknown)[:100]}; known: {', '.join(EXTENSIONS)}"
        )
    return tuple(name for name in EXTENSIONS if name in asked)


@ENVIRONMENT.cached
@cache
def assemble(extensions: tuple[str, ...]) -> Script:
    """The core followed by the extensions, one statement each, with a strong ETag of the result."""
    text = "\n".join(source(name) for name in (CORE, *extensions)) + "\n"
    return Script(text=text, etag='"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"')


def response(request: http.Request) -> http.Response:
    """The script for ``request`` (a 304 when its ``If-None-Match`` names the same build), or a 400."""
    if request.method != "GET":
        return http.method_not_allowed(("GET",))
    try:
        script = assemble(extensions_of(request.query.get(EXTENSION_PARAMETER)))
    except UnknownExtension as exc:
        return http.error_response(400, str(exc))
    headers = {**HEADERS, "ETag": script.etag}
    if script.etag in (request.header("if-none-match") or ""):
        return {
            "statusCode": 304,
            "headers": {**headers, "Cache-Control": CACHE_CONTROL},
            "body": "",
            "isBase64Encoded": False,
        }
    return http.text_response(200, script.text, CONTENT_TYPE, headers=headers, cache_control=CACHE_CONTROL)
