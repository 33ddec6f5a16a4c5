"""The sites one deployment counts: each with its own counts, tallies, uniques, goals, exports and badges.

Declared as the ``SITES`` environment variable (the ``sites`` cdk.json context key): either site domains
separated by commas (``blog.example,shop.example``) or a JSON list of objects with ``domain``, optional
``origins`` (the page origins allowed to count visits for it; none: any) and optional
``public_counters`` (``all``, ``none`` or page patterns: this site's /count and /badge.svg, instead of
the deployment's ``PUBLIC_COUNTERS``).

The first site is the default: the site of a request that names none, and the one whose items keep the
keys of a one-site deployment (so a deployment of before keeps its data by listing its site first). A
deployment without ``SITES`` has one site that answers to any name, as before.

Here in ``core`` (not ``model``) because the settings parse them once at a cold start; which site a
request is for is the model's (``functions.model.sites``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_SITES = 50
MAX_DOMAIN_LENGTH = 100  # the visit record's limit for its site field
DEFAULT_SITE_NAME = "default"  # the one site of a deployment without SITES
_DOMAIN = re.compile(r"^(?=.{1,100}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_ORIGIN = re.compile(r"^https?://[^/\s,]+$")


class InvalidSites(ValueError):
    """A site list that cannot be used: the message says which entry and why."""


@dataclass(frozen=True)
class Site:
    """One site: its domain (its name everywhere), the origins allowed to count for it, its counters."""

    domain: str
    origins: tuple[str, ...] = ()  # () = any origin
    public_counters: tuple[str, ...] | None = None  # None: the deployment's PUBLIC_COUNTERS

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"domain": self.domain}
        if self.origins:
            data["origins"] = list(self.origins)
        if self.public_counters is not None:
            data["public_counters"] = ",".join(self.public_counters) or "none"
        return data


def domain_name(raw: str) -> str:
    """A site name as the owner may write it (``Blog.Example``, ``https://blog.example/``), normalised."""
    text = raw.strip().lower()
    text = re.sub(r"^https?://", "", text).rstrip("/")
    return text


def counter_patterns(raw: str) -> tuple[str, ...]:
    """``all`` / ``none`` / comma-separated page patterns starting with ``/``, as PUBLIC_COUNTERS takes them."""
    text = raw.strip()
    if not text or text.lower() == "all":
        return ("*",)
    if text.lower() == "none":
        return ()
    patterns = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [p for p in patterns if not p.startswith("/")]
    if bad:
        raise InvalidSites(f"public_counters must be all, none or page patterns starting with /, got {bad[0]!r}")
    return patterns


def _site(entry: Any) -> Site:
    if isinstance(entry, str):
        entry = {"domain": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("domain"), str):
        raise InvalidSites(f"a site is a domain or an object with a domain, got {entry!r}")
    unknown = set(entry) - {"domain", "origins", "public_counters"}
    if unknown:
        raise InvalidSites(f"unknown site option(s) {', '.join(sorted(unknown))} for {entry['domain']!r}")
    domain = domain_name(entry["domain"])
    if not _DOMAIN.match(domain) or domain == DEFAULT_SITE_NAME:
        raise InvalidSites(f"a site's domain must be a host name like example.com, got {entry['domain']!r}")
    raw_origins = entry.get("origins", [])
    if isinstance(raw_origins, str):
        raw_origins = raw_origins.split(",")
    if not isinstance(raw_origins, list) or not all(isinstance(o, str) for o in raw_origins):
        raise InvalidSites(f"origins of {domain!r} must be a list of origins")
    origins = tuple(o.strip().rstrip("/") for o in raw_origins if o.strip())
    bad = [o for o in origins if not _ORIGIN.match(o)]
    if bad:
        raise InvalidSites(f"origins of {domain!r} must be scheme://host[:port] origins, got {bad[0]!r}")
    counters = entry.get("public_counters")
    if counters is not None and not isinstance(counters, str):
        raise InvalidSites(f"public_counters of {domain!r} must be all, none or patterns, got {counters!r}")
    return Site(domain, origins, counter_patterns(counters) if counters is not None else None)


def parse_sites(raw: str | list[Any]) -> tuple[Site, ...]:
    """The sites of a ``SITES`` value (domains separated by commas, or a JSON list); () when empty."""
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return ()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except ValueError as exc:
                raise InvalidSites(f"not a JSON list: {exc}") from exc
        else:
            raw = [part for part in text.split(",") if part.strip()]
    if not isinstance(raw, list):
        raise InvalidSites(f"sites must be a list, got {raw!r}")
    sites = tuple(_site(entry) for entry in raw)
    if len(sites) > MAX_SITES:
        raise InvalidSites(f"at most {MAX_SITES} sites, got {len(sites)}")
    seen: set[str] = set()
    for site in sites:
        if site.domain in seen:
            raise InvalidSites(f"site {site.domain!r} is listed twice")
        seen.add(site.domain)
    return sites


def format_sites(sites: tuple[Site, ...]) -> str:
    """The ``SITES`` value of a parsed list (JSON, so origins and counters carry over)."""
    return json.dumps([s.to_json() for s in sites], separators=(",", ":")) if sites else ""
