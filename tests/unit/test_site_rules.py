"""The SITES setting and which site a request is for (pure)."""

from __future__ import annotations

import json

import pytest

from functions.core.settings import ConfigError, load_settings
from functions.core.sites import InvalidSites, Site, format_sites, parse_sites
from functions.model import keys, sites


def test_domains_or_objects_normalised_and_kept_in_order() -> None:
    parsed = parse_sites(
        json.dumps(
            [
                "https://Blog.Example/",
                {"domain": "shop.example", "origins": "https://shop.example, http://localhost:4000"},
                {"domain": "docs.example", "public_counters": "/guide/*"},
            ]
        )
    )
    assert parsed == (
        Site("blog.example"),
        Site("shop.example", origins=("https://shop.example", "http://localhost:4000")),
        Site("docs.example", public_counters=("/guide/*",)),
    )
    assert parse_sites(format_sites(parsed)) == parsed
    assert parse_sites(" blog.example , shop.example ") == (Site("blog.example"), Site("shop.example"))
    assert parse_sites("") == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("blog.example,blog.example", "site 'blog.example' is listed twice"),
        ("under_score.example", "a site's domain must be a host name like example.com, got 'under_score.example'"),
        ("default", "a site's domain must be a host name like example.com, got 'default'"),
        ('[{"domain": "a.example", "colour": "red"}]', "unknown site option(s) colour for 'a.example'"),
        ('[{"domain": "a.example", "origins": ["a.example"]}]', "origins of 'a.example' must be scheme://host"),
        ('[{"domain": "a.example", "public_counters": "blog/*"}]', "public_counters must be all, none or page"),
        ("[1", "not a JSON list"),
        (",".join(f"s{i}.example" for i in range(51)), "at most 50 sites, got 51"),
    ],
)
def test_a_bad_site_list_names_the_entry(raw: str, message: str) -> None:
    with pytest.raises(InvalidSites) as caught:
        parse_sites(raw)
    assert message in str(caught.value)
    with pytest.raises(ConfigError) as config:
        load_settings({"SITES": raw})
    assert str(config.value).startswith("SITES: ")


def test_which_site_a_request_is_for() -> None:
    settings = load_settings({"SITES": "blog.example,shop.example"})
    assert settings.default_site == "blog.example"
    assert sites.resolve(settings, None) is None
    assert sites.resolve(settings, "") is None
    assert sites.resolve(settings, "BLOG.example") is None  # the default site keeps the one-site keys
    assert sites.resolve(settings, "shop.example") == "shop.example"
    with pytest.raises(sites.UnknownSite) as caught:
        sites.resolve(settings, " evil.example ")
    assert str(caught.value) == "unknown site 'evil.example': this deployment does not count it"
    one_site = load_settings({})
    assert one_site.default_site == "default"
    assert sites.resolve(one_site, "anything.example") is None  # without SITES, any name is the one site
    assert sites.names(one_site) == ["default"]


def test_origins_and_counters_of_a_site() -> None:
    raw = [{"domain": "blog.example"}, {"domain": "shop.example", "origins": ["https://shop.example"]}]
    settings = load_settings(
        {"SITES": json.dumps(raw), "PUBLIC_COUNTERS": "/blog/*", "ALLOWED_ORIGINS": "https://blog.example"}
    )
    assert sites.origin_allowed(settings, None, "https://anything.example", None)  # no origins: any
    assert sites.origin_allowed(settings, "shop.example", "https://shop.example", None)
    assert not sites.origin_allowed(settings, "shop.example", "https://blog.example", None)
    assert sites.origin_allowed(settings, "shop.example", None, "https://shop.example/cart?x=1")
    assert not sites.origin_allowed(settings, "shop.example", None, "https://copy.example/cart")
    assert sites.origin_allowed(settings, "shop.example", None, None)  # a server or curl: neither header
    assert settings.allows_origin("https://shop.example") == "https://shop.example"  # CORS: the site's too
    assert settings.allows_origin("https://evil.example") is None
    assert sites.counter_patterns(settings, "shop.example") == ("/blog/*",)  # the deployment's


def test_a_sites_keys_are_its_own_and_the_default_sites_unchanged() -> None:
    day = keys.key_tuple(keys.day_agg_key("2026-12-04"))
    assert keys.in_site(day, None) == day == ("AGG#DAY", "2026-12-04")
    assert keys.in_site(day, "shop.example") == ("S#shop.example#AGG#DAY", "2026-12-04")
    assert keys.out_of_site(keys.in_site(day, "shop.example")) == day
    assert keys.FAMILY_LEADING_KEYS["aggregates"] == ("AGG#*", "S#*#AGG#*")
    assert keys.FAMILY_LEADING_KEYS["access"] == ("ACCESS",)  # tokens belong to the deployment


def test_the_default_sites_lake_rows_of_before_sites_are_its_own() -> None:
    assert sites.lake_partitions("blog.example", ["blog.example", "shop.example"]) == ("blog.example", "default")
    assert sites.lake_partitions("shop.example", ["blog.example", "shop.example"]) == ("shop.example",)
    assert sites.lake_partitions("default", ["default"]) == ("default",)  # a deployment without SITES
    assert sites.lake_partitions("default", []) == ("default",)
