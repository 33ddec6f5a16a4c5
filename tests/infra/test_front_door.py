"""The first-party front door (front_door=cloudfront): CloudFront serving the tracker on a site path."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from pipeline.front_door import FORWARDED_HEADERS, strip_prefix_code

from .conftest import EDGE_ACL_ARN
from .helpers import Synth, logical_id

pytestmark = pytest.mark.xdist_group("infra")

FRONT_DOOR_VARIANTS = {
    "rest_all": "/stats",
    "http_front_door": "/vt",
    "function_url_reserved": "/vt",
}


CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # managed CachingDisabled


def _distribution(synth: Synth) -> dict[str, Any]:
    return synth.one("AWS::CloudFront::Distribution")["DistributionConfig"]  # type: ignore[no-any-return]


def test_no_front_door_by_default(rest: Synth, http: Synth, function_url: Synth) -> None:
    for synth in (rest, http, function_url):
        assert not synth.of_type("AWS::CloudFront::Distribution")
        assert "FrontDoorUrl" not in synth.template["Outputs"]


@pytest.mark.parametrize("variant_name", list(FRONT_DOOR_VARIANTS))
def test_the_site_path_goes_to_the_api_uncached_with_country_header(
    variant: Callable[[str], Synth], variant_name: str
) -> None:
    synth = variant(variant_name)
    prefix = FRONT_DOOR_VARIANTS[variant_name]
    config = _distribution(synth)
    # GIVEN the behaviours for <prefix> and <prefix>/* (and the badge, cached briefly: its own test)
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(behaviours) == {prefix, f"{prefix}/*", f"{prefix}/badge.svg", f"{prefix}/script.js"}
    for behaviour in [*behaviours.values(), config["DefaultCacheBehavior"]]:
        # THEN nothing is cached (every request is a visit; /count too), HTTPS only, GET/HEAD/OPTIONS
        if behaviour.get("PathPattern") not in (f"{prefix}/badge.svg", f"{prefix}/script.js"):
            assert behaviour["CachePolicyId"] == CACHING_DISABLED
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
        assert behaviour["AllowedMethods"] == ["GET", "HEAD", "OPTIONS"]
        # AND the prefix is stripped at the viewer request
        (association,) = behaviour["FunctionAssociations"]
        assert association["EventType"] == "viewer-request"
        # AND the origin request policy forwards the country header, never Host
        policy_id = behaviour["OriginRequestPolicyId"]["Ref"]
        policy = synth.resources[policy_id]["Properties"]["OriginRequestPolicyConfig"]
        headers = policy["HeadersConfig"]["Headers"]
        assert "CloudFront-Viewer-Country" in headers and "Host" not in headers
        assert set(headers) == set(FORWARDED_HEADERS)
        # AND the dashboard's token header (CloudFront answers 400 to a policy forwarding Authorization)
        assert "x-visitor-tracker-token" in headers and "Authorization" not in headers
        assert policy["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    function = next(iter(synth.of_type("AWS::CloudFront::Function").values()))["Properties"]
    assert f"'{prefix}'" in function["FunctionCode"]
    assert synth.template["Outputs"]["FrontDoorUrl"]["Value"]["Fn::Join"][1][-1] == f"{prefix}/"


@pytest.mark.parametrize("variant_name", list(FRONT_DOOR_VARIANTS))
def test_counters_pass_through_and_only_the_badge_is_cached_briefly(
    variant: Callable[[str], Synth], variant_name: str
) -> None:
    """<prefix>/count and <prefix>/badge.svg reach the API with the prefix stripped (issue 13). The badge,
    which counts no visit and is the same picture for everyone for a minute, is kept at the edge as long
    as the origin's Cache-Control allows (<= 5 min), keyed by page and label only; /count is not cached."""
    synth = variant(variant_name)
    prefix = FRONT_DOOR_VARIANTS[variant_name]
    config = _distribution(synth)
    patterns = [b["PathPattern"] for b in config["CacheBehaviors"]]
    # GIVEN CloudFront's first-match order: the badge's behaviour comes before <prefix>/*
    assert patterns.index(f"{prefix}/badge.svg") < patterns.index(f"{prefix}/*")
    by_pattern = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    badge, rest = by_pattern[f"{prefix}/badge.svg"], by_pattern[f"{prefix}/*"]
    # THEN /count falls under <prefix>/* (uncached) and the badge goes to the same origin, prefix stripped
    assert rest["CachePolicyId"] == CACHING_DISABLED
    assert badge["TargetOriginId"] == rest["TargetOriginId"]
    assert badge["FunctionAssociations"] == rest["FunctionAssociations"]
    assert badge["OriginRequestPolicyId"] == rest["OriginRequestPolicyId"]
    # AND the badge's cache honours the origin's max-age (min 0) up to 5 minutes, per page and label
    policy = synth.resources[badge["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    assert (policy["MinTTL"], policy["DefaultTTL"], policy["MaxTTL"]) == (0, 60, 300)
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "whitelist", "QueryStrings": ["page", "label", "site"]}
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}


@pytest.mark.parametrize("variant_name", list(FRONT_DOOR_VARIANTS))
def test_the_site_script_is_cached_a_day_per_extension_set_and_compressed(
    variant: Callable[[str], Synth], variant_name: str
) -> None:
    """<prefix>/script.js (issue 21) is a static file: kept at the edge as long as the origin says (a day at
    most), one copy per ``ext`` value, compressed for the viewer, same origin and prefix stripping."""
    synth = variant(variant_name)
    prefix = FRONT_DOOR_VARIANTS[variant_name]
    behaviours = _distribution(synth)["CacheBehaviors"]
    patterns = [b["PathPattern"] for b in behaviours]
    # GIVEN the script's behaviour comes before <prefix>/* (CloudFront takes the first match)
    assert patterns.index(f"{prefix}/script.js") < patterns.index(f"{prefix}/*")
    by_pattern = {b["PathPattern"]: b for b in behaviours}
    script, rest = by_pattern[f"{prefix}/script.js"], by_pattern[f"{prefix}/*"]
    # THEN it goes to the same origin with the prefix stripped, compressed
    assert script["TargetOriginId"] == rest["TargetOriginId"]
    assert script["FunctionAssociations"] == rest["FunctionAssociations"]
    assert script["Compress"] is True
    # AND its cache honours the origin's max-age up to a day, keyed by ext only
    policy = synth.resources[script["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    assert (policy["MinTTL"], policy["DefaultTTL"], policy["MaxTTL"]) == (0, 86_400, 86_400)
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "whitelist", "QueryStrings": ["ext"]}
    assert key["EnableAcceptEncodingGzip"] is True
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
    # AND the stack says where the script is: the front door's path
    joined = synth.template["Outputs"]["ScriptUrl"]["Value"]["Fn::Join"][1]
    assert joined[-1] == f"{prefix}/script.js"


def test_strip_prefix_keeps_the_counter_paths() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = strip_prefix_code("/vt") + (
        "for (const uri of ['/vt/count', '/vt/badge.svg', '/vt/script.js']) "
        "{ console.log(handler({request: {uri: uri}}).uri); }"
    )
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=30).stdout
    assert out.split() == ["/count", "/badge.svg", "/script.js"]


def test_origin_is_the_api_over_tls12(variant: Callable[[str], Synth]) -> None:
    rest_all = variant("rest_all")
    (origin,) = _distribution(rest_all)["Origins"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    assert origin["OriginPath"] == "/prod"  # REST stage
    api_id = logical_id(rest_all, "AWS::ApiGateway::RestApi", "")
    assert {"Ref": api_id} in origin["DomainName"]["Fn::Join"][1]
    (http_origin,) = _distribution(variant("http_front_door"))["Origins"]
    assert "OriginPath" not in http_origin  # $default stage
    (url_origin,) = _distribution(variant("function_url_reserved"))["Origins"]
    assert "Fn::Select" in url_origin["DomainName"]  # the ingest function URL's host


def test_edge_waf_in_stack_or_existing(variant: Callable[[str], Synth], http: Synth) -> None:
    # GIVEN front_door_waf_rate_limit=1000: a CLOUDFRONT web ACL, which only exists in us-east-1
    edge = variant("http_front_door")
    acl_id = logical_id(edge, "AWS::WAFv2::WebACL", "FrontDoorWebAcl")
    acl = edge.resources[acl_id]["Properties"]
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["Rules"][0]["Statement"]["RateBasedStatement"]["Limit"] == 1000
    assert _distribution(edge)["WebACLId"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    # THEN a deploy outside us-east-1 is refused up front by a template rule
    rule = next(v for k, v in edge.template["Rules"].items() if "WafNeedsUsEast1" in k)
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    # AND an existing edge ACL is attached as given
    assert _distribution(variant("rest_all"))["WebACLId"] == EDGE_ACL_ARN
    assert "WebACLId" not in _distribution(variant("function_url_reserved"))


def test_strip_prefix_function_behaviour() -> None:
    """Run the CloudFront Function's code under node: /vt -> /, /vt/status -> /status, others untouched."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = strip_prefix_code("/vt") + (
        "for (const uri of ['/vt', '/vt/', '/vt/status', '/vtx', '/other']) {"
        " console.log(handler({request: {uri: uri}}).uri); }"
    )
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=30).stdout
    assert out.split() == ["/", "/", "/status", "/vtx", "/other"]


def test_front_door_nag_acknowledgments_are_reasoned(variant: Callable[[str], Synth]) -> None:
    meta = json.dumps(
        json.loads((variant("function_url_reserved").outdir / "VisitorTracker.metadata.json").read_text())
    )
    for rule in ("AwsSolutions-CFR1", "AwsSolutions-CFR2", "AwsSolutions-CFR3", "AwsSolutions-CFR4"):
        assert rule in meta


@pytest.mark.parametrize("variant_name", list(FRONT_DOOR_VARIANTS))
def test_account_global_names_carry_the_stack_and_region(variant: Callable[[str], Synth], variant_name: str) -> None:
    """CloudFront functions and policies are global to the account: a second region must not collide."""
    synth = variant(variant_name)
    region_join = {"Fn::Join": ["", ["VisitorTracker-", {"Ref": "AWS::Region"}, "-strip"]]}
    (function,) = synth.of_type("AWS::CloudFront::Function").values()
    assert function["Properties"]["Name"] == region_join
    (policy,) = synth.of_type("AWS::CloudFront::OriginRequestPolicy").values()
    name = policy["Properties"]["OriginRequestPolicyConfig"]["Name"]
    assert name == {"Fn::Join": ["", ["VisitorTracker-", {"Ref": "AWS::Region"}, "-origin-requests"]]}
    caches = synth.of_type("AWS::CloudFront::CachePolicy").values()
    names = sorted(c["Properties"]["CachePolicyConfig"]["Name"]["Fn::Join"][1][-1] for c in caches)
    assert names == ["-badge", "-script"]  # the badge's and the script's
    assert all({"Ref": "AWS::Region"} in c["Properties"]["CachePolicyConfig"]["Name"]["Fn::Join"][1] for c in caches)


@pytest.mark.parametrize("variant_name", list(FRONT_DOOR_VARIANTS))
def test_origin_requests_carry_the_secret_the_functions_trust(
    variant: Callable[[str], Synth], variant_name: str
) -> None:
    synth = variant(variant_name)
    (origin,) = _distribution(synth)["Origins"]
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "x-visitor-tracker-origin"
    # the value is drawn once at creation (GetRandomPassword), never written in the template
    (draw_id,) = [k for k, v in synth.resources.items() if v["Type"] == "Custom::AWS"]
    assert header["HeaderValue"] == {"Fn::GetAtt": [draw_id, "RandomPassword"]}
    create = json.loads(synth.resources[draw_id]["Properties"]["Create"])
    assert (create["service"], create["action"]) == ("SecretsManager", "getRandomPassword")
    assert "Update" not in synth.resources[draw_id]["Properties"]  # the same secret across updates
    # AND ingest and status get it; the writer, which reads no request, does not
    for fn in synth.of_type("AWS::Lambda::Function").values():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        handler = fn["Properties"].get("Handler", "")
        if handler.startswith("functions.ingest") or handler.startswith("functions.status"):
            assert env["FRONT_DOOR_SECRET"] == {"Fn::GetAtt": [draw_id, "RandomPassword"]}
        elif handler.startswith("functions.writer"):
            assert "FRONT_DOOR_SECRET" not in env
