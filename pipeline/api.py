"""The three ways visits can reach ingest: REST API (default), HTTP API, or Lambda function URLs.

Each ingress construct exposes the same small surface (``api_url``, ``status_url``,
``server_errors``) so the stack, its outputs and the monitoring do not care which one was chosen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from functions.core.definitions import CORS_ALLOW_METHODS, CORS_MAX_AGE_SECONDS, NOT_FOUND_BODY, TOKEN_HEADER
from pipeline.nag import acknowledge
from pipeline.waf import rate_limited_web_acl

STAGE_NAME = "prod"

# Issue 13's public per-page counters, served by the status function from aggregates (they count no
# visit): GET /count?page=/post (JSON) and GET /badge.svg?page=/post&label=views (SVG). Public in
# every mode, never API-keyed: a badge <img> in a README or a page cannot send x-api-key, and they
# answer only the aggregate numbers of the page a caller names. Query parameter -> required.
COUNTER_ROUTES: dict[str, dict[str, bool]] = {
    "count": {"page": True},
    "badge.svg": {"page": True, "label": False},
}

# Issue 21's site script (GET /script.js?ext=outbound,downloads,404), a static asset served by the status
# function (by ingest behind function URLs): public in every mode like the counters, since a <script>
# tag sends no key. Its one optional query parameter names the extensions.
SCRIPT_PATH = "script.js"
SCRIPT_QUERY: dict[str, bool] = {"ext": False}
SCRIPT_REASON = (
    "GET /script.js is the site's public tracking script (a static file, no data, counts no visit), loaded by "
    "a <script> tag that cannot send credentials, so it is never keyed; bounded by the stage's throttling."
)

# The gateway's own error answers that get CORS headers besides the 404 (DEFAULT_4XX/5XX cover every
# other type that is not customized; the named ones are the errors a visitor's browser can meet).
GATEWAY_ERROR_RESPONSES: dict[str, apigw.ResponseType] = {
    "Default4xx": apigw.ResponseType.DEFAULT_4_XX,
    "Default5xx": apigw.ResponseType.DEFAULT_5_XX,
    "Throttled": apigw.ResponseType.THROTTLED,  # 429, stage or usage-plan throttle
    "QuotaExceeded": apigw.ResponseType.QUOTA_EXCEEDED,  # 429, usage-plan quota
    "AccessDenied": apigw.ResponseType.ACCESS_DENIED,  # 403, e.g. a WAF block
    "InvalidApiKey": apigw.ResponseType.INVALID_API_KEY,  # 403, missing or wrong x-api-key
    "IntegrationTimeout": apigw.ResponseType.INTEGRATION_TIMEOUT,  # 504
}
# The request validator's 400 (a required query parameter missing, e.g. /count without page) answers
# in the functions' error shape, {"error": "..."}, instead of API Gateway's {"message": "..."}.
BAD_REQUEST_PARAMETERS_TEMPLATE = '{"error": $context.error.messageString}'


def gateway_cors_headers(origins: tuple[str, ...]) -> dict[str, str]:
    """Gateway response headers (API Gateway's quoted-literal / mapping syntax) for CORS on errors."""
    if "*" in origins:
        return {"Access-Control-Allow-Origin": "'*'"}
    if len(origins) == 1:
        return {"Access-Control-Allow-Origin": f"'{origins[0]}'", "Vary": "'Origin'"}
    return {"Access-Control-Allow-Origin": "method.request.header.Origin", "Vary": "'Origin'"}


@dataclass(frozen=True)
class IngressSettings:
    """What every ingress variant needs to know, already validated by TrackerConfig."""

    allowed_origins: tuple[str, ...]
    throttle_rate_limit: int
    throttle_burst_limit: int
    log_retention: logs.RetentionDays
    retain_logs: bool
    log_client_ip: bool
    # REST only: none | existing | create (what the stack does with API Gateway's account-wide role).
    logging_role: str = "none"


@dataclass(frozen=True)
class ApiKeySettings:
    """REST only: which routes need an API key, and the usage plan that meters keyed callers."""

    mode: str  # none | status | all
    rate_limit: int
    burst_limit: int
    quota_per_day: int


class Ingress(Construct):
    """Common surface of the three variants."""

    api_url: str
    status_url: str
    server_errors: cloudwatch.IMetric | None = None
    # Where a CloudFront front door sends requests: the origin's host name and path prefix.
    origin_domain: str
    origin_path: str = ""


def _access_log_group(scope: Construct, settings: IngressSettings) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
        "AccessLogs",
        retention=settings.log_retention,
        removal_policy=RemovalPolicy.RETAIN if settings.retain_logs else RemovalPolicy.DESTROY,
    )


class RestIngress(Ingress):
    """API Gateway REST API: GET / -> ingest; GET /status, /dashboard, /count, /badge.svg, /script.js -> status.

    Stage throttling, JSON access logs, ERROR-level execution logs, X-Ray, a request validator,
    optional API keys + usage plan, optional WAF rate-based rule per client IP.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ingest: lambda_.IFunction,
        status: lambda_.IFunction,
        settings: IngressSettings,
        api_keys: ApiKeySettings,
        waf_rate_limit: int | None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Access and execution logs both need the region's API Gateway CloudWatch role. "create"
        # makes the stack set it (replacing any role already set: opt-in); "existing" relies on the
        # one already set; "none" turns both logs off so a deployment never depends on it.
        logging_on = settings.logging_role != "none"
        access_logs = _access_log_group(self, settings) if logging_on else None
        log_options: dict[str, object] = {}
        if access_logs is not None:
            log_options = {
                "logging_level": apigw.MethodLoggingLevel.ERROR,
                "access_log_destination": apigw.LogGroupLogDestination(access_logs),
                "access_log_format": apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=settings.log_client_ip,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            }
        self.api = apigw.RestApi(
            self,
            "RestApi",
            # API names are console labels, not unique identifiers: the stack name keeps them apart.
            rest_api_name=f"{Stack.of(self).stack_name}-api",
            description="visitor tracker",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=settings.logging_role == "create",
            # Retained on stack deletion: the account setting would otherwise point at a deleted role.
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if settings.logging_role == "create" else None,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=settings.throttle_rate_limit,
                throttling_burst_limit=settings.throttle_burst_limit,
                tracing_enabled=True,
                data_trace_enabled=False,  # would log request/response bodies: visitor data
                metrics_enabled=False,  # per-method metrics are billed; the API-level ones are free
                **log_options,  # type: ignore[arg-type]
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=list(settings.allowed_origins),
                allow_methods=list(CORS_ALLOW_METHODS),
                max_age=Duration.seconds(CORS_MAX_AGE_SECONDS),
            ),
        )
        # GET carries no body (so body validation is a no-op); the validator rejects requests missing
        # declared required parameters before a function is invoked.
        validator = self.api.add_request_validator(
            "RequestValidator", validate_request_parameters=True, validate_request_body=True
        )
        key_for_status = api_keys.mode in ("status", "all")
        key_for_ingest = api_keys.mode == "all"
        ingest_method = self.api.root.add_method(
            "GET",
            apigw.LambdaIntegration(ingest),
            request_validator=validator,
            api_key_required=key_for_ingest,
        )
        _acknowledge_open_method(
            ingest_method,
            "GET / is the tracking beacon, called from every visitor's browser: visitors have no "
            "identity to authorize; abuse is bounded by stage throttling"
            + (", the API key and the usage plan." if key_for_ingest else " (and WAF / api_key=all if enabled)."),
        )
        status_integration = apigw.LambdaIntegration(status)
        status_resource = self.api.root.add_resource("status")
        status_method = status_resource.add_method(
            "GET", status_integration, request_validator=validator, api_key_required=key_for_status
        )
        explore_method = status_resource.add_resource("explore").add_method(
            "GET", status_integration, request_validator=validator, api_key_required=key_for_status
        )
        _acknowledge_open_method(
            explore_method,
            "GET /status/explore (the lake's answers, issue 22) is authorized by the status function itself with "
            "the same check as /status: the owner's access token or a shared link's, unless public_dashboard.",
        )
        _acknowledge_open_method(
            status_method,
            "GET /status is authorized by the status function itself, the same on every ingress: the owner's "
            "access token or a shared link's (Authorization: Bearer), unless public_dashboard is set; "
            "a single site owner needs no Cognito user pool"
            + (f"; an API key is required too (api_key={api_keys.mode})." if key_for_status else "."),
        )
        # The dashboard page is static HTML with no data in it: it is never keyed, because a browser
        # opening it cannot send x-api-key or a token. The status function answers an anonymous caller
        # 401 with the page's sign-in form; the page asks for the token once and sends it to /status.
        dashboard_method = self.api.root.add_resource("dashboard").add_method(
            "GET", status_integration, request_validator=validator
        )
        _acknowledge_open_method(
            dashboard_method,
            "GET /dashboard is a static page without data: the status function answers anonymous callers 401 "
            "with its sign-in form, and the numbers come from /status, which needs the owner's token.",
        )
        self.counter_methods: dict[str, apigw.Method] = {}
        for path_part, parameters in COUNTER_ROUTES.items():
            method = self.api.root.add_resource(path_part).add_method(
                "GET",
                status_integration,
                request_validator=validator,
                request_parameters={f"method.request.querystring.{name}": req for name, req in parameters.items()},
                api_key_required=False,
            )
            _acknowledge_open_method(
                method,
                f"GET /{path_part} is a public per-page counter (aggregate numbers of the page named in the "
                "query, read-only, counts no visit), meant for badges and pages that cannot send an API key, "
                "so it is never keyed, whatever api_key says; bounded by stage throttling"
                + (" and WAF." if waf_rate_limit is not None else "."),
            )
            self.counter_methods[path_part] = method
        self.script_method = self.api.root.add_resource(SCRIPT_PATH).add_method(
            "GET",
            status_integration,
            request_validator=validator,
            request_parameters={f"method.request.querystring.{name}": req for name, req in SCRIPT_QUERY.items()},
            api_key_required=False,
        )
        _acknowledge_open_method(self.script_method, SCRIPT_REASON)
        cloud_watch_role = self.api.node.try_find_child("CloudWatchRole")
        if cloud_watch_role is not None:
            acknowledge(
                cloud_watch_role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "API Gateway's account-level logging role: AmazonAPIGatewayPushToCloudWatchLogs is the "
                "policy AWS documents for it, assumable only by apigateway.amazonaws.com.",
            )
        self.execution_logs: logs.LogGroup | None = None
        if logging_on:
            self._own_execution_log_group(settings)
        else:
            acknowledge(
                self.api.deployment_stage,
                "AwsSolutions-APIG1",
                "Access logging is off because context api_gateway_logging_role=none: REST access logs need "
                "the region's API Gateway CloudWatch role, which this stack does not take over unless told to "
                "(existing | create). Function logs and the per-visit log items remain.",
            )
            acknowledge(
                self.api.deployment_stage,
                "AwsSolutions-APIG6",
                "Execution logging is off for the same reason (api_gateway_logging_role=none).",
            )
        self._add_cors_to_gateway_errors(settings.allowed_origins)
        self.api_key: apigw.IApiKey | None = None
        if api_keys.mode != "none":
            self._add_usage_plan(api_keys)
        self.web_acl: wafv2.CfnWebACL | None = None
        if waf_rate_limit is not None:
            self._add_waf(waf_rate_limit)
        else:
            acknowledge(
                self.api.deployment_stage,
                "AwsSolutions-APIG3",
                "AWS WAF is opt-in (context waf_rate_limit): it costs at least $6/month per "
                "stage; stage throttling and the optional usage plan are the default abuse limits.",
            )
        self.api_url = self.api.url
        self.status_url = self.api.url_for_path("/status")
        self.server_errors = self.api.metric_server_error(period=Duration.minutes(5), statistic="Sum")
        self.origin_domain = f"{self.api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"
        self.origin_path = f"/{STAGE_NAME}"

    def _own_execution_log_group(self, settings: IngressSettings) -> None:
        """API Gateway writes execution logs to ``API-Gateway-Execution-Logs_<api id>/<stage>`` and would
        create that group itself, with no retention; the stack creates it first, with retention."""
        self.execution_logs = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=f"API-Gateway-Execution-Logs_{self.api.rest_api_id}/{STAGE_NAME}",
            retention=settings.log_retention,
            removal_policy=RemovalPolicy.RETAIN if settings.retain_logs else RemovalPolicy.DESTROY,
        )
        self.api.deployment_stage.node.add_dependency(self.execution_logs)

    def _add_cors_to_gateway_errors(self, origins: tuple[str, ...]) -> None:
        """Every error the gateway makes itself (unknown path, missing key, throttled, quota, WAF block,
        integration failure) carries the CORS headers, so a browser shows the error, not a CORS failure.

        An unknown path or method is a 404 JSON error, as in local mode (API Gateway's own answer would
        be a 403 "Missing Authentication Token"). With several allowed origins the request's Origin is
        echoed (error bodies hold no data), with ``Vary: Origin``.
        """
        headers = gateway_cors_headers(origins)
        self.api.add_gateway_response(
            "NotFound",
            type=apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
            status_code="404",
            templates={"application/json": json.dumps(NOT_FOUND_BODY)},
            response_headers=headers,
        )
        for name, response_type in GATEWAY_ERROR_RESPONSES.items():
            self.api.add_gateway_response(name, type=response_type, response_headers=headers)
        self.api.add_gateway_response(
            "BadRequestParameters",
            type=apigw.ResponseType.BAD_REQUEST_PARAMETERS,
            status_code="400",
            templates={"application/json": BAD_REQUEST_PARAMETERS_TEMPLATE},
            response_headers=headers,
        )

    def _add_usage_plan(self, api_keys: ApiKeySettings) -> None:
        plan = self.api.add_usage_plan(
            "UsagePlan",
            description="visitor tracker keyed callers",
            throttle=apigw.ThrottleSettings(rate_limit=api_keys.rate_limit, burst_limit=api_keys.burst_limit),
            quota=apigw.QuotaSettings(limit=api_keys.quota_per_day, period=apigw.Period.DAY),
        )
        plan.add_api_stage(stage=self.api.deployment_stage)
        self.api_key = self.api.add_api_key("ApiKey", description="visitor tracker key (value stays in API Gateway)")
        plan.add_api_key(self.api_key)

    def _add_waf(self, limit: int) -> None:
        """A rate-based rule per client IP: blocks an address above ``limit`` requests in 5 minutes."""
        self.web_acl = rate_limited_web_acl(
            self, "WebAcl", waf_scope="REGIONAL", limit=limit, metric_prefix="VisitorTracker"
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )


def _acknowledge_open_method(method: apigw.Method, reason: str) -> None:
    for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
        acknowledge(method, rule, reason)


class HttpIngress(Ingress):
    """API Gateway HTTP API: cheaper and faster than REST, no API keys, WAF or request validation."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ingest: lambda_.IFunction,
        status: lambda_.IFunction,
        settings: IngressSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = _access_log_group(self, settings)
        self.api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=f"{Stack.of(self).stack_name}-api",
            description="visitor tracker",
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=list(settings.allowed_origins),
                allow_methods=[apigwv2.CorsHttpMethod(m) for m in CORS_ALLOW_METHODS],
                max_age=Duration.seconds(CORS_MAX_AGE_SECONDS),
            ),
        )
        for route in self.api.add_routes(
            path="/",
            methods=[apigwv2.HttpMethod.GET],
            integration=integrations.HttpLambdaIntegration("Ingest", ingest),
        ):
            acknowledge(
                route,
                "AwsSolutions-APIG4",
                "GET / is the tracking beacon, called from every visitor's browser: visitors have no "
                "identity to authorize; abuse is bounded by the stage's default route throttling.",
            )
        status_integration = integrations.HttpLambdaIntegration("Status", status)
        for path in ("/status", "/status/explore", "/dashboard"):
            for route in self.api.add_routes(
                path=path, methods=[apigwv2.HttpMethod.GET], integration=status_integration
            ):
                acknowledge(
                    route,
                    "AwsSolutions-APIG4",
                    f"GET {path} is authorized by the status function itself: the owner's access token or a "
                    "shared link's (Authorization: Bearer), the same on every ingress, unless public_dashboard.",
                )
        # The public per-page counters; HTTP APIs validate no parameters: the status function answers a
        # missing page with its own 400.
        for path_part in COUNTER_ROUTES:
            for route in self.api.add_routes(
                path=f"/{path_part}", methods=[apigwv2.HttpMethod.GET], integration=status_integration
            ):
                acknowledge(
                    route,
                    "AwsSolutions-APIG4",
                    f"GET /{path_part} is a public per-page counter (aggregate numbers of one page, read-only, "
                    "counts no visit) for badges and pages that cannot authenticate; bounded by the stage's "
                    "default route throttling.",
                )
        for route in self.api.add_routes(
            path=f"/{SCRIPT_PATH}", methods=[apigwv2.HttpMethod.GET], integration=status_integration
        ):
            acknowledge(route, "AwsSolutions-APIG4", SCRIPT_REASON)
        # Unknown paths go to the status function, whose 404 carries the CORS headers: HTTP APIs have
        # no gateway responses, and their own 404 "Not Found" would carry none.
        default_route = apigwv2.HttpRoute(
            self,
            "DefaultRoute",
            http_api=self.api,
            route_key=apigwv2.HttpRouteKey.DEFAULT,
            integration=status_integration,
        )
        acknowledge(
            default_route,
            "AwsSolutions-APIG4",
            "$default answers unknown paths with a 404 JSON error (status function); it exposes no data.",
        )
        stage = self.api.default_stage
        if stage is None:  # pragma: no cover - create_default_stage defaults to True
            raise RuntimeError("the HTTP API has no default stage")
        # The L2 stage props cannot set the default route throttle or access logs of the
        # auto-created $default stage, so they go on its L1 resource.
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.default_route_settings = apigwv2.CfnStage.RouteSettingsProperty(
            throttling_rate_limit=settings.throttle_rate_limit,
            throttling_burst_limit=settings.throttle_burst_limit,
            detailed_metrics_enabled=False,
        )
        log_format = {
            "requestId": "$context.requestId",
            "requestTime": "$context.requestTime",
            "httpMethod": "$context.httpMethod",
            "routeKey": "$context.routeKey",
            "status": "$context.status",
            "protocol": "$context.protocol",
            "responseLength": "$context.responseLength",
            "integrationError": "$context.integrationErrorMessage",
        }
        if settings.log_client_ip:
            log_format["ip"] = "$context.identity.sourceIp"
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn,
            format=Fn.to_json_string(log_format),
        )
        self.api_url = self.api.api_endpoint + "/"
        self.status_url = self.api.api_endpoint + "/status"
        self.server_errors = self.api.metric_server_error(period=Duration.minutes(5), statistic="Sum")
        self.origin_domain = f"{self.api.api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"


class FunctionUrlIngress(Ingress):
    """Lambda function URLs: no gateway at all. Both URLs are public (auth NONE); status checks the
    owner's access token itself, as it does behind the APIs, so the dashboard works in a browser. The
    public ``/script.js`` is served by ingest's URL (ingest answers that one path besides ``/``).

    Nothing throttles a public function URL except the function's reserved concurrency (opt-in:
    ``ingest_reserved_concurrency``, which needs account quota; see docs/deploy.md).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ingest: lambda_.Function,
        status: lambda_.Function,
        settings: IngressSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        self.ingest_url = ingest.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.NONE,
            cors=lambda_.FunctionUrlCorsOptions(
                allowed_origins=list(settings.allowed_origins),
                allowed_methods=[lambda_.HttpMethod.GET],
                max_age=Duration.seconds(CORS_MAX_AGE_SECONDS),
            ),
        )
        self.status_function_url = status.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.NONE,
            cors=lambda_.FunctionUrlCorsOptions(
                allowed_origins=list(settings.allowed_origins),
                allowed_methods=[lambda_.HttpMethod.GET],
                allowed_headers=["authorization", TOKEN_HEADER],
                max_age=Duration.seconds(CORS_MAX_AGE_SECONDS),
            ),
        )
        self.api_url = self.ingest_url.url
        self.status_url = self.status_function_url.url + "status"
        self.origin_domain = Fn.select(2, Fn.split("/", self.ingest_url.url))  # https://<host>/
