"""Pure rules of a visit: which page, which referrer, what is kept of the client. No AWS here.

What the visit record keeps, and why:
- ``user_agent``: control characters removed, then cut to ``MAX_USER_AGENT_LENGTH`` (512) characters.
  Real browsers send 100-300; longer values are junk or probes, and the cap bounds the log item size.
  Bot detection looks at the header before the cut (its first kilobyte).
- ``path``: ``?page=`` if given, else the path of the Referer, else ``/``; control characters removed,
  query string and fragment dropped, ``.``/``..``/``//`` resolved, cut to ``MAX_PATH_LENGTH`` (256).
- ``referrer``: ``?ref=`` if given (the site snippet sends ``document.referrer``: where the visitor
  came from), else the Referer header (for a tracker call that is usually the site's own page); without
  its query string and fragment (they often carry tokens or search terms), cut to
  ``MAX_REFERRER_LENGTH``.
- ``ip`` / ``visitor``: see ``functions.model.privacy``.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from functions.core.definitions import MAX_PATH_LENGTH, MAX_REFERRER_LENGTH, MAX_USER_AGENT_LENGTH
from functions.core.http import Request
from functions.core.settings import Settings
from functions.model.channels import host_of, screen_class
from functions.model.privacy import apply_ip_mode, visitor_id
from functions.model.visit import Visit, format_timestamp

PAGE_PARAMETER = "page"
REFERRER_PARAMETER = "ref"
HOST_PARAMETER = "h"
WIDTH_PARAMETER = "w"
COUNTRY_HEADER = "cloudfront-viewer-country"
CAMPAIGN_PARAMETERS = ("utm_source", "utm_medium", "utm_campaign")
MAX_CAMPAIGN_LENGTH = 64
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")

# C0/C1 control characters, lone surrogates and the two non-characters SQS refuses in a message body.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Longest raw value we bother parsing: anything beyond is cut before URL parsing.
_MAX_RAW = 4096


def clean_text(value: str | None, max_length: int) -> str:
    """Text safe for a log line, a JSON message and DynamoDB: unsafe characters removed, stripped, cut."""
    if not value:
        return ""
    return _UNSAFE.sub("", value[: _MAX_RAW * 2]).strip()[:max_length]


def normalise_path(raw: str | None) -> str:
    """A page path for the aggregates: ``/`` based, no query/fragment, dot segments resolved, bounded."""
    text = clean_text(raw, _MAX_RAW)
    if not text:
        return "/"
    try:
        parts = urlsplit(text)
        # Only a full URL is parsed as one: "//a/b" is a path with a doubled slash, not a host.
        path = parts.path if parts.scheme and parts.netloc else text.split("?", 1)[0].split("#", 1)[0]
    except ValueError:  # e.g. a malformed IPv6 host in a full URL
        path = text.split("?", 1)[0].split("#", 1)[0]
    path = re.sub(r"\s+", " ", path).strip()
    if not path:
        return "/"
    normalised = posixpath.normpath("/" + path.lstrip("/"))
    normalised = "/" + normalised.lstrip("/")  # normpath keeps a leading "//"
    return normalised[:MAX_PATH_LENGTH]


def clean_referrer(raw: str | None) -> str | None:
    """The Referer without query string or fragment; None when empty."""
    text = clean_text(raw, _MAX_RAW)
    if not text:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts and parts.scheme and parts.netloc:
        text = f"{parts.scheme}://{parts.netloc}{parts.path}"
    else:
        text = text.split("?", 1)[0].split("#", 1)[0]
    return text[:MAX_REFERRER_LENGTH] or None


def page_of(request: Request) -> str:
    """The visited page: ``?page=``, else the Referer's path (the page that called us), else ``/``."""
    page = request.query.get(PAGE_PARAMETER)
    if page and clean_text(page, _MAX_RAW):
        return normalise_path(page)
    if request.referer:
        try:
            return normalise_path(urlsplit(clean_text(request.referer, _MAX_RAW)).path)
        except ValueError:
            return "/"
    return "/"


def referrer_of(request: Request) -> str | None:
    """Where the visitor came from: ``?ref=`` (document.referrer, may be empty), else the Referer header."""
    if REFERRER_PARAMETER in request.query:
        return clean_referrer(request.query[REFERRER_PARAMETER])
    return clean_referrer(request.referer)


def hostname_of(request: Request) -> str | None:
    """The page's host: the script's ``?h=``, else the Origin of the tracker call, else its Referer's host."""
    for candidate in (request.query.get(HOST_PARAMETER), request.origin, request.referer):
        host = host_of(clean_text(candidate, _MAX_RAW))
        if host:
            return host
    return None


def country_of(request: Request) -> str | None:
    """The viewer's country code, from the header CloudFront (and REST edge endpoints) add."""
    value = (request.header(COUNTRY_HEADER) or "").strip().upper()
    return value if _COUNTRY_RE.match(value) else None


def campaign_of(request: Request) -> tuple[str | None, str | None, str | None]:
    """``utm_source`` / ``utm_medium`` / ``utm_campaign``: from the request itself, or else from the
    query string of the page URL the snippet sends (``?page=/post?utm_source=news``)."""
    page = request.query.get(PAGE_PARAMETER) or ""
    from_page = parse_qs(page.split("?", 1)[1].split("#", 1)[0]) if "?" in page else {}
    found = []
    for name in CAMPAIGN_PARAMETERS:
        raw = request.query.get(name) or next(iter(from_page.get(name, [])), None)
        found.append(clean_text(raw, MAX_CAMPAIGN_LENGTH).lower() or None)
    return found[0], found[1], found[2]


def _dnt(request: Request) -> bool:
    return (request.header("dnt") or "").strip() == "1" or (request.header("sec-gpc") or "").strip() == "1"


def excluded(request: Request, settings: Settings, path: str) -> str | None:
    """Why the owner's settings leave this visit out (not counted, not logged), or None."""
    if settings.respect_dnt and _dnt(request):
        return "do-not-track"
    if settings.exclude_paths:
        import fnmatch  # only owners who exclude paths pay its import on the cold start

        if any(fnmatch.fnmatchcase(path, p) for p in settings.exclude_paths):
            return "excluded path"
    if settings.exclude_networks and request.source_ip:
        address = ipaddress.ip_address(request.source_ip)
        if any(address.version == n.version and address in n for n in settings.exclude_networks):
            return "excluded address"
    return None


def build_visit(
    request: Request,
    *,
    page: str,
    now: datetime,
    ip_mode: str,
    salt: bytes | None,
    bot_class: str | None,
    counted: bool,
    event: tuple[str, dict[str, str]] | None = None,
    site: str | None = None,
) -> Visit:
    """The visit record for a request (``page`` is its ``page_of``; ``salt`` is the day's salt, None in ``none``
    mode or if unavailable; ``event`` its name and props when it is a custom event, not a pageview)."""
    user_agent = clean_text(request.user_agent, MAX_USER_AGENT_LENGTH)
    source, medium, campaign = campaign_of(request)
    return Visit(
        visit_id=request.request_id,
        timestamp=format_timestamp(now),
        ip=apply_ip_mode(ip_mode, request.source_ip, salt),
        user_agent=user_agent,
        path=page,
        referrer=referrer_of(request),
        is_bot=bot_class is not None,
        counted=counted,
        visitor=visitor_id(ip_mode, request.source_ip, user_agent, salt),
        bot_class=bot_class,
        country=country_of(request),
        utm_source=source,
        utm_medium=medium,
        utm_campaign=campaign,
        hostname=hostname_of(request),
        screen=screen_class(request.query.get(WIDTH_PARAMETER)),
        event=event[0] if event else None,
        props=(event[1] or None) if event else None,
        site=site,
    )
