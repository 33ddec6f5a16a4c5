"""Several sites in one deployment (issue 21), through the real ingest, writer and status handlers.

Each site has its own count, tallies, uniques, goals, ranges and page counters; a request naming a site the
deployment does not list is refused and counted nowhere; a one-site deployment keeps its data when its site
is listed first.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.status.handler import handler as status_handler
from tests.integration.conftest import Ingest
from tests.support.access import signed
from tests.support.events import http_v2_event, rest_event

SITES = "blog.example,shop.example"
pytestmark = pytest.mark.parametrize("dynamodb_backend", ["dynamodb-local"], indirect=True)


def read(path: str, query: dict[str, str] | None = None, *, owner: bool = True) -> tuple[int, dict[str, Any]]:
    event = http_v2_event(path, query=query or {})
    response = status_handler(signed(event) if owner else event, None)
    is_json = response["headers"]["Content-Type"].startswith("application/json")
    return response["statusCode"], json.loads(response["body"]) if is_json else {}


def status(site: str | None = None, **query: str) -> dict[str, Any]:
    code, body = read("/status", {**query, **({"site": site} if site else {})})
    assert code == 200, body
    return body


def visit(page: str, ip: str, site: str | None = None, **headers: str) -> dict[str, Any]:
    query = {"page": page, **({"site": site} if site else {})}
    return rest_event(query=query, source_ip=ip, headers={"User-Agent": FIREFOX, **headers})


FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def pages(body: dict[str, Any]) -> dict[str, int]:
    return {p["path"]: p["visits"] for p in body["top_pages"]}


def test_each_site_has_its_own_count_tallies_uniques_goals_and_counters(ingest: Ingest, monkeypatch: Any) -> None:
    ingest.configure(monkeypatch, SITES=SITES, GOALS="Signup")
    # GIVEN three pageviews of the blog (the default site: named, or not named at all) by two visitors,
    # and two of the shop by two others, one of whom signs up
    answers = [
        ingest(visit("/post", "198.51.100.1")).body,
        ingest(visit("/post", "198.51.100.2", "blog.example")).body,
        ingest(visit("/about", "198.51.100.2", "Blog.Example")).body,
        ingest(visit("/cart", "198.51.100.3", "shop.example")).body,
        ingest(visit("/", "198.51.100.4", "shop.example")).body,
    ]
    signup = rest_event(query={"e": "Signup", "page": "/cart", "site": "shop.example"}, source_ip="198.51.100.3")
    assert ingest(signup).body == {"event": "Signup"}
    # THEN each answer counted its own site
    assert [a["visitor_count"] for a in answers] == [1, 2, 3, 1, 2]

    # WHEN the writer counts the queue (one batch holds both sites)
    ingest.drain()

    # THEN each site's /status holds its own visits only
    blog, shop = status(), status("shop.example")
    assert (blog["site"], blog["sites"]) == ("blog.example", ["blog.example", "shop.example"])
    assert status("blog.example")["visitor_count"] == blog["visitor_count"] == 3
    assert pages(blog) == {"/post": 2, "/about": 1}
    assert blog["unique_visitors_today"] == 2
    assert [(g["goal"], g["completions"]) for g in blog["goals"]] == [("Signup", 0)]
    assert shop["site"] == "shop.example"
    assert shop["visitor_count"] == 2
    assert pages(shop) == {"/cart": 1, "/": 1}
    assert shop["unique_visitors_today"] == 2
    assert [(g["goal"], g["completions"], g["unique_converters"], g["conversion_rate"]) for g in shop["goals"]] == [
        ("Signup", 1, 1, 0.5)
    ]
    # ... over a range too
    assert status("shop.example", range="7d")["range"]["visits"] == 2
    assert status(range="7d")["range"]["visits"] == 3
    # ... and in each site's page counters (public, no token)
    assert read("/count", {"page": "/cart", "site": "shop.example"}, owner=False) == (
        200,
        {"page": "/cart", "today": 1, "total": 1},
    )
    assert read("/count", {"page": "/cart"}, owner=False)[1]["total"] == 0
    assert read("/count", {"page": "/post"}, owner=False)[1]["total"] == 2


def test_an_unknown_site_is_refused_and_counted_nowhere(ingest: Ingest, monkeypatch: Any) -> None:
    ingest.configure(monkeypatch, SITES=SITES)
    assert ingest(visit("/", "198.51.100.1", "shop.example")).status == 200
    # WHEN a page names a site the deployment does not list: a visit, an event, a read
    refused = ingest(visit("/", "198.51.100.1", "evil.example"))
    event = ingest(rest_event(query={"e": "Signup", "site": "evil.example"}))
    # THEN each gets a 404 with a JSON message, and nothing reaches the queue
    assert (refused.status, refused.body) == (
        404,
        {"error": "unknown site 'evil.example': this deployment does not count it"},
    )
    assert event.status == 404
    assert [v.site for v in ingest.queued()] == ["shop.example"]
    for path in ("/status", "/count", "/badge.svg"):
        code, body = read(path, {"page": "/", "site": "evil.example"})
        assert (code, body["error"]) == (404, "unknown site 'evil.example': this deployment does not count it")


def test_a_site_with_origins_counts_pages_of_those_origins_only(ingest: Ingest, monkeypatch: Any) -> None:
    sites = [{"domain": "blog.example"}, {"domain": "shop.example", "origins": ["https://shop.example"]}]
    ingest.configure(monkeypatch, SITES=json.dumps(sites), ALLOWED_ORIGINS="https://blog.example")
    own = ingest(visit("/", "198.51.100.1", "shop.example", Origin="https://shop.example"))
    foreign = ingest(visit("/", "198.51.100.1", "shop.example", Origin="https://blog.example"))
    by_referer = ingest(visit("/", "198.51.100.1", "shop.example", Referer="https://copy.example/page"))
    assert own.status == 200
    assert own.headers["Access-Control-Allow-Origin"] == "https://shop.example"  # the site's origins are CORS's too
    assert (foreign.status, by_referer.status) == (403, 403)
    assert foreign.body == {"error": "this page's origin may not count visits for this site"}
    assert [v.site for v in ingest.queued()] == ["shop.example"]


def test_each_site_may_keep_its_counters_private(ingest: Ingest, monkeypatch: Any) -> None:
    sites = [{"domain": "blog.example"}, {"domain": "shop.example", "public_counters": "none"}]
    ingest.configure(monkeypatch, SITES=json.dumps(sites))
    assert read("/count", {"page": "/"}, owner=False)[0] == 200
    assert read("/count", {"page": "/", "site": "shop.example"}, owner=False)[0] == 403
    assert read("/count", {"page": "/", "site": "shop.example"})[0] == 200  # the owner's token reads it


def test_a_one_site_deployment_keeps_its_data_when_it_lists_its_site_first(ingest: Ingest, monkeypatch: Any) -> None:
    # GIVEN a deployment of before: no sites; its script tags name whatever site they like
    ingest.configure(monkeypatch, GOALS="page:/thanks")
    for page, ip in (("/", "198.51.100.1"), ("/thanks", "198.51.100.2")):
        assert ingest(visit(page, ip, "anything.example")).status == 200
    ingest.drain()
    before = status()
    assert (before["site"], before["sites"], before["visitor_count"]) == ("default", ["default"], 2)

    # WHEN the owner lists its site first and adds a second one (a new deployment of the functions)
    ingest.configure(monkeypatch, SITES=SITES, GOALS="page:/thanks")

    # THEN the first site holds everything of before, and counting goes on from there
    after = status("blog.example")
    assert after["visitor_count"] == 2
    assert pages(after) == pages(before) == {"/": 1, "/thanks": 1}
    assert after["unique_visitors_today"] == 2
    assert [(g["goal"], g["completions"]) for g in after["goals"]] == [("Visit /thanks", 1)]
    assert status("shop.example")["visitor_count"] == 0
    assert ingest(visit("/", "198.51.100.3")).body == {"visitor_count": 3}
    # ... and the old script tags, naming a site no longer answered to, are refused
    assert ingest(visit("/", "198.51.100.3", "anything.example")).status == 404
