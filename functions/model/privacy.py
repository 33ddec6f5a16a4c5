"""What of the client's IP address is kept (IP_MODE), and the daily salt behind visitor hashes.

IP modes:
- ``full``: the address as API Gateway saw it.
- ``truncated``: IPv4 with the last octet zeroed (a /24), IPv6 with the last 80 bits zeroed (a /48):
  the network, not the host.
- ``hashed``: HMAC-SHA256 of the address keyed with the day's random salt. The same address gives
  the same value all day (so unique visitors can be counted) and an unrelated value the next day;
  once the salt item expires nobody, including us, can link a hash back to an address.
- ``none``: no address, and no visitor hash either.

The ``visitor`` field (unique visitors) is an HMAC of address + User-Agent with the same salt in every
mode except ``none``. The salt is a random 32-byte secret in the table (``keys.salt_key(day)``), made by
whichever function needs it first that day and cached here for the rest of the day.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
from collections.abc import Callable

SALT_BYTES = 32
HASH_HEX_CHARS = 32  # 128 bits of the HMAC: plenty to tell visitors apart, half the storage
_IPV4_KEEP_BITS = 24
_IPV6_KEEP_BITS = 48


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def truncate_ip(ip: str) -> str | None:
    """The address with its host part zeroed (IPv4 /24, IPv6 /48); None if it is not an address."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    keep = _IPV4_KEEP_BITS if address.version == 4 else _IPV6_KEEP_BITS
    network = ipaddress.ip_network(f"{address}/{keep}", strict=False)
    return str(network.network_address)


def keyed_hash(salt: bytes, *parts: str) -> str:
    """HMAC-SHA256 of the parts (unambiguously joined), as hex."""
    message = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hmac.new(salt, message, hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]


def apply_ip_mode(mode: str, ip: str | None, salt: bytes | None) -> str | None:
    """The value stored for the client address under ``mode``.

    ``hashed`` without a salt (the salt could not be read) stores nothing rather than the address.
    """
    if not ip or mode == "none":
        return None
    if mode == "full":
        return ip
    if mode == "truncated":
        return truncate_ip(ip)
    if mode == "hashed":
        return keyed_hash(salt, "ip", ip) if salt else None
    raise ValueError(f"unknown IP mode {mode!r}")


def visitor_id(mode: str, ip: str | None, user_agent: str, salt: bytes | None) -> str | None:
    """The daily-salted visitor hash for unique-visitor counts (None in ``none`` mode or without salt)."""
    if mode == "none" or salt is None:
        return None
    return keyed_hash(salt, "visitor", ip or "", user_agent)


class DailySalt:
    """The day's salt, loaded at most once per day per execution environment.

    ``load(day)`` reads or creates the salt item (``functions.tables.salt.get_or_create_salt``);
    its result is kept until the day changes. Thread-safe, so concurrent requests share one load.
    """

    def __init__(self) -> None:
        self._day: str | None = None
        self._salt: bytes | None = None
        self._lock = threading.Lock()

    def for_day(self, day: str, load: Callable[[str], bytes]) -> bytes:
        with self._lock:
            if self._day != day or self._salt is None:
                self._salt = load(day)
                self._day = day
            return self._salt

    def clear(self) -> None:
        with self._lock:
            self._day, self._salt = None, None
