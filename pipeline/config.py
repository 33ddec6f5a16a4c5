"""cdk.json context -> one typed, validated, frozen configuration.

Context values arrive as JSON types from cdk.json but as strings from ``cdk synth -c key=value``,
so every parser accepts both. A bad value stops synthesis with a message naming the context key,
instead of a CloudFormation failure twenty minutes into a deployment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

from functions.core import definitions as d
from functions.core.goals import InvalidGoals, format_goals, parse_goals
from functions.core.settings import ConfigError, load_settings
from functions.core.sites import InvalidSites, format_sites, parse_sites
from pipeline import capacity

INGRESS_OPTIONS: Final = ("rest", "http", "function-url")
API_KEY_MODES: Final = ("none", "status", "all")
REMOVAL_POLICIES: Final = ("retain", "destroy")
# What the stack does with API Gateway's account-wide CloudWatch role (one per account and region).
LOGGING_ROLE_MODES: Final = ("none", "existing", "create")
FRONT_DOORS: Final = ("none", "cloudfront")
_PATH_PREFIX = re.compile(r"^/[a-z0-9][a-z0-9_-]{0,31}$")
# The retention periods CloudWatch Logs accepts (days).
LOG_RETENTION_DAYS: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_NONE_WORDS: Final = ("", "none", "off", "null", "false")

ROOT: Final = Path(__file__).resolve().parent.parent
CDK_JSON: Final = ROOT / "cdk.json"


class ContextError(ValueError):
    """A cdk.json / ``-c`` context value the stack cannot be built from."""


@dataclass(frozen=True)
class TrackerConfig:
    """Everything the stack can be tuned with; the defaults are the documented ones (docs/deploy.md)."""

    stack_name: str = "VisitorTracker"
    ingress: str = "rest"
    removal_policy: str = "retain"
    # Functions
    log_retention_days: int = 30
    log_ttl_days: int = d.DEFAULT_LOG_TTL_DAYS
    lake_retention_days: int = 760  # the lake's raw events (issue 22): about 25 months, apart from log_ttl_days
    allowed_origins: tuple[str, ...] = (d.DEFAULT_ALLOWED_ORIGINS,)
    ip_mode: str = d.DEFAULT_IP_MODE
    count_bots: bool = False
    count_datacenters: bool = False
    exclude_ips: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    respect_dnt: bool = False
    goals: tuple[str, ...] = ()  # "Signup", "page:/thanks*" (functions.core.goals)
    sites: str = ""  # the SITES value (JSON; functions.core.sites): "" = one site
    # Who may read (docs/deploy.md, "Access"): private by default
    public_dashboard: bool = False
    public_counters: tuple[str, ...] = (d.PUBLIC_COUNTERS_ALL,)
    counter_shards: int = d.DEFAULT_COUNTER_SHARDS
    status_cache_seconds: int = d.DEFAULT_STATUS_CACHE_SECONDS
    count_cache_seconds: int = 1
    aggregate_shards: int | None = None  # None: derived from peak_visits_per_second (1 without it)
    ingest_reserved_concurrency: int | None = None
    # Queueing
    max_receive_count: int = d.QUEUE.max_receive_count
    peak_visits_per_second: int | None = None  # sizes the writers, the shards and the queue alarm
    writer_max_concurrency: int | None = None  # None: derived from peak_visits_per_second (5 without it)
    # API
    throttle_rate_limit: int = 100
    throttle_burst_limit: int = 200
    api_key: str = "none"
    usage_plan_rate_limit: int = 50
    usage_plan_burst_limit: int = 100
    usage_plan_quota_per_day: int = 1_000_000
    waf_rate_limit: int | None = None
    api_gateway_logging_role: str = "none"
    # First-party front door
    front_door: str = "none"
    front_door_path: str = "/vt"
    front_door_waf_rate_limit: int | None = None
    front_door_web_acl_arn: str | None = None
    # Monitoring
    alarm_email: str | None = None
    oldest_message_alarm_seconds: int = 600

    def __post_init__(self) -> None:
        _check_choice("ingress", self.ingress, INGRESS_OPTIONS)
        _check_choice("removal_policy", self.removal_policy, REMOVAL_POLICIES)
        _check_choice("api_key", self.api_key, API_KEY_MODES)
        _check_choice("ip_mode", self.ip_mode, d.IP_MODES)
        _check_choice("api_gateway_logging_role", self.api_gateway_logging_role, LOGGING_ROLE_MODES)
        _check_choice("front_door", self.front_door, FRONT_DOORS)
        if not _PATH_PREFIX.match(self.front_door_path):
            raise ContextError(
                f"front_door_path must look like /vt (one lowercase segment), got {self.front_door_path!r}"
            )
        if self.front_door == "none" and (
            self.front_door_waf_rate_limit is not None or self.front_door_web_acl_arn is not None
        ):
            raise ContextError("front_door_waf_rate_limit / front_door_web_acl_arn need front_door=cloudfront")
        if self.front_door_waf_rate_limit is not None and self.front_door_web_acl_arn is not None:
            raise ContextError("set front_door_waf_rate_limit or front_door_web_acl_arn, not both")
        if self.front_door_web_acl_arn is not None and not re.match(
            r"^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global/webacl/[^/]+/[0-9a-f-]+$", self.front_door_web_acl_arn
        ):
            raise ContextError(
                "front_door_web_acl_arn must be a CLOUDFRONT-scope AWS WAF web ACL ARN "
                f"(arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>), got {self.front_door_web_acl_arn!r}"
            )
        if self.ingress != "rest" and self.api_gateway_logging_role != "none":
            raise ContextError(
                "api_gateway_logging_role is for ingress=rest (HTTP APIs and function URLs do not use it)"
            )
        if not _STACK_NAME.match(self.stack_name):
            raise ContextError(f"stack_name must match {_STACK_NAME.pattern}, got {self.stack_name!r}")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ContextError(
                f"log_retention_days must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}, "
                f"got {self.log_retention_days}"
            )
        if not self.allowed_origins or any(not o.strip() for o in self.allowed_origins):
            raise ContextError("allowed_origins must list at least one origin, e.g. https://example.com or *")
        for origin in self.allowed_origins:
            if origin != "*" and not re.match(r"^https?://[^/\s,]+$", origin):
                raise ContextError(f"allowed_origins: {origin!r} is not * or a scheme://host[:port] origin")
        if self.alarm_email is not None and not _EMAIL.match(self.alarm_email):
            raise ContextError(f"alarm_email is not an e-mail address: {self.alarm_email!r}")
        if self.ingress != "rest" and self.api_key != "none":
            raise ContextError(
                f"api_key={self.api_key} needs ingress=rest: only API Gateway REST APIs have API keys and usage plans"
            )
        if self.front_door != "none" and self.waf_rate_limit is not None:
            raise ContextError(
                "waf_rate_limit rate-limits the API stage per client address, and behind front_door=cloudfront "
                "every client address is a CloudFront edge's: use front_door_waf_rate_limit (the edge sees the "
                "visitor's own address)"
            )
        if self.ingress != "rest" and self.waf_rate_limit is not None:
            raise ContextError(
                "waf_rate_limit needs ingress=rest: AWS WAF attaches to REST API stages, "
                "not to HTTP APIs or Lambda function URLs"
            )
        if (
            self.peak_visits_per_second is not None
            and self.ingress != "function-url"
            and self.throttle_rate_limit < self.peak_visits_per_second
        ):
            raise ContextError(
                f"peak_visits_per_second={self.peak_visits_per_second} but the API refuses requests above "
                f"throttle_rate_limit={self.throttle_rate_limit}/s: raise throttle_rate_limit (API Gateway allows "
                "10,000 requests/s per account and region unless AWS raises the quota) or use ingress=function-url"
            )
        try:  # the functions' own parser: a value they would refuse fails the synth, not a cold start
            load_settings(self.function_environment())
        except ConfigError as exc:
            raise ContextError(f"context value refused by the functions: {exc}") from exc

    @property
    def writer_concurrency(self) -> int:
        """The event source's maximum concurrency: explicit, else sized for the peak (pipeline/capacity.py)."""
        if self.writer_max_concurrency is not None:
            return self.writer_max_concurrency
        if self.peak_visits_per_second is not None:
            return capacity.writer_concurrency(self.peak_visits_per_second)
        return d.QUEUE.max_concurrency

    @property
    def shards(self) -> int:
        """Aggregate shards: explicit, else enough for the peak's writers to meet rarely (1 without a peak)."""
        if self.aggregate_shards is not None:
            return self.aggregate_shards
        if self.peak_visits_per_second is not None:
            return capacity.aggregate_shards(self.writer_concurrency)
        return 1

    @property
    def queue_depth_alarm(self) -> int | None:
        """Queued visits above which the sized writers cannot catch up within 5 minutes (with a peak only)."""
        if self.peak_visits_per_second is None:
            return None
        return capacity.queue_depth_alarm(self.writer_concurrency)

    @property
    def destroy_on_delete(self) -> bool:
        return self.removal_policy == "destroy"

    @property
    def ingest_concurrency_ceiling(self) -> int | None:
        """Reserved concurrency of ingest: opt-in only. Reserving N needs an account concurrency quota of
        at least N + 100 (Lambda keeps 100 unreserved); new accounts often have a quota of 10."""
        return self.ingest_reserved_concurrency

    @property
    def metrics_namespace(self) -> str:
        """Per stack (``VisitorTracker/<stack>``): two trackers in one account and region never mix metrics."""
        return f"{d.METRICS_NAMESPACE}/{self.stack_name}"

    @property
    def cors_origins(self) -> tuple[str, ...]:
        """The origins the API's CORS answers allow: ``allowed_origins`` and every site's own origins."""
        if "*" in self.allowed_origins:
            return self.allowed_origins
        extra = [o for site in parse_sites(self.sites) for o in site.origins if o not in self.allowed_origins]
        return self.allowed_origins + tuple(dict.fromkeys(extra))

    @property
    def service_name(self) -> str:
        """Powertools' ``service`` (log field and metric dimension): the stack's name."""
        return self.stack_name

    @property
    def rest_logging(self) -> bool:
        """REST access and execution logs need the account's API Gateway CloudWatch role to exist."""
        return self.ingress == "rest" and self.api_gateway_logging_role != "none"

    def function_environment(self) -> dict[str, str]:
        """The non-resource environment variables, named by definitions.py (resource names come later)."""
        return {
            d.ENV_LOG_TTL_DAYS: str(self.log_ttl_days),
            d.ENV_ALLOWED_ORIGINS: ",".join(self.allowed_origins),
            d.ENV_IP_MODE: self.ip_mode,
            d.ENV_COUNT_BOTS: "true" if self.count_bots else "false",
            d.ENV_COUNT_DATACENTERS: "true" if self.count_datacenters else "false",
            d.ENV_EXCLUDE_IPS: ",".join(self.exclude_ips),
            d.ENV_EXCLUDE_PATHS: ",".join(self.exclude_paths),
            d.ENV_RESPECT_DNT: "true" if self.respect_dnt else "false",
            d.ENV_GOALS: ",".join(self.goals),
            d.ENV_SITES: self.sites,
            # A writer adds to the counter shard of its aggregate shard: at least as many counter shards.
            d.ENV_COUNTER_SHARDS: str(max(self.counter_shards, self.shards)),
            d.ENV_STATUS_CACHE_SECONDS: str(self.status_cache_seconds),
            d.ENV_PUBLIC_DASHBOARD: "true" if self.public_dashboard else "false",
            d.ENV_PUBLIC_COUNTERS: ",".join(self.public_counters),
            d.ENV_COUNT_CACHE_SECONDS: str(self.count_cache_seconds),
            d.ENV_AGGREGATE_SHARDS: str(self.shards),
            "POWERTOOLS_SERVICE_NAME": self.service_name,
            "POWERTOOLS_METRICS_NAMESPACE": self.metrics_namespace,
        }

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> TrackerConfig:
        """Parse the known keys of a context mapping; unknown keys (CDK feature flags) are ignored."""
        values: dict[str, Any] = {}
        for name, parse in _PARSERS.items():
            raw = context.get(name)
            if raw is None:
                continue
            values[name] = parse(name, raw)
        return cls(**values)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ContextError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def _int(minimum: int, maximum: int) -> Any:
    def parse(name: str, raw: Any) -> int:
        if isinstance(raw, bool):
            raise ContextError(f"{name} must be an integer, got {raw!r}")
        try:
            value = int(str(raw).strip())
        except ValueError as exc:
            raise ContextError(f"{name} must be an integer, got {raw!r}") from exc
        if not minimum <= value <= maximum:
            raise ContextError(f"{name} must be between {minimum} and {maximum}, got {value}")
        return value

    return parse


def _optional_int(minimum: int, maximum: int) -> Any:
    parse_int = _int(minimum, maximum)

    def parse(name: str, raw: Any) -> int | None:
        if raw is False or str(raw).strip().lower() in _NONE_WORDS:
            return None
        return int(parse_int(name, raw))

    return parse


def _str(name: str, raw: Any) -> str:
    if not isinstance(raw, str):
        raise ContextError(f"{name} must be a string, got {raw!r}")
    return raw.strip().lower() if name != "stack_name" else raw.strip()


def _optional_str(name: str, raw: Any) -> str | None:
    if raw is False or (isinstance(raw, str) and raw.strip().lower() in _NONE_WORDS):
        return None
    if not isinstance(raw, str):
        raise ContextError(f"{name} must be a string, got {raw!r}")
    return raw.strip()


def _bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ContextError(f"{name} must be true or false, got {raw!r}")


def _origins(name: str, raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        items = raw.split(",")
    elif isinstance(raw, list | tuple):
        items = [str(item) for item in raw]
    else:
        raise ContextError(f"{name} must be a list or a comma-separated string, got {raw!r}")
    return tuple(item.strip() for item in items if item.strip())


def _goals(name: str, raw: Any) -> tuple[str, ...]:
    """Goals as a list or one comma-separated string, validated as the functions will read them."""
    if not isinstance(raw, str | list | tuple):
        raise ContextError(f"{name} must be a list or a comma-separated string, got {raw!r}")
    try:
        goals = parse_goals(raw if isinstance(raw, str) else [str(item) for item in raw])
    except InvalidGoals as exc:
        raise ContextError(f"{name}: {exc}") from exc
    return tuple(format_goals(goals).split(",")) if goals else ()


def _sites(name: str, raw: Any) -> str:
    """Sites as a list (domains or objects) or one comma-separated string, validated as the functions will
    read them, kept as their SITES value."""
    if not isinstance(raw, str | list | tuple):
        raise ContextError(f"{name} must be a list or a comma-separated string, got {raw!r}")
    try:
        return format_sites(parse_sites(raw if isinstance(raw, str) else list(raw)))
    except InvalidSites as exc:
        raise ContextError(f"{name}: {exc}") from exc


_PARSERS: Final[dict[str, Any]] = {
    "stack_name": _str,
    "ingress": _str,
    "removal_policy": _str,
    "log_retention_days": _int(1, 3653),
    "log_ttl_days": _int(1, 3650),
    "lake_retention_days": _int(1, 3650),
    "allowed_origins": _origins,
    "ip_mode": _str,
    "count_bots": _bool,
    "count_datacenters": _bool,
    "exclude_ips": _origins,
    "exclude_paths": _origins,
    "respect_dnt": _bool,
    "goals": _goals,
    "sites": _sites,
    "public_dashboard": _bool,
    "public_counters": _origins,
    "counter_shards": _int(1, 128),
    "status_cache_seconds": _int(0, 3600),
    "count_cache_seconds": _int(0, 60),
    "aggregate_shards": _optional_int(1, 128),
    "ingest_reserved_concurrency": _optional_int(1, 1000),
    "max_receive_count": _int(1, 1000),
    "peak_visits_per_second": _optional_int(1, 100_000),
    "writer_max_concurrency": _optional_int(2, 1000),
    "throttle_rate_limit": _int(1, 10_000),
    "throttle_burst_limit": _int(1, 5_000),
    "api_key": _str,
    "usage_plan_rate_limit": _int(1, 10_000),
    "usage_plan_burst_limit": _int(1, 5_000),
    "usage_plan_quota_per_day": _int(1, 1_000_000_000),
    "waf_rate_limit": _optional_int(10, 2_000_000_000),
    "api_gateway_logging_role": _str,
    "front_door": _str,
    "front_door_path": _str,
    "front_door_waf_rate_limit": _optional_int(10, 2_000_000_000),
    "front_door_web_acl_arn": _optional_str,
    "alarm_email": _optional_str,
    "oldest_message_alarm_seconds": _int(60, 1_209_600),
}
assert set(_PARSERS) == {f.name for f in fields(TrackerConfig)}, "every config field needs a parser"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` block of cdk.json: ``python app.py`` alone does not get it from the CDK CLI."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ContextError(f"{path} is not valid JSON: {exc}") from exc
    context = data.get("context", {})
    if not isinstance(context, dict):
        raise ContextError(f"{path}: 'context' must be an object")
    return context
