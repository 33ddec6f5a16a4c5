"""Which site a request is for, and what that site allows. Pure.

A visit, an event, ``/status``, ``/count`` and ``/badge.svg`` name their site with ``?site=`` (the script
sends its ``data-site``). With ``SITES`` set, a request naming no site is for the default (first) site and
a request naming a site not listed is refused (``UnknownSite``: a 404, counted nowhere). Without ``SITES``
the deployment has one site, whatever a request names (a script tag copied with any ``data-site`` works).

The default site is ``None`` in a visit record and in the key functions: its items keep the keys of a
one-site deployment (``functions.model.keys.in_site``), so listing a deployment's site first keeps its data.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from functions.core.settings import Settings
from functions.core.sites import DEFAULT_SITE_NAME, Site, domain_name

SITE_PARAMETER = "site"


class UnknownSite(ValueError):
    """A request named a site this deployment does not count."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown site {name[:100]!r}: this deployment does not count it")


def resolve(settings: Settings, requested: str | None) -> str | None:
    """The site a request is for: None for the default site, else the listed domain it names."""
    if not settings.sites or not requested or not requested.strip():
        return None
    name = domain_name(requested)
    if name == settings.sites[0].domain:
        return None
    if any(site.domain == name for site in settings.sites[1:]):
        return name
    raise UnknownSite(requested.strip())


def name_of(settings: Settings, site: str | None) -> str:
    """A site's name for people (the default site's domain, or ``default`` without SITES)."""
    return site if site is not None else settings.default_site


def site_of(settings: Settings, site: str | None) -> Site | None:
    """The declared site (None without SITES)."""
    wanted = name_of(settings, site)
    return next((s for s in settings.sites if s.domain == wanted), None)


def counter_patterns(settings: Settings, site: str | None) -> tuple[str, ...]:
    """The page patterns whose /count and /badge.svg answer anyone for this site."""
    declared = site_of(settings, site)
    if declared is not None and declared.public_counters is not None:
        return declared.public_counters
    return settings.public_counters


def origin_allowed(settings: Settings, site: str | None, origin: str | None, referer: str | None) -> bool:
    """Whether a page of this origin may count visits for the site: a site with ``origins`` accepts those
    only (the Origin header, else the Referer's origin); a request with neither (a server, curl) passes."""
    declared = site_of(settings, site)
    if declared is None or not declared.origins:
        return True
    if not origin and referer:
        try:
            parts = urlsplit(referer)
        except ValueError:
            return False
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
    return origin is None or origin.rstrip("/") in declared.origins


def lake_partitions(name: str, listed: Sequence[str]) -> tuple[str, ...]:
    """The lake's ``site`` values of a site: the default (first listed) site's rows written before ``SITES``
    listed it are under ``default``, the name of a deployment's one site."""
    if listed and name == listed[0] and name != DEFAULT_SITE_NAME:
        return (name, DEFAULT_SITE_NAME)
    return (name,)


def names(settings: Settings) -> list[str]:
    """Every site's name, the default first (the dashboard's site picker)."""
    return [s.domain for s in settings.sites] or [settings.default_site]
