"""Every synthesized variant is private: its status function, run with the environment the template
gives it, refuses an anonymous /status and /dashboard of that variant's ingress event shape.

No AWS call is needed for the refusal (no token, no read), so the real handler logic runs here on
the template's own settings; the signed-in paths run against the engines in tests/integration/test_access.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from functions.core.http import parse_request
from functions.core.settings import load_settings
from functions.status import handler as status
from tests.support.events import http_v2_event, rest_event

from .conftest import INGRESS_VARIANTS
from .helpers import Synth, function_props

pytestmark = pytest.mark.xdist_group("infra")


def _event_maker(synth: Synth) -> Callable[[str], dict[str, Any]]:
    ingress = synth.context.get("ingress", "rest")
    if ingress == "http":
        return lambda path: http_v2_event(path)
    if ingress == "function-url":
        return lambda path: http_v2_event(path, function_url=True)
    return lambda path: rest_event(f"/prod{path}")


@pytest.mark.parametrize("variant_name", INGRESS_VARIANTS)
def test_every_variant_refuses_anonymous_status_and_dashboard(
    variant: Callable[[str], Synth], variant_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    synth = variant(variant_name)
    template_env = function_props(synth, "status")["Environment"]["Variables"]
    # Resource names are CloudFormation references in the template: any name will do for a refusal
    env = {k: v if isinstance(v, str) else f"resolved-{k.lower()}" for k, v in template_env.items()}
    assert env["PUBLIC_DASHBOARD"] == "false"
    settings = load_settings(env)
    make = _event_maker(synth)
    refused = status.answer(parse_request(make("/status")), settings)
    assert refused["statusCode"] == 401 and json.loads(refused["body"]) == {"error": status.NOT_SIGNED_IN}
    page = status.answer(parse_request(make("/dashboard")), settings)
    assert page["statusCode"] == 401  # the sign-in page: the same HTML, no numbers in it
    assert page["headers"]["WWW-Authenticate"].startswith("Bearer")


def test_the_edge_rate_limit_is_keyed_on_the_viewer_address(variant: Callable[[str], Synth]) -> None:
    """The edge WAF sees the visitor's own address (the stage's WAF is refused behind the front door)."""
    synth = variant("http_front_door")
    (acl,) = synth.of_type("AWS::WAFv2::WebACL").values()
    statement = acl["Properties"]["Rules"][0]["Statement"]["RateBasedStatement"]
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    assert statement["AggregateKeyType"] == "IP" and "ForwardedIPConfig" not in statement
