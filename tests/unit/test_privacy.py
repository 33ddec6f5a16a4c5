"""IP modes, keyed hashes and the once-a-day salt cache."""

from __future__ import annotations

import pytest

from functions.model.privacy import DailySalt, apply_ip_mode, keyed_hash, new_salt, truncate_ip, visitor_id

SALT = b"s" * 32


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("10.1.2.255", "10.1.2.0"),
        ("2001:db8:85a3:1234:5678:8a2e:370:7334", "2001:db8:85a3::"),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:ffff::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("::1", "::"),
        ("not-an-ip", None),
    ],
)
def test_truncation_zeroes_the_host_part(ip: str, expected: str | None) -> None:
    assert truncate_ip(ip) == expected


def test_ip_modes() -> None:
    ip = "203.0.113.7"
    assert apply_ip_mode("full", ip, SALT) == ip
    assert apply_ip_mode("truncated", ip, SALT) == "203.0.113.0"
    assert apply_ip_mode("none", ip, SALT) is None
    hashed = apply_ip_mode("hashed", ip, SALT)
    assert hashed and len(hashed) == 32 and ip not in hashed
    assert hashed == apply_ip_mode("hashed", ip, SALT)
    assert hashed != apply_ip_mode("hashed", ip, b"t" * 32)  # a new day, a new salt: unlinkable
    assert apply_ip_mode("hashed", ip, None) is None  # never fall back to storing the address
    assert apply_ip_mode("full", None, SALT) is None
    with pytest.raises(ValueError):
        apply_ip_mode("bogus", ip, SALT)


def test_visitor_hash_depends_on_address_browser_and_day() -> None:
    base = visitor_id("full", "203.0.113.7", "UA", SALT)
    assert base and len(base) == 32
    assert base == visitor_id("truncated", "203.0.113.7", "UA", SALT)  # same secret in every mode
    assert base != visitor_id("full", "203.0.113.8", "UA", SALT)
    assert base != visitor_id("full", "203.0.113.7", "UA2", SALT)
    assert base != visitor_id("full", "203.0.113.7", "UA", b"t" * 32)
    assert visitor_id("none", "203.0.113.7", "UA", SALT) is None
    assert visitor_id("hashed", "203.0.113.7", "UA", None) is None
    # the ip hash and the visitor hash are separate domains
    assert keyed_hash(SALT, "ip", "x") != keyed_hash(SALT, "visitor", "x", "")


def test_daily_salt_loads_once_per_day() -> None:
    loads: list[str] = []

    def load(day: str) -> bytes:
        loads.append(day)
        return new_salt()

    salt = DailySalt()
    first = salt.for_day("2026-11-26", load)
    assert salt.for_day("2026-11-26", load) is first
    second = salt.for_day("2026-11-27", load)
    assert second != first and len(second) == 32
    assert loads == ["2026-11-26", "2026-11-27"]
    salt.clear()
    salt.for_day("2026-11-27", load)
    assert len(loads) == 3
