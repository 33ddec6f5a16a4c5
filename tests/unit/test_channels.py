"""Channels, screen classes and host names (issue 21): the documented rules of functions/model/channels.py."""

from __future__ import annotations

import json

import pytest

from functions.model import channels
from functions.model.channels import AI_ASSISTANTS, DIRECT, EMAIL, ORGANIC_SEARCH, PAID, REFERRAL, SOCIAL


@pytest.mark.parametrize(
    ("referrer", "source", "medium", "expected"),
    [
        (None, None, None, DIRECT),
        ("https://www.google.com/", None, None, ORGANIC_SEARCH),
        ("https://www.google.co.uk/search", None, None, ORGANIC_SEARCH),  # any TLD of a listed engine
        ("https://duckduckgo.com/", None, None, ORGANIC_SEARCH),
        ("https://www.bing.com/", None, None, ORGANIC_SEARCH),
        ("https://m.facebook.com/", None, None, SOCIAL),  # a subdomain of a listed network
        ("https://news.ycombinator.com/item", None, None, SOCIAL),
        ("https://chatgpt.com/", None, None, AI_ASSISTANTS),
        ("https://www.perplexity.ai/search", None, None, AI_ASSISTANTS),
        ("https://claude.ai/chat/1", None, None, AI_ASSISTANTS),
        ("https://gemini.google.com/app", None, None, AI_ASSISTANTS),  # before Google the search engine
        ("https://copilot.microsoft.com/", None, None, AI_ASSISTANTS),
        (None, "chatgpt.com", None, AI_ASSISTANTS),  # ChatGPT tags its links utm_source=chatgpt.com
        ("https://blog.example.org/post", None, None, REFERRAL),
        ("https://www.google.com/", "google", "cpc", PAID),  # the campaign wins over the referrer
        (None, "newsletter", "email", EMAIL),
        (None, "Newsletter", None, EMAIL),
        (None, "twitter", "social", SOCIAL),
        (None, "partner", "referral", REFERRAL),
        (None, "partner", None, REFERRAL),
        (None, None, "organic", ORGANIC_SEARCH),
        (None, "x", "paid_social", PAID),
    ],
)
def test_channel_rules(referrer: str | None, source: str | None, medium: str | None, expected: str) -> None:
    assert channels.channel(channels.host_of(referrer), source, medium) == expected


def test_a_referral_from_the_site_itself_is_no_entrance() -> None:
    assert not channels.is_entrance("www.shop.example", "shop.example")
    assert channels.is_entrance("google.com", "shop.example")
    assert channels.is_entrance(None, "shop.example")
    assert channels.is_entrance("shop.example", None)  # page host unknown: counted


@pytest.mark.parametrize(
    ("width", "expected"),
    [(375, "phone"), (575, "phone"), (576, "tablet"), (991, "tablet"), (992, "laptop"), (1439, "laptop")]
    + [(1440, "desktop"), ("2560", "desktop"), ("0", None), ("-5", None), ("wide", None), (None, None)]
    + [("1e9", None), (10**6, None)],
)
def test_screen_classes_by_viewport_width(width: object, expected: str | None) -> None:
    assert channels.screen_class(width) == expected  # type: ignore[arg-type]


def test_host_names_are_bare_lower_case_and_bounded() -> None:
    assert channels.host_of("https://WWW.Example.COM:8443/x?y") == "example.com"
    assert channels.host_of("shop.example") == "shop.example"
    assert channels.host_of("<script>") is None
    assert channels.host_of("a" * 101 + ".com") is None
    assert channels.host_of("") is None


def test_the_lists_come_from_matomos_maintained_data_with_its_source() -> None:
    data = json.loads(channels.DATA_FILE.read_text())
    assert data["source"].startswith("https://github.com/matomo-org/searchengine-and-social-list at ")
    assert {"ChatGPT", "Perplexity", "Claude", "Gemini", "Copilot"} <= set(data["ai"].values())
    assert len(data["search"]) > 100 and len(data["social"]) > 100


def test_channels_and_screens_are_day_item_counters_so_a_batch_touches_no_extra_item() -> None:
    from functions.model import layout
    from functions.model.fold import Namers, fold
    from functions.model.keys import day_agg_key, key_tuple
    from tests.support.pipeline import make_visit

    namers = Namers(browser_of=lambda ua: "Chrome", agent_of=lambda ua: "bot")
    visits = [
        make_visit(referrer="https://chatgpt.com/", hostname="shop.example", screen="phone"),
        make_visit(referrer="https://shop.example/", hostname="shop.example", screen="phone"),  # inside
        make_visit(hostname="shop.example", screen="laptop"),
    ]
    deltas = fold(visits, namers)
    day = deltas[key_tuple(day_agg_key(visits[0].timestamp[:10]))].counters
    assert {k: v for k, v in day.items() if k.startswith(("ch:", "sc:"))} == {
        "ch:AI Assistants": 1,
        "ch:Direct": 1,
        "sc:phone": 2,
        "sc:laptop": 1,
    }
    # the host name is a capped name tally: the only new item a batch of script pageviews touches
    hosts = [key for key in deltas if key[1].startswith(f"{layout.HOST}#")]
    assert hosts == [layout.name_item_key(visits[0].timestamp[:10], layout.HOST, "shop.example")]
