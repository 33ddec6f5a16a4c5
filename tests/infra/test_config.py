"""cdk.json context parsing: defaults, string forms from `-c`, and clear errors for bad values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import CDK_JSON, ContextError, TrackerConfig, cdk_json_context

pytestmark = pytest.mark.xdist_group("infra")


def test_cdk_json_context_spells_out_exactly_the_defaults() -> None:
    context = cdk_json_context()
    assert TrackerConfig.from_context(context) == TrackerConfig()
    assert set(context) == set(TrackerConfig.__dataclass_fields__)


def test_defaults_come_from_the_shared_definitions() -> None:
    config = TrackerConfig()
    assert config.max_receive_count == 5
    assert config.writer_max_concurrency is None and config.writer_concurrency == 5
    assert config.log_ttl_days == 30
    assert config.counter_shards == 1
    assert config.allowed_origins == ("*",)
    assert (config.ingress, config.api_key, config.waf_rate_limit, config.alarm_email) == ("rest", "none", None, None)


def test_cli_strings_are_parsed() -> None:
    # GIVEN values as `cdk synth -c key=value` delivers them: all strings
    config = TrackerConfig.from_context(
        {
            "ingress": "HTTP",
            "count_bots": "yes",
            "counter_shards": "8",
            "allowed_origins": "https://a.example, https://b.example:8443",
            "ingest_reserved_concurrency": "25",
            "waf_rate_limit": "none",
            "alarm_email": "none",
        }
    )
    assert config.ingress == "http"
    assert config.count_bots is True
    assert config.counter_shards == 8
    assert config.allowed_origins == ("https://a.example", "https://b.example:8443")
    assert config.ingest_reserved_concurrency == 25
    assert config.waf_rate_limit is None and config.alarm_email is None


def test_goals_from_a_string_or_a_list_reach_the_functions_as_one_variable() -> None:
    # GIVEN goals as `-c goals=...` delivers them (one string) and as cdk.json may list them
    from_string = TrackerConfig.from_context({"goals": " Signup , page:/thanks* ,"})
    from_list = TrackerConfig.from_context({"goals": ["Signup", "page:/thanks*"]})
    # THEN both are the same goals, and the functions get them in GOALS, which their settings read back
    assert from_string.goals == from_list.goals == ("Signup", "page:/thanks*")
    assert from_list.function_environment()["GOALS"] == "Signup,page:/thanks*"
    assert TrackerConfig().function_environment()["GOALS"] == ""


def test_sites_from_a_string_or_a_list_reach_the_functions_as_their_settings_read_them() -> None:
    from functions.core.settings import load_settings
    from functions.core.sites import Site

    from_string = TrackerConfig.from_context({"sites": "Blog.example, shop.example"})
    from_list = TrackerConfig.from_context(
        {
            "sites": ["blog.example", {"domain": "shop.example", "origins": ["https://shop.example"]}],
            "allowed_origins": "https://blog.example",
        }
    )
    env = from_list.function_environment()
    assert load_settings(env).sites == (Site("blog.example"), Site("shop.example", origins=("https://shop.example",)))
    assert load_settings(from_string.function_environment()).sites == (Site("blog.example"), Site("shop.example"))
    # the API's CORS answers allow the sites' own origins too (and "*" stays "*")
    assert from_list.cors_origins == ("https://blog.example", "https://shop.example")
    assert from_string.cors_origins == ("*",)
    assert TrackerConfig().function_environment()["SITES"] == ""
    with pytest.raises(ContextError, match="sites: site 'a.example' is listed twice"):
        TrackerConfig.from_context({"sites": ["a.example", "A.example"]})


def test_reserved_concurrency_is_opt_in_in_every_mode() -> None:
    """A new account's concurrency quota (often 10) leaves nothing to reserve: never reserve by default."""
    assert TrackerConfig(ingress="function-url").ingest_concurrency_ceiling is None
    assert TrackerConfig(ingress="function-url", ingest_reserved_concurrency=3).ingest_concurrency_ceiling == 3
    assert TrackerConfig().ingest_concurrency_ceiling is None


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"front_door_waf_rate_limit": 100}, "need front_door=cloudfront"),
        ({"front_door": "cloudfront", "front_door_path": "vt"}, "front_door_path must look like /vt"),
        ({"front_door": "cloudfront", "front_door_web_acl_arn": "arn:aws:wafv2:eu-west-1:1:regional/x"}, "CLOUDFRONT"),
        (
            {"front_door": "cloudfront", "front_door_waf_rate_limit": 100, "front_door_web_acl_arn": "x"},
            "not both",
        ),
        ({"ingress": "http", "api_gateway_logging_role": "create"}, "api_gateway_logging_role is for ingress=rest"),
        ({"api_gateway_logging_role": "takeover"}, "api_gateway_logging_role must be one of none, existing, create"),
        ({"front_door": "akamai"}, "front_door must be one of none, cloudfront"),
        # the stage's WAF behind CloudFront would rate-limit whole edges, not visitors
        ({"front_door": "cloudfront", "waf_rate_limit": 500}, "use front_door_waf_rate_limit"),
        ({"public_counters": "blog/*"}, "PUBLIC_COUNTERS must be all, none or page patterns"),
    ],
)
def test_front_door_and_logging_role_combinations_are_checked(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ContextError, match=message):
        TrackerConfig.from_context(context)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"ingress": "grpc"}, "ingress must be one of rest, http, function-url, got 'grpc'"),
        ({"api_key": "maybe"}, "api_key must be one of none, status, all"),
        ({"ingress": "http", "api_key": "all"}, "api_key=all needs ingress=rest"),
        ({"ingress": "function-url", "waf_rate_limit": 100}, "waf_rate_limit needs ingress=rest"),
        ({"waf_rate_limit": 5}, "waf_rate_limit must be between 10 and"),
        ({"log_retention_days": 31}, "log_retention_days must be one of 1, 3, 5"),
        ({"counter_shards": "many"}, "counter_shards must be an integer, got 'many'"),
        ({"counter_shards": 0}, "counter_shards must be between 1 and 128, got 0"),
        ({"count_bots": "perhaps"}, "count_bots must be true or false"),
        ({"ip_mode": "partial"}, "ip_mode must be one of full, truncated, hashed, none"),
        ({"exclude_ips": "nope"}, "EXCLUDE_IPS must be a comma-separated list of CIDRs"),
        ({"exclude_paths": "admin"}, "EXCLUDE_PATHS patterns must start with /"),
        ({"removal_policy": "snapshot"}, "removal_policy must be one of retain, destroy"),
        ({"alarm_email": "not-an-address"}, "alarm_email is not an e-mail address"),
        ({"allowed_origins": "example.com"}, "allowed_origins: 'example.com' is not * or a scheme://host"),
        ({"allowed_origins": ""}, "allowed_origins must list at least one origin"),
        ({"writer_max_concurrency": 1}, "writer_max_concurrency must be between 2 and 1000"),
        ({"stack_name": "9lives"}, "stack_name must match"),
        ({"max_receive_count": True}, "max_receive_count must be an integer"),
        ({"goals": "page:thanks"}, "goals: a page goal's pattern must start with /, got 'page:thanks'"),
        ({"goals": "Signup,Signup"}, "goals: the goal 'Signup' is declared twice"),
        ({"goals": [f"Goal {n}" for n in range(11)]}, "goals: at most 10 goals, got 11"),
        ({"goals": "Sign=up"}, "goals: an event goal is an event name of at most 64 characters"),
        ({"goals": 3}, "goals must be a list or a comma-separated string, got 3"),
    ],
)
def test_bad_context_names_the_key(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ContextError) as raised:
        TrackerConfig.from_context(context)
    assert message in str(raised.value)


def test_cdk_json_errors(tmp_path: Path) -> None:
    assert cdk_json_context(tmp_path / "missing.json") == {}
    broken = tmp_path / "cdk.json"
    broken.write_text("{not json")
    with pytest.raises(ContextError, match="not valid JSON"):
        cdk_json_context(broken)
    broken.write_text(json.dumps({"context": ["a"]}))
    with pytest.raises(ContextError, match="'context' must be an object"):
        cdk_json_context(broken)


def test_cdk_json_app_command_runs_app_py() -> None:
    app = json.loads(CDK_JSON.read_text())["app"]
    assert app.endswith("app.py")
