"""Synthesize each stack variant once per session and share the result with every infra test.

A synthesis starts a node process and takes several seconds, so variants are session-scoped and
the infra modules carry ``xdist_group("infra")`` to land on one worker under ``--dist loadgroup``.
Each variant is synthesized the way app.py does it (cdk.json context + overrides, cdk-nag v3
plugin), into its own temporary cloud assembly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.stack import build_app

from .helpers import Synth

# Synthesis needs no AWS access at all; these make sure nothing could reach a real account.
_DUMMY_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


EDGE_ACL_ARN = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/site/0123abcd-4567-89ab-cdef-0123456789ab"
INGRESS_VARIANTS = (
    "rest",
    "rest_keyed",
    "rest_all",
    "http",
    "http_front_door",
    "function_url",
    "function_url_reserved",
)

VARIANTS: dict[str, dict[str, Any]] = {
    # The defaults of cdk.json, nothing overridden.
    "rest": {},
    # REST with keys on the read routes, WAF and e-mail alarms.
    # + REST logs through the account's existing API Gateway role. (No front door: the stage's WAF
    # would see CloudFront's addresses, so the two are refused together.)
    "rest_keyed": {
        "api_key": "status",
        "waf_rate_limit": 500,
        "alarm_email": "ops@example.com",
        "api_gateway_logging_role": "existing",
    },
    # REST with every route keyed and most tunables changed from their defaults.
    "rest_all": {
        "api_key": "all",
        "allowed_origins": "https://www.example.com,https://blog.example.com",
        "removal_policy": "destroy",
        "lake_retention_days": 400,
        "ingest_reserved_concurrency": 50,
        "max_receive_count": 3,
        "writer_max_concurrency": 10,
        "log_retention_days": 90,
        "ip_mode": "hashed",
        "count_bots": True,
        "count_datacenters": True,
        "counter_shards": 4,
        "goals": ["Signup", "page:/thanks*"],
        "throttle_rate_limit": 20,
        "throttle_burst_limit": 40,
        "api_gateway_logging_role": "create",
        "front_door": "cloudfront",
        "front_door_path": "/stats",
        "front_door_web_acl_arn": EDGE_ACL_ARN,
        "alarm_email": "team@example.com",
    },
    "http": {"ingress": "http"},
    "peak": {"peak_visits_per_second": 20000, "ingress": "function-url"},
    # The front door with its own edge WAF, which sees the visitor's own address.
    "http_front_door": {"ingress": "http", "front_door": "cloudfront", "front_door_waf_rate_limit": 1000},
    # A second tracker in the same account and region: another stack name.
    "function_url": {"ingress": "function-url", "stack_name": "DocsTracker"},
    "function_url_reserved": {"ingress": "function-url", "ingest_reserved_concurrency": 5, "front_door": "cloudfront"},
}


def _synthesize(name: str, context: dict[str, Any], outdir: Path) -> Synth:
    app, stack = build_app(dict(context), outdir=str(outdir))
    error = None
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag findings: keep going so the test can print them
        error = str(exc)
    template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return Synth(name, context, stack, outdir, template, report, error)


@pytest.fixture(scope="session", autouse=True)
def _no_real_aws() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in _DUMMY_ENV}
    os.environ.update(_DUMMY_ENV)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synth]:
    return {}


@pytest.fixture(scope="session")
def variant(synth_cache: dict[str, Synth], tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Synth]:
    """``variant("http")`` -> the Synth of that variant, built on first use."""

    def get(name: str) -> Synth:
        if name not in synth_cache:
            synth_cache[name] = _synthesize(name, VARIANTS[name], tmp_path_factory.mktemp(f"cdk-{name}"))
        return synth_cache[name]

    return get


@pytest.fixture(scope="session")
def rest(variant: Callable[[str], Synth]) -> Synth:
    return variant("rest")


@pytest.fixture(scope="session")
def rest_keyed(variant: Callable[[str], Synth]) -> Synth:
    return variant("rest_keyed")


@pytest.fixture(scope="session")
def rest_all(variant: Callable[[str], Synth]) -> Synth:
    return variant("rest_all")


@pytest.fixture(scope="session")
def peak(variant: Callable[[str], Synth]) -> Synth:
    return variant("peak")


@pytest.fixture(scope="session")
def http(variant: Callable[[str], Synth]) -> Synth:
    return variant("http")


@pytest.fixture(scope="session")
def function_url(variant: Callable[[str], Synth]) -> Synth:
    return variant("function_url")
