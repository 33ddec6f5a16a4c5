"""The three ingress options: REST API (default), HTTP API, Lambda function URLs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from functions.common import definitions as d

from .helpers import Synth, function_id, function_props, logical_id

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


def test_rest_stage_throttling_tracing_and_logging(rest: Synth, rest_all: Synth) -> None:
    stage = rest.one("AWS::ApiGateway::Stage")
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
    assert rest.resources[log_group_id]["Properties"]["RetentionInDays"] == 30
    fmt = json.loads(access["Format"])
    assert {"requestId", "status", "ip", "httpMethod"} <= set(fmt)
    # AND the throttle follows context
    throttled = rest_all.one("AWS::ApiGateway::Stage")["MethodSettings"][0]
    assert (throttled["ThrottlingRateLimit"], throttled["ThrottlingBurstLimit"]) == (20, 40)


def test_rest_access_logs_drop_client_ip_unless_ip_mode_full(rest_all: Synth) -> None:
    fmt = json.loads(rest_all.one("AWS::ApiGateway::Stage")["AccessLogSetting"]["Format"])
    assert "ip" not in fmt


def test_rest_execution_logging_has_the_account_role(rest: Synth) -> None:
    account = rest.one("AWS::ApiGateway::Account")
    role = rest.resources[account["CloudWatchRoleArn"]["Fn::GetAtt"][0]]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}


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
    assert all(p["ApiKeyRequired"] is True for path, p in gets.items() if path != "dashboard")
    assert methods[("GET", "dashboard")].get("ApiKeyRequired", False) is False


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
            "Scope": "REGIONAL",
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
    acl_id = logical_id(rest_keyed, "AWS::WAFv2::WebACL", "")
    assert association["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    stage_id = logical_id(rest_keyed, "AWS::ApiGateway::Stage", "")
    assert stage_id in json.dumps(association["ResourceArn"])


def test_rest_outputs(rest: Synth) -> None:
    outputs = rest.template["Outputs"]
    api_url = json.dumps(outputs[d.OUTPUT_API_URL]["Value"])
    stage_ref = json.dumps({"Ref": logical_id(rest, "AWS::ApiGateway::Stage", "")})
    assert json.dumps({"Ref": logical_id(rest, "AWS::ApiGateway::RestApi", "")}) in api_url
    assert api_url.endswith(f'"/", {stage_ref}, "/"]]}}')
    assert json.dumps(outputs[d.OUTPUT_STATUS_URL]["Value"]).endswith(f'"/", {stage_ref}, "/status"]]}}')


# --- HTTP API ---


def test_http_api_routes_cors_and_integrations(http: Synth) -> None:
    api = http.one("AWS::ApiGatewayV2::Api")
    assert api["ProtocolType"] == "HTTP"
    assert api["CorsConfiguration"]["AllowOrigins"] == ["*"]
    assert set(api["CorsConfiguration"]["AllowMethods"]) == {"GET", "OPTIONS"}
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in http.of_type("AWS::ApiGatewayV2::Route").values()}
    assert set(routes) == {"GET /", "GET /status", "GET /dashboard"}
    integrations = http.of_type("AWS::ApiGatewayV2::Integration")
    targets = {}
    for key, route in routes.items():
        integration_id = route["Target"]["Fn::Join"][1][1]["Ref"]
        uri = integrations[integration_id]["Properties"]["IntegrationUri"]
        targets[key] = uri["Fn::GetAtt"][0]
    assert targets["GET /"] == function_id(http, "ingest")
    assert targets["GET /status"] == targets["GET /dashboard"] == function_id(http, "status")
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
    assert api_id in json.dumps(outputs[d.OUTPUT_API_URL]["Value"])
    assert json.dumps(outputs[d.OUTPUT_STATUS_URL]["Value"]).endswith('"/status"]]}')


# --- function URLs ---


def test_function_urls_public_ingest_with_cors_and_iam_status(function_url: Synth) -> None:
    urls = {
        u["Properties"]["TargetFunctionArn"]["Fn::GetAtt"][0]: u["Properties"]
        for u in function_url.of_type("AWS::Lambda::Url").values()
    }
    ingest = urls[function_id(function_url, "ingest")]
    status = urls[function_id(function_url, "status")]
    assert ingest["AuthType"] == "NONE"
    assert ingest["Cors"]["AllowOrigins"] == ["*"]
    assert ingest["Cors"]["AllowMethods"] == ["GET"]
    assert status["AuthType"] == "AWS_IAM"
    assert len(urls) == 2
    assert not function_url.of_type("AWS::ApiGateway::RestApi")
    assert not function_url.of_type("AWS::ApiGatewayV2::Api")


def test_function_url_mode_caps_ingest_with_reserved_concurrency(function_url: Synth) -> None:
    assert function_props(function_url, "ingest")["ReservedConcurrentExecutions"] == 10


def test_function_url_outputs(function_url: Synth) -> None:
    outputs = function_url.template["Outputs"]
    url_ids = {
        u["Properties"]["TargetFunctionArn"]["Fn::GetAtt"][0]: key
        for key, u in function_url.of_type("AWS::Lambda::Url").items()
    }
    ingest_url = url_ids[function_id(function_url, "ingest")]
    status_url = url_ids[function_id(function_url, "status")]
    assert outputs[d.OUTPUT_API_URL]["Value"] == {"Fn::GetAtt": [ingest_url, "FunctionUrl"]}
    assert outputs[d.OUTPUT_STATUS_URL]["Value"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [status_url, "FunctionUrl"]}, "status"]]
    }


def test_public_function_url_has_both_invoke_permissions(function_url: Synth) -> None:
    """Since late 2025 a public URL needs InvokeFunctionUrl and InvokeFunction (via URL only)."""
    ingest = function_id(function_url, "ingest")
    permissions = [
        p["Properties"]
        for p in function_url.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [ingest, "Arn"]}
    ]
    by_action = {p["Action"]: p for p in permissions}
    assert by_action["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    assert by_action["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True
    # The IAM-authenticated status URL grants nothing to the public
    status = function_id(function_url, "status")
    assert not [
        p
        for p in function_url.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [status, "Arn"]} and p["Properties"]["Principal"] == "*"
    ]


def test_rest_gateway_errors_are_readable_cross_origin_when_any_origin_is_allowed(rest: Synth, rest_all: Synth) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in rest.of_type("AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN"}
    for props in responses.values():
        assert props["ResponseParameters"] == {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}
    # specific origins: nothing to echo safely, only the 404 for unknown paths
    (only,) = rest_all.of_type("AWS::ApiGateway::GatewayResponse").values()
    assert only["Properties"]["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN"
    assert "ResponseParameters" not in only["Properties"]
