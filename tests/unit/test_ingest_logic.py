"""The pure rules of a visit record: page, referrer, text cleaning, IP mode applied."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.core.definitions import MAX_PATH_LENGTH, MAX_REFERRER_LENGTH, MAX_USER_AGENT_LENGTH
from functions.core.http import parse_request
from functions.model.capture import build_visit, clean_referrer, clean_text, normalise_path, page_of
from functions.model.visit import Visit
from tests.support.events import http_v2_event, rest_event


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/", "/"),
        ("", "/"),
        (None, "/"),
        ("about", "/about"),
        ("/blog/", "/blog"),
        ("//a///b", "/a/b"),
        ("/a/./b/../c", "/a/c"),
        ("/../../etc/passwd", "/etc/passwd"),
        ("/x?utm_source=y#top", "/x"),
        ("https://example.com/p/q?x=1", "/p/q"),
        ("https://example.com", "/"),
        ("/a\x00b\r\n", "/ab"),
        ("/caf\u00e9/\u65e5\u672c", "/caf\u00e9/\u65e5\u672c"),
        ("/has  many   spaces", "/has many spaces"),
        ("http://[::1/bad", "/http:/[::1/bad"),
    ],
)
def test_normalise_path(raw: str | None, expected: str) -> None:
    assert normalise_path(raw) == expected


def test_paths_are_bounded() -> None:
    assert normalise_path("/" + "a" * 10_000) == "/" + "a" * (MAX_PATH_LENGTH - 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("https://example.com/a?token=secret#x", "https://example.com/a"),
        ("https://example.com", "https://example.com"),
        ("android-app://com.google.android.gm/", "android-app://com.google.android.gm/"),
        ("not a url?q", "not a url"),
        ("http://[::1/%%%", "http://[::1/%%%"),
    ],
)
def test_referrer_drops_query_and_fragment(raw: str | None, expected: str | None) -> None:
    assert clean_referrer(raw) == expected


def test_referrer_is_bounded() -> None:
    referrer = clean_referrer("https://example.com/" + "r" * 5000)
    assert referrer is not None and len(referrer) == MAX_REFERRER_LENGTH


def test_clean_text_removes_what_json_sqs_or_logs_cannot_take() -> None:
    assert clean_text("a\x00b\x1fc\x7fd\x85e\ud800f\ufffeg\uffffh", 100) == "abcdefgh"
    assert clean_text("  padded  ", 100) == "padded"
    assert clean_text("x" * 1000, 10) == "x" * 10
    assert clean_text(None, 10) == ""


def test_page_prefers_the_page_parameter_then_the_referer() -> None:
    with_both = parse_request(rest_event(query={"page": "/p"}, headers={"Referer": "https://s.example/r"}))
    referer_only = parse_request(http_v2_event(headers={"Referer": "https://s.example/r?x"}))
    blank_page = parse_request(rest_event(query={"page": "\x00 "}, headers={"Referer": "https://s.example/r"}))
    neither = parse_request(rest_event())
    assert [page_of(r) for r in (with_both, referer_only, blank_page, neither)] == ["/p", "/r", "/r", "/"]


def test_build_visit_makes_a_valid_record() -> None:
    request = parse_request(
        rest_event(
            query={"page": "/x"},
            headers={"User-Agent": "U" * 1000, "Referer": "https://s.example/r?q"},
            request_id="rid",
            source_ip="203.0.113.9",
        )
    )
    now = datetime(2026, 11, 26, 13, 5, 9, 123456, tzinfo=UTC)
    visit = build_visit(
        request, page=page_of(request), now=now, ip_mode="truncated", salt=b"k" * 32, bot_class=None, counted=True
    )
    assert visit == Visit.from_json(visit.to_json())
    assert visit.visit_id == "rid"
    assert visit.timestamp == "2026-11-26T13:05:09.123Z"
    assert visit.ip == "203.0.113.0"
    assert len(visit.user_agent) == MAX_USER_AGENT_LENGTH
    assert (visit.path, visit.referrer) == ("/x", "https://s.example/r")
    assert visit.visitor and len(visit.visitor) == 32
    assert (visit.is_bot, visit.bot_class) == (False, None)
    none_mode = build_visit(
        request, page=page_of(request), now=now, ip_mode="none", salt=None, bot_class="crawler", counted=False
    )
    assert none_mode == Visit.from_json(none_mode.to_json())
    assert (none_mode.ip, none_mode.visitor, none_mode.counted) == (None, None, False)
    assert (none_mode.is_bot, none_mode.bot_class) == (True, "crawler")  # the class rides along to the writer
