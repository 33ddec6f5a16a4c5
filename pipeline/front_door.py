"""A first-party front door: CloudFront serving the tracker under a path of the site's own domain.

Requests to ``<site>/<prefix>/...`` (e.g. ``/vt/``, ``/vt/status``) reach the API with the prefix
removed by a CloudFront Function, so the browser calls its own origin: no third-party host for
blockers to match and no CORS at all. Nothing is cached (every request is a visit) except the
per-page badge ``<prefix>/badge.svg``, kept at the edge as long as the status function's
``Cache-Control`` says (60 s, at most ``BADGE_MAX_TTL_SECONDS``) per page and label, and the site's
script ``<prefix>/script.js`` (a day, compressed, per ``ext``); the query string (page, ref) and the
headers the functions read are forwarded, plus ``CloudFront-Viewer-Country`` and
``CloudFront-Viewer-Address`` (the visitor's address; the API otherwise sees CloudFront's). The
``Host`` header is not forwarded: API Gateway routes on its own host name.

Every origin request carries a secret header (``X-Visitor-Tracker-Origin``) whose value only the
distribution and the functions know: the functions trust ``CloudFront-Viewer-Address`` on requests
that carry it, and ignore it on requests that went around CloudFront to the API itself. The value is
drawn once, when the stack is created, by Secrets Manager's ``GetRandomPassword`` (nothing is stored
there and nothing is billed per month); it stays the same across updates.

Resource names carry the stack's name and region: CloudFront policies and functions are global to
the account, so the same stack name deployed in two regions (for example a us-east-1 copy for the
edge WAF) no longer collides (aws/aws-cdk#34336).

The distribution can be the site's own (add the site's origin as its default behaviour) or its
``/<prefix>/*`` behaviour can be copied into the site's existing distribution (docs/deploy.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Duration, Fn, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from functions.core.definitions import FRONT_DOOR_SECRET_HEADER
from pipeline.nag import acknowledge
from pipeline.waf import rate_limited_web_acl

# Headers the origin receives: what the functions read (User-Agent, Referer, Origin for CORS,
# x-api-key when keyed) and what only CloudFront can tell (country, viewer address, its network: ASN).
FORWARDED_HEADERS: tuple[str, ...] = (
    "CloudFront-Viewer-Country",
    "CloudFront-Viewer-Address",
    "CloudFront-Viewer-ASN",
    "User-Agent",
    "Referer",
    "Origin",
    "x-api-key",
    # The dashboard's access token: CloudFront refuses Authorization in an origin request policy.
    "x-visitor-tracker-token",
)


# The badge (GET /badge.svg?page=...&label=...) counts no visit and is the same picture for everyone
# for a minute: the edge keeps it as long as the origin's Cache-Control max-age allows (the status
# function sends 60 s), never longer than this, keyed by the query parameters that shape it (the page, the
# label and, with several sites, the site: another site's badge is another picture). No
# header is in the key (an <img> sends no CORS request). /count stays uncached like every other path:
# it is a cheap read from aggregates and the snippet wants the page's number fresh after its visit.
BADGE_PATH = "badge.svg"
BADGE_QUERY_KEYS: tuple[str, ...] = ("page", "label", "site")
BADGE_DEFAULT_TTL_SECONDS = 60
BADGE_MAX_TTL_SECONDS = 300
# The site's script (GET /script.js?ext=...) is a static file: the edge keeps it as long as the origin's
# Cache-Control says (a day), keyed by its one query parameter and compressed for the viewer.
SCRIPT_PATH = "script.js"
SCRIPT_QUERY_KEYS: tuple[str, ...] = ("ext",)
SCRIPT_MAX_TTL_SECONDS = 86_400


@dataclass(frozen=True)
class FrontDoorSettings:
    """Validated by TrackerConfig: the path prefix and the optional edge WAF."""

    path_prefix: str  # "/vt"
    waf_rate_limit: int | None
    web_acl_arn: str | None


# CloudFront names: at most 64 characters for functions, 128 for policies; the region is a token.
_NAME_STACK_CHARS = 24
SECRET_LENGTH = 40


def resource_name(scope: Construct, purpose: str) -> str:
    """``<stack>-<region>-<purpose>``: unique per account for CloudFront's account-global names."""
    stack = Stack.of(scope).stack_name[:_NAME_STACK_CHARS]
    return f"{stack}-{Aws.REGION}-{purpose}"


def strip_prefix_code(prefix: str) -> str:
    """CloudFront Function (viewer request): ``/vt`` -> ``/``, ``/vt/status`` -> ``/status``."""
    return (
        "function handler(event) {\n"
        "  var request = event.request;\n"
        f"  var prefix = '{prefix}';\n"
        "  if (request.uri === prefix || request.uri.indexOf(prefix + '/') === 0) {\n"
        "    request.uri = request.uri.substring(prefix.length) || '/';\n"
        "  }\n"
        "  return request;\n"
        "}\n"
    )


class FrontDoor(Construct):
    """The CloudFront distribution, its path-stripping function and (optionally) an edge web ACL."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        origin_domain: str,
        origin_path: str,
        settings: FrontDoorSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = settings.path_prefix
        strip = cloudfront.Function(
            self,
            "StripPrefix",
            function_name=resource_name(self, "strip"),
            code=cloudfront.FunctionCode.from_inline(strip_prefix_code(prefix)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment=f"visitor tracker: {prefix}/* -> the API's own paths",
        )
        origin_requests = cloudfront.OriginRequestPolicy(
            self,
            "OriginRequests",
            origin_request_policy_name=resource_name(self, "origin-requests"),
            comment="visitor tracker: query string and the headers the functions read, never Host",
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.all(),
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(*FORWARDED_HEADERS),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        self.secret = self._origin_secret()
        origin = origins.HttpOrigin(
            origin_domain,
            origin_path=origin_path or None,
            custom_headers={FRONT_DOOR_SECRET_HEADER: self.secret},
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
        )
        behavior = cloudfront.BehaviorOptions(
            origin=origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=origin_requests,
            function_associations=[
                cloudfront.FunctionAssociation(function=strip, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)
            ],
        )
        # Two paths the edge may keep, each for as long as the origin's max-age allows: the per-page
        # badge (<= 5 min) and the site's script (<= 1 day, compressed).
        badge = self._cached(
            "BadgeCache",
            "badge",
            "the per-page badge, for as long as the origin's max-age (<= 5 min)",
            BADGE_DEFAULT_TTL_SECONDS,
            BADGE_MAX_TTL_SECONDS,
            BADGE_QUERY_KEYS,
            behavior,
            compress=False,
        )
        script = self._cached(
            "ScriptCache", "script", "the site's script, as long as the origin's max-age (<= 1 day)",
            SCRIPT_MAX_TTL_SECONDS, SCRIPT_MAX_TTL_SECONDS, SCRIPT_QUERY_KEYS, behavior, compress=True,
        )  # fmt: skip
        self.web_acl_arn = settings.web_acl_arn
        if settings.waf_rate_limit is not None:
            self.web_acl_arn = self._web_acl(settings.waf_rate_limit)
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="visitor tracker front door",
            # The default behaviour serves the tracker too, so the distribution works on its own;
            # the site's origin replaces it when this distribution becomes the site's.
            default_behavior=behavior,
            # CloudFront takes the first matching pattern in this order: badge and script before <prefix>/*.
            additional_behaviors={
                f"{prefix}/{BADGE_PATH}": badge,
                f"{prefix}/{SCRIPT_PATH}": script,
                f"{prefix}/*": behavior,
                prefix: behavior,
            },
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            web_acl_id=self.web_acl_arn,
        )
        self.url = f"https://{self.distribution.distribution_domain_name}{prefix}/"
        self._acknowledge(settings)

    def _cached(
        self,
        construct_id: str,
        purpose: str,
        comment: str,
        default_ttl: int,
        max_ttl: int,
        query_keys: tuple[str, ...],
        uncached: cloudfront.BehaviorOptions,
        *,
        compress: bool,
    ) -> cloudfront.BehaviorOptions:
        """``uncached`` with a cache policy keyed by ``query_keys`` only (no header, no cookie)."""
        policy = cloudfront.CachePolicy(
            self,
            construct_id,
            cache_policy_name=resource_name(self, purpose),
            comment=f"visitor tracker: {comment}",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(default_ttl),
            max_ttl=Duration.seconds(max_ttl),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.allow_list(*query_keys),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        return cloudfront.BehaviorOptions(
            origin=uncached.origin,
            viewer_protocol_policy=uncached.viewer_protocol_policy,
            allowed_methods=uncached.allowed_methods,
            cache_policy=policy,
            origin_request_policy=uncached.origin_request_policy,
            function_associations=uncached.function_associations,
            compress=compress or None,
        )

    def _origin_secret(self) -> str:
        """A random value drawn once at stack creation (not on updates): the origin header's secret."""
        draw = cr.AwsCustomResource(
            self,
            "OriginSecret",
            on_create=cr.AwsSdkCall(
                service="SecretsManager",
                action="getRandomPassword",
                parameters={"PasswordLength": SECRET_LENGTH, "ExcludePunctuation": True, "IncludeSpace": False},
                physical_resource_id=cr.PhysicalResourceId.of("visitor-tracker-front-door-secret"),
                output_paths=["RandomPassword"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
            install_latest_aws_sdk=False,
        )
        acknowledge(
            draw,
            "AwsSolutions-IAM5[Resource::*]",
            "secretsmanager:GetRandomPassword acts on no resource (it returns random characters and stores "
            "nothing), so IAM only accepts '*' for it; it runs once, at stack creation.",
        )
        provider = Stack.of(self).node.try_find_child(
            "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        )
        for child in [provider] if provider is not None else []:
            self._acknowledge_provider(child)
        return draw.get_response_field("RandomPassword")

    @staticmethod
    def _acknowledge_provider(provider: IConstruct) -> None:
        acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "The CDK's own custom-resource function (runs at deploy time only) logs with the basic execution role.",
        )
        acknowledge(
            provider,
            "AwsSolutions-L1",
            "The CDK's own custom-resource function: its runtime is chosen by the aws-cdk-lib release.",
        )

    def _web_acl(self, limit: int) -> str:
        """A CLOUDFRONT-scope web ACL with a rate rule per client IP; such ACLs exist only in us-east-1."""
        CfnRule(
            self,
            "WafNeedsUsEast1",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_equals(Aws.REGION, "us-east-1"),
                    assert_description=(
                        "front_door_waf_rate_limit creates a CLOUDFRONT web ACL, which must be in us-east-1: "
                        "deploy the stack there, or create the ACL in us-east-1 and pass front_door_web_acl_arn"
                    ),
                )
            ],
        )
        acl = rate_limited_web_acl(
            self, "WebAcl", waf_scope="CLOUDFRONT", limit=limit, metric_prefix="VisitorTrackerEdge"
        )
        return acl.attr_arn

    def _acknowledge(self, settings: FrontDoorSettings) -> None:
        d = self.distribution
        acknowledge(
            d,
            "AwsSolutions-CFR1",
            "A visitor counter serves every country; geo restrictions would drop real visits.",
        )
        acknowledge(
            d,
            "AwsSolutions-CFR3",
            "CloudFront standard logs need an S3 bucket (or a us-east-1 log delivery) and would duplicate "
            "what the stack already keeps: one DynamoDB log item per visit and the function logs.",
        )
        acknowledge(
            d,
            "AwsSolutions-CFR4",
            "The default *.cloudfront.net certificate cannot set a minimum viewer TLS version; on the site's "
            "own domain (alternate name + ACM certificate) the distribution uses TLSv1.2_2021.",
        )
        if settings.waf_rate_limit is None and settings.web_acl_arn is None:
            acknowledge(
                d,
                "AwsSolutions-CFR2",
                "Edge WAF is opt-in (front_door_waf_rate_limit or front_door_web_acl_arn): it costs at least "
                "$6/month; the API's own throttling still applies behind CloudFront.",
            )
