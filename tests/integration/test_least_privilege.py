"""Each function's real AWS requests, path by path, against the IAM statements the stack grants it.

moto does not enforce IAM, let alone ``dynamodb:LeadingKeys`` conditions, so every request the
functions' own clients make is captured (botocore's ``before-parameter-build`` event: the exact
parameters) and evaluated against the statements pipeline/permissions.py builds — the same
statements tests/infra/test_iam.py finds in every synthesized template — by a small pure IAM
evaluator (pipeline/iam_eval.py). Then:

- every call is allowed (a refused one would be AccessDenied in AWS);
- every call moved to a key family the function is not granted for that action is refused;
- every granted (family, action) is used by some path, or listed in ``NOT_YET_USED`` with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.core import aws as aws_clients
from functions.model.keys import FAMILY_LEADING_KEYS, PK
from functions.status.handler import handler as status_handler
from pipeline.iam_eval import Request, dynamodb_requests, is_allowed, string_like
from pipeline.permissions import (
    INGEST_QUEUE_ACTIONS,
    STATUS_METRIC_ACTIONS,
    STATUS_QUEUE_ACTIONS,
    TABLE_GRANTS,
    table_policy_statements,
)
from tests.support.access import owner_token, signed
from tests.support.events import rest_event
from tests.support.pipeline import BOT_UA, FakeContext, drain_queue, send_raw

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/visits"
OTHER_ACTIONS = {
    "ingest": set(INGEST_QUEUE_ACTIONS),
    "writer": set(),  # its queue permissions belong to the event source mapping, not to its code
    "status": set(STATUS_QUEUE_ACTIONS + STATUS_METRIC_ACTIONS),
}
# Granted for issue 11's counting design (the writer counts inside its exactly-once transaction and
# reads the per-day name tallies with a Query; status may read single items or a tally partition);
# drop an entry as soon as the functions use it — the last test says which ones they do.
NOT_YET_USED: dict[str, set[tuple[str, str]]] = {
    "ingest": {
        ("counter", "dynamodb:UpdateItem"),
        ("counter", "dynamodb:GetItem"),
        # the consistent read when a losing salt PutItem returns no item (moto always returns it)
        ("salt", "dynamodb:GetItem"),
    },
    "writer": {
        ("counter", "dynamodb:UpdateItem"),
        ("log", "dynamodb:PutItem"),
        ("aggregates", "dynamodb:Query"),
        ("aggregates", "dynamodb:GetItem"),  # a single tally/sketch read, depending on the batch
        ("failure", "dynamodb:PutItem"),
    },
    "status": {
        ("counter", "dynamodb:GetItem"),
        ("aggregates", "dynamodb:GetItem"),
        ("aggregates", "dynamodb:Query"),
        # a 12-month range that finds a finished month (tests/integration/test_analytics.py rolls one up)
        ("rollups", "dynamodb:BatchGetItem"),
        ("rollups", "dynamodb:PutItem"),
    },
}


def family_of(pk: str) -> str:
    (family,) = [name for name, patterns in FAMILY_LEADING_KEYS.items() if string_like(pk, patterns)]
    return family


@dataclass
class Captured:
    """What one function asked AWS for, as IAM would see it."""

    requests: list[Request] = field(default_factory=list)

    def table_requests(self) -> list[Request]:
        return [r for r in self.requests if r.action.startswith("dynamodb:")]

    def other_actions(self) -> set[str]:
        return {r.action for r in self.requests if not r.action.startswith("dynamodb:")}

    def sites(self) -> set[str]:
        """The sites other than the default whose items were touched (``S#<site>#`` keys)."""
        return {
            pk.split("#")[1]
            for r in self.table_requests()
            for pk in r.context["dynamodb:LeadingKeys"]
            if pk[:2] == "S#"
        }

    def used(self) -> set[tuple[str, str]]:
        return {(family_of(pk), r.action) for r in self.table_requests() for pk in r.context["dynamodb:LeadingKeys"]}


class Recorder:
    """Turns every call made through the functions' clients into IAM requests."""

    def __init__(self) -> None:
        self.current = Captured()

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_id.hyphenize()  # the IAM prefix: dynamodb, sqs, cloudwatch
        if service == "dynamodb":
            self.current.requests += dynamodb_requests(model.name, params, pk_name=PK, table_resource=TABLE)
        else:
            self.current.requests.append(Request(f"{service}:{model.name}", "*"))

    def take(self) -> Captured:
        taken, self.current = self.current, Captured()
        return taken


def _clients() -> list[Any]:
    """Every client the functions build: one DynamoDB client per retry profile, SQS, CloudWatch."""
    profiles = list(getattr(aws_clients, "CONFIGS", {None: None}))
    dynamodb = [aws_clients.dynamodb(p) if p is not None else aws_clients.dynamodb() for p in profiles]
    return [*dynamodb, aws_clients.sqs(), aws_clients.cloudwatch()]


@pytest.fixture
def recorder(ingest: Any) -> Iterator[Recorder]:
    rec = Recorder()

    def attach() -> None:  # again after each fresh environment: its clients are new
        for client in _clients():
            client.meta.events.register("before-parameter-build.*.*", rec)

    attach()
    ingest.on_forget.append(attach)
    yield rec
    for client in _clients():
        client.meta.events.unregister("before-parameter-build.*.*", rec)


@pytest.fixture
def captured(
    ingest: Any, recorder: Recorder, fail_operation: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Captured]:
    """Every path of the three functions, each function's requests kept apart."""
    # ingest with a hashed IP (daily salt) and a sharded counter, a bot, a single counter ...
    ingest.configure(monkeypatch, IP_MODE="hashed", COUNTER_SHARDS="4")
    assert ingest(rest_event(request_id="human-1")).status == 200
    assert ingest(rest_event(request_id="bot-1", headers={"User-Agent": BOT_UA})).status == 200
    # (from here on 4 aggregate shards: the writer adds to one, status reads all four, shard 0 included)
    ingest.configure(monkeypatch, IP_MODE="hashed", COUNTER_SHARDS="1", AGGREGATE_SHARDS="4")
    assert ingest(rest_event(request_id="human-2")).status == 200
    assert ingest(rest_event(request_id="bot-2", headers={"User-Agent": BOT_UA})).status == 200
    # ... a second site's visit (its own counter, log, tallies and sketches: S#<site># keys) ...
    ingest.configure(monkeypatch, SITES="blog.example,shop.example")
    assert ingest(rest_event(request_id="shop-1", query={"site": "shop.example"})).status == 200
    # ... and the recovery path: the queue refuses the visit, ingest writes it to the table itself
    fail_operation(aws_clients.sqs(), "SendMessage")
    assert ingest(rest_event(request_id="recovered-1")).status == 200
    found = {"ingest": recorder.take()}
    # the writer drains the queue, a poison message included (its failure reason is recorded)
    send_raw(ingest.resources, "not json")
    drain_queue(ingest.resources)
    found["writer"] = recorder.take()
    # status answers /status and /dashboard
    ingest.forget()
    token = owner_token()  # issued by the CLI with the owner's credentials, not by a function
    recorder.take()
    for path, query in (("/status", {}), ("/status", {"site": "shop.example", "range": "7d"}), ("/dashboard", {})):
        assert status_handler(signed(rest_event(path, query=query), token), FakeContext())["statusCode"] == 200
    found["status"] = recorder.take()
    return found


FUNCTIONS = list(TABLE_GRANTS)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_real_request_is_allowed(captured: dict[str, Captured], name: str) -> None:
    calls = captured[name]
    policy = table_policy_statements(TABLE_GRANTS[name], TABLE)
    assert calls.table_requests(), f"{name} made no table request: the paths above did not run"
    assert calls.sites() == {"shop.example"}  # the second site's requests are among them
    refused = [r for r in calls.table_requests() if not is_allowed(policy, r)]
    assert refused == []
    assert calls.other_actions() <= OTHER_ACTIONS[name]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_real_request_moved_to_a_family_outside_the_grant_is_refused(
    captured: dict[str, Captured], name: str
) -> None:
    """The same request shapes, pointed at another family's key: the condition, not luck, refuses them."""
    grants = TABLE_GRANTS[name]
    policy = table_policy_statements(grants, TABLE)
    tried = 0
    for request in captured[name].table_requests():
        keys = request.context["dynamodb:LeadingKeys"]
        for family, patterns in FAMILY_LEADING_KEYS.items():
            if request.action in grants.get(family, ()):
                continue
            foreign = patterns[0].replace("*", "2026-12-01#1")
            # one foreign key alone, and one foreign key slipped into the request's own keys
            for leading in ((foreign,), (*keys, foreign)):
                moved = Request(request.action, request.resource, {"dynamodb:LeadingKeys": leading})
                assert not is_allowed(policy, moved), (name, request.action, family)
                tried += 1
    assert tried


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_grant_is_used_or_declared_pending(captured: dict[str, Captured], name: str) -> None:
    granted = {(family, action) for family, actions in TABLE_GRANTS[name].items() for action in actions}
    used = captured[name].used()
    assert used <= granted
    unused = granted - used
    assert unused <= NOT_YET_USED[name], (
        f"{name}: granted but unused and undeclared: {sorted(unused - NOT_YET_USED[name])}"
    )
    assert NOT_YET_USED[name] <= granted, "NOT_YET_USED lists something that is not granted"


def test_status_never_reads_log_items_or_the_salt(captured: dict[str, Captured]) -> None:
    families = {family for family, _ in captured["status"].used()}
    assert families <= {"counter", "aggregates", "access"}
    assert TABLE_GRANTS["status"]["access"] == ("dynamodb:GetItem",)  # it checks tokens, never issues them
    assert "log" not in TABLE_GRANTS["status"] and "salt" not in TABLE_GRANTS["status"]


def test_ingest_never_writes_aggregates_or_failures(captured: dict[str, Captured]) -> None:
    assert {family for family, _ in captured["ingest"].used()} <= {"counter", "salt", "log"}
