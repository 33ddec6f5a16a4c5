"""The three ingress options: REST API (default), HTTP API, Lambda function URLs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from .helpers import Synth, function_id, function_props, logical_id

# Issue 13's public per-page counters (status function): path -> query parameter -> required
COUNTER_PATHS = {"count": {"page": True}, "badge.svg": {"page": True, "label": False}}

pytestmark = pytest.mark.xdist_group("infra")


def _methods(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    """(http method, path) -> method properties; path '' is the root resource."""
    paths = {key: res["Properties"]["PathPart"] for key, res in synth.of_type("AWS::ApiGateway::Resource").items()}
    found = {}
    for res in synth.of_type("AWS::ApiGateway::Method").values():
        props = res["Properties"]
        resource = props["ResourceId"]
        path = paths[resource["Ref"]] if "Ref" in resource else ""
        found[(props["HttpMethod"], path)] = props
    return found


def _integration_target(props: dict[str, Any]) -> str:
    uri = json.dumps(props["Integration"]["Uri"])
    return next(name for name in ("ingest", "writer", "status") if name.capitalize() + "Function" in uri)


# --- REST (default) ---


def test_rest_routes_go_to_the_right_functions(rest: Synth) -> None:
    methods = _methods(rest)
    assert _integration_target(methods[("GET", "")]) == "ingest"
    assert _integration_target(methods[("GET", "status")]) == "status"
    assert _integration_target(methods[("GET", "dashboard")]) == "status"
    for key in (("GET", ""), ("GET", "status"), ("GET", "dashboard")):
        assert methods[key]["Integration"]["Type"] == "AWS_PROXY"
    assert not rest.of_type("AWS::ApiGatewayV2::Api")
    assert not rest.of_type("AWS::Lambda::Url")


def test_rest_cors_preflight_for_configured_origins(rest: Synth, rest_all: Synth) -> None:
    # GIVEN the default (any origin) and a two-origin configuration
    # THEN every route has an OPTIONS mock answering with the allowed origin(s)
    for synth in (rest, rest_all):
        methods = _methods(synth)
        for path in ("", "status", "dashboard"):
            assert methods[("OPTIONS", path)]["Integration"]["Type"] == "MOCK"
    default = _methods(rest)[("OPTIONS", "")]["Integration"]["IntegrationResponses"][0]
    assert default["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"] == "'*'"
    assert "GET" in default["ResponseParameters"]["method.response.header.Access-Control-Allow-Methods"]
    # With several origins CDK echoes the request's Origin when it is one of them.
    two = _methods(rest_all)[("OPTIONS", "")]["Integration"]["IntegrationResponses"][0]
    template = json.dumps(two)
    assert "https://www.example.com" in template and "https://blog.example.com" in template


def test_rest_stage_throttling_tracing_and_logging(rest: Synth, rest_keyed: Synth, rest_all: Synth) -> None:
    # GIVEN api_gateway_logging_role=existing (the account already has API Gateway's CloudWatch role)
    stage = rest_keyed.one("AWS::ApiGateway::Stage")
    assert stage["StageName"] == "prod"
    assert stage["TracingEnabled"] is True
    settings = stage["MethodSettings"][0]
    assert settings["HttpMethod"] == "*" and settings["ResourcePath"] == "/*"
    assert settings["ThrottlingRateLimit"] == 100
    assert settings["ThrottlingBurstLimit"] == 200
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    # JSON access logs into a log group with retention
    access = stage["AccessLogSetting"]
    log_group_id = access["DestinationArn"]["Fn::GetAtt"][0]
    assert rest_keyed.resources[log_group_id]["Properties"]["RetentionInDays"] == 30
    fmt = json.loads(access["Format"])
    assert {"requestId", "status", "ip", "httpMethod"} <= set(fmt)
    # AND the throttle follows context
    throttled = rest_all.one("AWS::ApiGateway::Stage")["MethodSettings"][0]
    assert (throttled["ThrottlingRateLimit"], throttled["ThrottlingBurstLimit"]) == (20, 40)


def test_rest_access_logs_drop_client_ip_unless_ip_mode_full(rest_all: Synth) -> None:
    fmt = json.loads(rest_all.one("AWS::ApiGateway::Stage")["AccessLogSetting"]["Format"])
    assert "ip" not in fmt


def test_default_never_touches_the_account_logging_role(rest: Synth) -> None:
    """api_gateway_logging_role=none (default): no account-wide setting taken over, so no REST logs that
    would need it (a deployment on a fresh account does not depend on a role it does not have)."""
    assert not rest.of_type("AWS::ApiGateway::Account")
    assert not [r for r in rest.of_type("AWS::IAM::Role").values() if "apigateway" in json.dumps(r)]
    stage = rest.one("AWS::ApiGateway::Stage")
    assert "AccessLogSetting" not in stage
    assert stage["MethodSettings"][0].get("LoggingLevel", "OFF") == "OFF"


def test_existing_logging_role_is_used_not_replaced(rest_keyed: Synth) -> None:
    assert not rest_keyed.of_type("AWS::ApiGateway::Account")


def test_create_logging_role_is_opt_in_and_retained(rest_all: Synth) -> None:
    account_id, account = next(iter(rest_all.of_type("AWS::ApiGateway::Account").items()))
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = rest_all.resources[role_id]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    # Retained on deletion: the region's API Gateway setting keeps pointing at a role that exists
    assert role["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("variant_name", ["rest_keyed", "rest_all"])
def test_execution_log_group_is_owned_by_the_stack_with_retention(
    variant: Callable[[str], Synth], variant_name: str
) -> None:
    # GIVEN REST logging on: API Gateway writes execution logs to API-Gateway-Execution-Logs_<id>/<stage>
    synth = variant(variant_name)
    api_id = logical_id(synth, "AWS::ApiGateway::RestApi", "")
    groups = {
        key: res
        for key, res in synth.of_type("AWS::Logs::LogGroup").items()
        if "API-Gateway-Execution-Logs_" in json.dumps(res["Properties"].get("LogGroupName", ""))
    }
    ((group_id, group),) = groups.items()
    assert group["Properties"]["LogGroupName"] == {
        "Fn::Join": ["", ["API-Gateway-Execution-Logs_", {"Ref": api_id}, "/prod"]]
    }
    # THEN the stack creates it, with retention, before the stage could make API Gateway create it
    assert group["Properties"]["RetentionInDays"] == (30 if variant_name == "rest_keyed" else 90)
    stage_id = logical_id(synth, "AWS::ApiGateway::Stage", "")
    assert group_id in synth.resources[stage_id]["DependsOn"]
    assert group["DeletionPolicy"] == ("Retain" if variant_name == "rest_keyed" else "Delete")


def test_rest_request_validator_on_every_get(rest: Synth) -> None:
    validators = rest.of_type("AWS::ApiGateway::RequestValidator")
    assert len(validators) == 1
    validator_id, validator = next(iter(validators.items()))
    assert validator["Properties"]["ValidateRequestParameters"] is True
    for (verb, _path), props in _methods(rest).items():
        if verb == "GET":
            assert props["RequestValidatorId"] == {"Ref": validator_id}


def test_rest_no_api_keys_by_default(rest: Synth) -> None:
    assert all(not props.get("ApiKeyRequired", False) for props in _methods(rest).values())
    assert not rest.of_type("AWS::ApiGateway::UsagePlan")
    assert not rest.of_type("AWS::ApiGateway::ApiKey")
    assert "ApiKeyId" not in rest.template["Outputs"]


def test_rest_api_key_status_mode_keys_only_the_read_routes(rest_keyed: Synth) -> None:
    methods = _methods(rest_keyed)
    assert methods[("GET", "status")]["ApiKeyRequired"] is True
    # the dashboard page holds no data and a browser cannot send a key to open it: never keyed
    assert methods[("GET", "dashboard")].get("ApiKeyRequired", False) is False
    assert methods[("GET", "")].get("ApiKeyRequired", False) is False
    # CORS preflights never need a key (browsers cannot send one on OPTIONS)
    assert all(not p.get("ApiKeyRequired", False) for (verb, _), p in methods.items() if verb == "OPTIONS")


def test_rest_api_key_all_mode_keys_every_get(rest_all: Synth) -> None:
    methods = _methods(rest_all)
    gets = {path: p for (verb, path), p in methods.items() if verb == "GET"}
    never_keyed = {"dashboard", "script.js", *COUNTER_PATHS}
    assert {"", "status"} <= set(gets)
    assert all(p["ApiKeyRequired"] is True for path, p in gets.items() if path not in never_keyed)
    for path in never_keyed:
        assert methods[("GET", path)].get("ApiKeyRequired", False) is False


def test_rest_unknown_paths_and_methods_are_a_404_json_error(rest: Synth) -> None:
    # API Gateway answers a path or method it has no route for with MISSING_AUTHENTICATION_TOKEN (403)
    (response,) = [
        r["Properties"]
        for r in rest.of_type("AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN"
    ]
    assert response["StatusCode"] == "404"
    assert response["ResponseTemplates"] == {"application/json": '{"error": "not found"}'}


@pytest.mark.parametrize("variant_name", ["rest_keyed", "rest_all"])
def test_usage_plan_with_throttle_quota_and_key(variant: Callable[[str], Synth], variant_name: str) -> None:
    synth = variant(variant_name)
    plan = synth.one("AWS::ApiGateway::UsagePlan")
    assert plan["Throttle"] == {"RateLimit": 50, "BurstLimit": 100}
    assert plan["Quota"] == {"Limit": 1_000_000, "Period": "DAY"}
    stage_id = logical_id(synth, "AWS::ApiGateway::Stage", "")
    assert plan["ApiStages"][0]["Stage"] == {"Ref": stage_id}
    key_id = logical_id(synth, "AWS::ApiGateway::ApiKey", "")
    plan_key = synth.one("AWS::ApiGateway::UsagePlanKey")
    assert plan_key["KeyId"] == {"Ref": key_id}
    assert "Value" not in synth.resources[key_id]["Properties"]  # API Gateway generates the secret
    assert synth.template["Outputs"]["ApiKeyId"]["Value"] == {"Ref": key_id}


def test_waf_off_by_default(rest: Synth) -> None:
    assert not rest.of_type("AWS::WAFv2::WebACL")
    assert not rest.of_type("AWS::WAFv2::WebACLAssociation")


def test_waf_rate_rule_per_ip_associated_with_the_stage(rest_keyed: Synth) -> None:
    Template.from_json(rest_keyed.template).has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "REGIONAL",  # the API's own ACL; the front door's edge ACL is CLOUDFRONT-scoped
            "DefaultAction": {"Allow": {}},
            "Rules": [
                Match.object_like(
                    {
                        "Action": {"Block": {}},
                        "Statement": {
                            "RateBasedStatement": {
                                "Limit": 500,
                                "AggregateKeyType": "IP",
                                "EvaluationWindowSec": 300,
                            }
                        },
                    }
                )
            ],
        },
    )
    association = rest_keyed.one("AWS::WAFv2::WebACLAssociation")
    acl_id = logical_id(rest_keyed, "AWS::WAFv2::WebACL", "IngressWebAcl")
    assert association["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    stage_id = logical_id(rest_keyed, "AWS::ApiGateway::Stage", "")
    assert stage_id in json.dumps(association["ResourceArn"])


def test_rest_outputs(rest: Synth) -> None:
    outputs = rest.template["Outputs"]
    api_url = json.dumps(outputs["ApiUrl"]["Value"])
    stage_ref = json.dumps({"Ref": logical_id(rest, "AWS::ApiGateway::Stage", "")})
    assert json.dumps({"Ref": logical_id(rest, "AWS::ApiGateway::RestApi", "")}) in api_url
    assert api_url.endswith(f'"/", {stage_ref}, "/"]]}}')
    assert json.dumps(outputs["StatusUrl"]["Value"]).endswith(f'"/", {stage_ref}, "/status"]]}}')


@pytest.mark.parametrize("variant_name", ["rest", "rest_keyed", "rest_all"])
def test_rest_per_page_counters_are_public_validated_proxies_to_status(
    variant: Callable[[str], Synth], variant_name: str
) -> None:
    """GET /count and /badge.svg (issue 13): proxied to the status function, a required ``page`` checked by
    the request validator before any function runs, CORS preflight like every route, and never keyed,
    not even with api_key=all: a badge <img> in a README cannot send x-api-key, and they answer only the
    aggregate numbers of the page a caller names (the visit itself is what api_key=all keys)."""
    synth = variant(variant_name)
    methods = _methods(synth)
    (validator_id,) = synth.of_type("AWS::ApiGateway::RequestValidator")
    for path, parameters in COUNTER_PATHS.items():
        props = methods[("GET", path)]
        assert _integration_target(props) == "status"
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert props.get("ApiKeyRequired", False) is False
        assert props["AuthorizationType"] == "NONE"
        assert props["RequestValidatorId"] == {"Ref": validator_id}
        assert props["RequestParameters"] == {
            f"method.request.querystring.{name}": required for name, required in parameters.items()
        }
        assert methods[("OPTIONS", path)]["Integration"]["Type"] == "MOCK"
    # AND each open method's cdk-nag acknowledgment gives its reason
    meta = json.dumps(json.loads((synth.outdir / "VisitorTracker.metadata.json").read_text()))
    for path in COUNTER_PATHS:
        assert f"GET /{path} is a public per-page counter" in meta


@pytest.mark.parametrize("variant_name", ["rest", "rest_all"])
def test_rest_site_script_is_public_and_never_keyed(variant: Callable[[str], Synth], variant_name: str) -> None:
    """GET /script.js (issue 21): the site's script, a <script> tag cannot send a key, so it is open in
    every api_key mode (also api_key=all), proxied to the status function with its optional ``ext``."""
    synth = variant(variant_name)
    props = _methods(synth)[("GET", "script.js")]
    assert _integration_target(props) == "status"
    assert props.get("ApiKeyRequired", False) is False
    assert props["AuthorizationType"] == "NONE"
    assert props["RequestParameters"] == {"method.request.querystring.ext": False}
    outputs = synth.template["Outputs"]
    assert outputs["ScriptUrl"]["Value"]["Fn::Join"][1][-1].endswith("/script.js")


# --- HTTP API ---


def test_http_api_routes_cors_and_integrations(http: Synth) -> None:
    api = http.one("AWS::ApiGatewayV2::Api")
    assert api["ProtocolType"] == "HTTP"
    assert api["CorsConfiguration"]["AllowOrigins"] == ["*"]
    assert set(api["CorsConfiguration"]["AllowMethods"]) == {"GET", "OPTIONS"}
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in http.of_type("AWS::ApiGatewayV2::Route").values()}
    assert set(routes) == {
        "GET /",
        "GET /status",
        "GET /status/explore",
        "GET /dashboard",
        "GET /count",
        "GET /badge.svg",
        "GET /script.js",
        "$default",
    }
    integrations = http.of_type("AWS::ApiGatewayV2::Integration")
    targets = {}
    for key, route in routes.items():
        integration_id = route["Target"]["Fn::Join"][1][1]["Ref"]
        uri = integrations[integration_id]["Properties"]["IntegrationUri"]
        targets[key] = uri["Fn::GetAtt"][0]
    assert targets["GET /"] == function_id(http, "ingest")
    assert targets["GET /status"] == targets["GET /dashboard"] == function_id(http, "status")
    assert targets["GET /count"] == targets["GET /badge.svg"] == function_id(http, "status")
    assert targets["GET /script.js"] == function_id(http, "status")
    # no authorizer on any route: HTTP APIs have no keys, and the counters are public anyway
    assert all(route.get("AuthorizationType", "NONE") == "NONE" for route in routes.values())
    # Unknown paths reach the status function, whose 404 carries CORS headers (HTTP APIs have no
    # gateway responses to customize)
    assert targets["$default"] == function_id(http, "status")
    assert not http.of_type("AWS::ApiGateway::RestApi")


def test_http_api_default_stage_throttle_and_access_logs(http: Synth) -> None:
    stage = http.one("AWS::ApiGatewayV2::Stage")
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == 100
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 200
    log_group_id = stage["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert http.resources[log_group_id]["Properties"]["RetentionInDays"] == 30
    assert "$context.requestId" in json.dumps(stage["AccessLogSettings"]["Format"])


def test_http_outputs(http: Synth) -> None:
    outputs = http.template["Outputs"]
    api_id = logical_id(http, "AWS::ApiGatewayV2::Api", "")
    assert api_id in json.dumps(outputs["ApiUrl"]["Value"])
    assert json.dumps(outputs["StatusUrl"]["Value"]).endswith('"/status"]]}')


# --- function URLs ---


def test_function_urls_public_with_cors_status_checks_the_token_itself(function_url: Synth) -> None:
    urls = {
        u["Properties"]["TargetFunctionArn"]["Fn::GetAtt"][0]: u["Properties"]
        for u in function_url.of_type("AWS::Lambda::Url").values()
    }
    ingest = urls[function_id(function_url, "ingest")]
    status = urls[function_id(function_url, "status")]
    assert ingest["AuthType"] == "NONE"
    assert ingest["Cors"]["AllowOrigins"] == ["*"]
    assert ingest["Cors"]["AllowMethods"] == ["GET"]
    # The same mechanism as behind the APIs: the status function checks the owner's token, so the
    # dashboard works in a browser (a SigV4-only URL could not be opened by one)
    assert status["AuthType"] == "NONE"
    assert status["Cors"]["AllowHeaders"] == ["authorization", "x-visitor-tracker-token"]
    assert status["Cors"]["AllowMethods"] == ["GET"]
    assert len(urls) == 2
    assert not function_url.of_type("AWS::ApiGateway::RestApi")
    assert not function_url.of_type("AWS::ApiGatewayV2::Api")


def test_function_url_mode_reserves_nothing_unless_asked(function_url: Synth, variant: Callable[[str], Synth]) -> None:
    assert "ReservedConcurrentExecutions" not in function_props(function_url, "ingest")
    assert function_props(variant("function_url_reserved"), "ingest")["ReservedConcurrentExecutions"] == 5
    # ... and says so at synthesis when nothing caps a public URL
    warnings = [
        entry
        for entries in json.loads((function_url.outdir / "DocsTracker.metadata.json").read_text()).values()
        for entry in entries
        if entry["type"] == "aws:cdk:warning"
    ]
    assert any("ingest_reserved_concurrency" in json.dumps(w["data"]) for w in warnings)


def test_function_url_outputs(function_url: Synth) -> None:
    outputs = function_url.template["Outputs"]
    url_ids = {
        u["Properties"]["TargetFunctionArn"]["Fn::GetAtt"][0]: key
        for key, u in function_url.of_type("AWS::Lambda::Url").items()
    }
    ingest_url = url_ids[function_id(function_url, "ingest")]
    status_url = url_ids[function_id(function_url, "status")]
    assert outputs["ApiUrl"]["Value"] == {"Fn::GetAtt": [ingest_url, "FunctionUrl"]}
    assert outputs["StatusUrl"]["Value"] == {"Fn::Join": ["", [{"Fn::GetAtt": [status_url, "FunctionUrl"]}, "status"]]}


def test_function_url_mode_serves_the_script_from_the_ingest_url(function_url: Synth) -> None:
    """The site's script is served by the public ingest URL (ingest answers /script.js)."""
    ingest_url = function_id(function_url, "ingest")
    url_ids = {
        u["Properties"]["TargetFunctionArn"]["Fn::GetAtt"][0]: k
        for k, u in function_url.of_type("AWS::Lambda::Url").items()
    }
    assert function_url.template["Outputs"]["ScriptUrl"]["Value"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [url_ids[ingest_url], "FunctionUrl"]}, "script.js"]]
    }


@pytest.mark.parametrize("name", ["ingest", "status"])
def test_public_function_urls_have_both_invoke_permissions(function_url: Synth, name: str) -> None:
    """Since October 2025 a public URL needs InvokeFunctionUrl and InvokeFunction (via the URL only);
    docs/deploy.md states these, and that an IAM caller needs both actions too."""
    fn = function_id(function_url, name)
    permissions = [
        p["Properties"]
        for p in function_url.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [fn, "Arn"]}
    ]
    by_action = {p["Action"]: p for p in permissions}
    assert set(by_action) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert by_action["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    assert by_action["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True
    assert all(p["Principal"] == "*" for p in permissions)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    assert "`lambda:InvokeFunctionUrl` and `lambda:InvokeFunction`" in docs


ERROR_TYPES = {
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "MISSING_AUTHENTICATION_TOKEN",
    "THROTTLED",
    "QUOTA_EXCEEDED",
    "ACCESS_DENIED",
    "INVALID_API_KEY",
    "INTEGRATION_TIMEOUT",
    "BAD_REQUEST_PARAMETERS",
}


@pytest.mark.parametrize(
    ("variant_name", "origin_header"),
    [
        ("rest", "'*'"),
        ("rest_keyed", "'*'"),
        # two allowed origins: the request's Origin is echoed (error bodies carry no data)
        ("rest_all", "method.request.header.Origin"),
    ],
)
def test_rest_gateway_errors_carry_cors_headers(
    variant: Callable[[str], Synth], variant_name: str, origin_header: str
) -> None:
    synth = variant(variant_name)
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synth.of_type("AWS::ApiGateway::GatewayResponse").values()
    }
    # 404 (unknown path), 403 (key, WAF), 429 (throttle, quota), 504 and every other 4XX/5XX
    assert set(responses) == ERROR_TYPES
    for props in responses.values():
        headers = props["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == origin_header
        if origin_header != "'*'":
            assert headers["gatewayresponse.header.Vary"] == "'Origin'"
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    # the validator's 400 (/count without page) answers in the functions' {"error": ...} shape
    bad = responses["BAD_REQUEST_PARAMETERS"]
    assert bad["StatusCode"] == "400"
    assert bad["ResponseTemplates"] == {"application/json": '{"error": $context.error.messageString}'}


def test_single_origin_gets_that_origin_on_gateway_errors() -> None:
    from pipeline.api import gateway_cors_headers

    assert gateway_cors_headers(("https://www.example.com",)) == {
        "Access-Control-Allow-Origin": "'https://www.example.com'",
        "Vary": "'Origin'",
    }


def test_function_url_cors_covers_the_ingest_url(function_url: Synth) -> None:
    """Function URLs: the URL's CORS configuration is applied by the Lambda URL service itself."""
    ingest = {"Fn::GetAtt": [function_id(function_url, "ingest"), "Arn"]}
    (ingest_url,) = [
        u["Properties"]
        for u in function_url.of_type("AWS::Lambda::Url").values()
        if u["Properties"]["TargetFunctionArn"] == ingest
    ]
    assert ingest_url["Cors"]["AllowOrigins"] == ["*"]
