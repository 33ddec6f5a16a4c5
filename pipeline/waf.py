"""The one web ACL shape the stack uses, at the edge (CloudFront) or regionally (REST API)."""

from __future__ import annotations

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

RATE_WINDOW_SECONDS = 300


def rate_limited_web_acl(
    scope: Construct, construct_id: str, *, waf_scope: str, limit: int, metric_prefix: str
) -> wafv2.CfnWebACL:
    """Allow by default; block a client IP above ``limit`` requests in 5 minutes."""
    return wafv2.CfnWebACL(
        scope,
        construct_id,
        scope=waf_scope,
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=f"{metric_prefix}Waf", sampled_requests_enabled=True
        ),
        rules=[
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerClientIp",
                priority=0,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=limit, aggregate_key_type="IP", evaluation_window_sec=RATE_WINDOW_SECONDS
                    )
                ),
                visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                    cloud_watch_metrics_enabled=True,
                    metric_name=f"{metric_prefix}RatePerIp",
                    sampled_requests_enabled=True,
                ),
            )
        ],
    )
