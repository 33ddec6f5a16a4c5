"""Access-log parsing: nginx/Apache combined and CloudFront standard lines, and bad lines."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from functions.model.accesslog import BadLine, Hit, LogParser
from tests.support.accesslogs import CLOUDFRONT_HEADER, GPTBOT, Request, cloudfront_line, nginx_line

WHEN = datetime(2026, 12, 3, 14, 5, 9, tzinfo=UTC)


def test_a_combined_line_is_a_hit() -> None:
    hit = LogParser().parse(nginx_line(Request(WHEN, "/blog/a?x=1", GPTBOT)))
    assert hit == Hit(WHEN, "GET", "/blog/a?x=1", GPTBOT, 200)


def test_apache_time_zones_and_escaped_quotes() -> None:
    line = (
        '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.html HTTP/1.0" 200 2326 "http://x/" "Say \\"hi\\"/1.0"'
    )
    hit = LogParser().parse(line)
    assert hit is not None
    assert hit.when == datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC)
    assert hit.user_agent == 'Say "hi"/1.0'


def test_nginx_extra_fields_after_the_user_agent_are_ignored() -> None:
    line = nginx_line(Request(WHEN, "/", "curl/8.5.0")).rstrip("\n") + ' "-" 0.004 0.004'
    hit = LogParser().parse(line)
    assert hit is not None and hit.user_agent == "curl/8.5.0"


def test_a_cloudfront_file_is_parsed_with_its_fields_header() -> None:
    parser = LogParser()
    lines = (CLOUDFRONT_HEADER + cloudfront_line(Request(WHEN, "/docs/", GPTBOT, 304))).splitlines()
    hits = [parser.parse(line) for line in lines]
    assert hits[:2] == [None, None]
    assert hits[2] == Hit(WHEN, "GET", "/docs/", GPTBOT, 304)


def test_cloudfront_user_agents_encoded_twice_are_decoded() -> None:
    line = cloudfront_line(Request(WHEN, "/", "A B")).replace("A%20B", "A%2520B")
    hit = LogParser().parse(line)
    assert hit is not None and hit.user_agent == "A B"


def test_blank_and_comment_lines_are_no_hits() -> None:
    parser = LogParser()
    assert parser.parse("\n") is None
    assert parser.parse("# a comment") is None


@pytest.mark.parametrize(
    "line",
    [
        "garbage",
        '1.2.3.4 - - [99/Foo/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x"',
        '1.2.3.4 - - [03/Dec/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1',  # common format: no User-Agent
        "2026-12-03\tnot-a-time\tFRA",
        "2026-12-03\t10:00:00\tFRA56\t1\t1.2.3.4\tGET\thost\tno-slash\t200\t-\tcurl",
        "x" * 20_000,
        gzip.compress(b"binary", mtime=0).decode("latin-1"),  # mtime=0: the same id on every xdist worker
    ],
)
def test_bad_lines_raise_bad_line(line: str) -> None:
    with pytest.raises(BadLine):
        LogParser().parse(line)
