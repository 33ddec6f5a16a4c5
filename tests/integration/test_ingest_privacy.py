"""IP_MODE and the daily salt, through the ingest handler."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from functions.core.definitions import SALT_TTL_DAYS
from functions.model import keys
from tests.integration.conftest import Ingest
from tests.support.calls import CallCounter
from tests.support.events import rest_event

UA_A = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
UA_B = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari"


def visit_ip(ingest: Ingest, source_ip: str, ua: str = UA_A) -> tuple[str | None, str | None]:
    ingest(rest_event(source_ip=source_ip, headers={"User-Agent": ua}))
    (visit,) = ingest.queued()
    return visit.ip, visit.visitor


@pytest.mark.parametrize(
    ("mode", "source_ip", "expected"),
    [
        ("full", "203.0.113.77", "203.0.113.77"),
        ("full", "2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3::8a2e:370:7334"),
        ("truncated", "203.0.113.77", "203.0.113.0"),
        ("truncated", "2001:db8:85a3:1234:5678:8a2e:370:7334", "2001:db8:85a3::"),
        ("truncated", "::ffff:198.51.100.9", "198.51.100.0"),
        ("none", "203.0.113.77", None),
    ],
)
def test_ip_modes(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch, mode: str, source_ip: str, expected: str | None
) -> None:
    ingest.configure(monkeypatch, IP_MODE=mode)
    ip, visitor = visit_ip(ingest, source_ip)
    assert ip == expected
    assert (visitor is None) == (mode == "none")


def test_hashed_mode_keeps_no_address_but_tells_visitors_apart(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest.configure(monkeypatch, IP_MODE="hashed")
    # GIVEN two visits from one address and one from another
    first = visit_ip(ingest, "203.0.113.7")
    again = visit_ip(ingest, "203.0.113.7")
    other = visit_ip(ingest, "203.0.113.8")
    same_ip_other_browser = visit_ip(ingest, "203.0.113.7", UA_B)
    # THEN the address is stored as a keyed hash, stable within the day
    assert first[0] and len(first[0]) == 32 and "203.0.113" not in first[0]
    with pytest.raises(ValueError):
        ipaddress.ip_address(first[0])
    assert first == again
    assert other[0] != first[0]
    # AND the visitor hash follows address + browser
    assert same_ip_other_browser[0] == first[0]
    assert len({first[1], other[1], same_ip_other_browser[1]}) == 3


def test_the_daily_salt_is_created_once_with_a_ttl_and_shared(
    ingest: Ingest, aws_calls: CallCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest.configure(monkeypatch, IP_MODE="hashed")
    # GIVEN a first visit: it creates today's salt with a conditional PutItem
    first = visit_ip(ingest, "203.0.113.7")
    assert aws_calls.take().count("PutItem") == 1
    (salt_item,) = ingest.items("SALT")
    day = salt_item["sk"]["S"]
    assert salt_item["pk"]["S"] == keys.salt_key(day)["pk"]["S"]
    assert len(salt_item["salt"]["B"]) == 32
    # AND it expires SALT_TTL_DAYS after its day began
    assert int(salt_item["expires_at"]["N"]) - int(keys_day_start(day)) == SALT_TTL_DAYS * 86400
    # WHEN the same function visits again: no salt call at all
    visit_ip(ingest, "203.0.113.7")
    assert "PutItem" not in aws_calls.take()
    # WHEN another execution environment starts the same day (its own empty cache)
    ingest.forget()
    other_env = visit_ip(ingest, "203.0.113.7")
    # THEN it loses the conditional put, adopts the existing salt in that same call, and hashes alike
    assert aws_calls.take() == ["GetItem", "PutItem", "SendMessage"]
    assert other_env == first
    assert len(ingest.items("SALT")) == 1


def test_none_mode_never_touches_the_salt(
    ingest: Ingest, aws_calls: CallCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest.configure(monkeypatch, IP_MODE="none")
    visit_ip(ingest, "203.0.113.7")
    assert aws_calls.take() == ["GetItem", "SendMessage"]
    assert ingest.items("SALT") == []


def keys_day_start(day: str) -> int:
    return int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
