"""Environment variables validated once into one typed settings object.

A bad value fails the cold start with a message naming the variable, instead of a confusing
error deep inside a request.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from functions.core import definitions as d
from functions.core.environment import ENVIRONMENT
from functions.core.goals import Goal, InvalidGoals, parse_goals


class ConfigError(ValueError):
    """An environment variable is missing or has a value the functions cannot use."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    queue_url: str
    dlq_url: str
    log_ttl_days: int
    allowed_origins: tuple[str, ...]
    ip_mode: str
    count_bots: bool
    counter_shards: int
    status_cache_seconds: int
    count_cache_seconds: int = d.DEFAULT_COUNT_CACHE_SECONDS
    aggregate_shards: int = d.DEFAULT_AGGREGATE_SHARDS
    exclude_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    respect_dnt: bool = False
    public_dashboard: bool = False
    # Page patterns whose /count and /badge.svg answer anyone (fnmatch); () = none, ("*",) = all.
    public_counters: tuple[str, ...] = ("*",)
    front_door_secret: str = field(default="", repr=False)
    count_datacenters: bool = False
    goals: tuple[Goal, ...] = ()
    default_site: str = "default"

    def allows_origin(self, origin: str | None) -> str | None:
        """The value for Access-Control-Allow-Origin, or None when the origin is not allowed."""
        if "*" in self.allowed_origins:
            return "*"
        if origin and origin in self.allowed_origins:
            return origin
        return None


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _networks(env: Mapping[str, str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    raw = env.get(d.ENV_EXCLUDE_IPS, "")
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ConfigError(f"{d.ENV_EXCLUDE_IPS} must be a comma-separated list of CIDRs, got {part!r}") from exc
    return tuple(networks)


def _paths(env: Mapping[str, str]) -> tuple[str, ...]:
    patterns = tuple(p.strip() for p in env.get(d.ENV_EXCLUDE_PATHS, "").split(",") if p.strip())
    for pattern in patterns:
        if not pattern.startswith("/"):
            raise ConfigError(f"{d.ENV_EXCLUDE_PATHS} patterns must start with /, got {pattern!r}")
    return patterns


def _counter_patterns(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get(d.ENV_PUBLIC_COUNTERS, "").strip()
    if not raw or raw.lower() == d.PUBLIC_COUNTERS_ALL:
        return ("*",)
    if raw.lower() == d.PUBLIC_COUNTERS_NONE:
        return ()
    patterns = tuple(p.strip() for p in raw.split(",") if p.strip())
    for pattern in patterns:
        if not pattern.startswith("/"):
            raise ConfigError(
                f"{d.ENV_PUBLIC_COUNTERS} must be all, none or page patterns starting with /, got {pattern!r}"
            )
    return patterns


def _goals(env: Mapping[str, str]) -> tuple[Goal, ...]:
    try:
        return parse_goals(env.get(d.ENV_GOALS, ""))
    except InvalidGoals as exc:
        raise ConfigError(f"{d.ENV_GOALS}: {exc}") from exc


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build settings from a mapping (``os.environ`` in Lambda); pure, so tests can pass a dict."""
    ip_mode = env.get(d.ENV_IP_MODE, "").strip().lower() or d.DEFAULT_IP_MODE
    if ip_mode not in d.IP_MODES:
        raise ConfigError(f"{d.ENV_IP_MODE} must be one of {', '.join(d.IP_MODES)}, got {ip_mode!r}")
    raw_origins = env.get(d.ENV_ALLOWED_ORIGINS) or d.DEFAULT_ALLOWED_ORIGINS
    origins = tuple(o.strip() for o in raw_origins.split(",") if o.strip())
    return Settings(
        table_name=env.get(d.ENV_TABLE_NAME, ""),
        queue_url=env.get(d.ENV_QUEUE_URL, ""),
        dlq_url=env.get(d.ENV_DLQ_URL, ""),
        log_ttl_days=_int(env, d.ENV_LOG_TTL_DAYS, d.DEFAULT_LOG_TTL_DAYS, 1, 3650),
        allowed_origins=origins or (d.DEFAULT_ALLOWED_ORIGINS,),
        ip_mode=ip_mode,
        count_bots=_bool(env, d.ENV_COUNT_BOTS, False),
        counter_shards=_int(env, d.ENV_COUNTER_SHARDS, d.DEFAULT_COUNTER_SHARDS, 1, 128),
        status_cache_seconds=_int(env, d.ENV_STATUS_CACHE_SECONDS, d.DEFAULT_STATUS_CACHE_SECONDS, 0, 3600),
        count_cache_seconds=_int(env, d.ENV_COUNT_CACHE_SECONDS, d.DEFAULT_COUNT_CACHE_SECONDS, 0, 60),
        aggregate_shards=_int(env, d.ENV_AGGREGATE_SHARDS, d.DEFAULT_AGGREGATE_SHARDS, 1, 128),
        exclude_networks=_networks(env),
        exclude_paths=_paths(env),
        respect_dnt=_bool(env, d.ENV_RESPECT_DNT, False),
        public_dashboard=_bool(env, d.ENV_PUBLIC_DASHBOARD, False),
        public_counters=_counter_patterns(env),
        front_door_secret=env.get(d.ENV_FRONT_DOOR_SECRET, "").strip(),
        count_datacenters=_bool(env, d.ENV_COUNT_DATACENTERS, False),
        goals=_goals(env),
    )


@ENVIRONMENT.cached
@cache
def get_settings() -> Settings:
    """Settings of this execution environment, read once (``ENVIRONMENT.reset()`` forgets them)."""
    settings = load_settings(os.environ)
    missing = [
        name
        for name, value in ((d.ENV_TABLE_NAME, settings.table_name), (d.ENV_QUEUE_URL, settings.queue_url))
        if not value
    ]
    if missing:
        raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")
    return settings
