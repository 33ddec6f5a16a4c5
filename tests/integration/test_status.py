"""/status against moto: numbers agree with the visits sent, and reads do not grow with the data."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from functions.core import aws as aws_clients
from functions.model import fold, keys, layout
from functions.model.browsers import browser_of
from functions.model.sketches import Sketch
from functions.model.visit import Visit, parse_timestamp
from functions.status.handler import handler as status_handler
from functions.tables import store
from functions.tables.visitlog import to_log_item
from tests.integration.conftest import Ingest
from tests.support.access import owner_token, signed
from tests.support.calls import CallCounter
from tests.support.events import rest_event
from tests.support.pipeline import (
    BOT_UA,
    FIREFOX_UA,
    drain_queue,
    make_visit,
    send_raw,
    send_visits,
)
from visitor_tracker.resources import PipelineResources

pytestmark = pytest.mark.usefixtures("writer_sleeps")


def get_status(token: str | None = None) -> dict[str, Any]:
    response = status_handler(signed(rest_event("/status"), token), None)
    assert response["statusCode"] == 200, response
    return dict(json.loads(response["body"]))


def test_status_numbers_agree_with_the_visits_sent(ingest: Ingest, pipeline_resources: PipelineResources) -> None:
    # GIVEN visits through the real ingest handler: 3 pages, 2 browsers, 2 client IPs, 1 bot
    sent: list[dict[str, Any]] = []
    for i in range(12):
        ua = FIREFOX_UA if i % 3 == 0 else rest_event()["headers"]["User-Agent"]
        page = f"/post/{i % 3}"
        result = ingest(
            rest_event(
                "/",
                query={"page": page},
                headers={"User-Agent": ua, "Referer": "https://blog.example.org/index.html"},
                source_ip=f"198.51.100.{i % 2}",
            )
        )
        assert result.status == 200
        sent.append({"page": page, "browser": browser_of(ua), "ip": i % 2, "ua": ua})
    assert ingest(rest_event("/", headers={"User-Agent": BOT_UA})).status == 200
    # AND visits from earlier times put on the queue as ingest would have then
    now = datetime.now(UTC)
    earlier = [now - timedelta(minutes=m) for m in (90, 5 * 60, 30 * 60, 3 * 24 * 60)]
    old = now - timedelta(days=8)  # outside every window
    send_visits(pipeline_resources, [make_visit(when=w, path="/old") for w in [*earlier, old]])

    # WHEN the writer drains the queue and /status is asked
    assert drain_queue(pipeline_resources).failures == []
    status = get_status()

    # THEN every number matches what was sent
    generated = parse_timestamp(status["generated_at"])
    assert status["visitor_count"] == 12 + 5  # the writer counts every logged visit but the bot
    today = keys.day_of(generated)
    timed = [generated] * 12 + earlier  # ingest's visits happened "now" (before generated_at)
    assert status["visits_last_hour"] == 12
    assert status["visits_last_24h"] == 12 + 2
    assert status["visits_last_7d"] == 12 + 4
    assert status["visits_today"] == sum(1 for w in timed if keys.day_of(w) == today)
    assert status["bots_today"] == 1
    assert status["bot_share"] == round(1 / (status["visits_today"] + 1), 4)
    # (make_visit's visits all share one visitor hash)
    earlier_today = any(keys.day_of(w) == today for w in earlier)
    assert status["unique_visitors_today"] == len({(s["ip"], s["ua"]) for s in sent}) + (1 if earlier_today else 0)
    pages = {p["path"]: p["visits"] for p in status["top_pages"]}
    for page, count in Counter(s["page"] for s in sent).items():
        assert pages[page] == count
    browsers = {b["browser"]: b["visits"] for b in status["browsers"]}
    expected = Counter(s["browser"] for s in sent)
    expected["Chrome"] += sum(1 for w in earlier if keys.day_of(w) == today)  # make_visit's default browser
    assert browsers == dict(expected)
    referrers = {r["referrer"]: r["visits"] for r in status["top_referrers"]}
    assert referrers["blog.example.org"] == 12
    assert len(status["hourly"]) == 24 and sum(h["visits"] for h in status["hourly"]) == 14
    assert status["queue_depth"] == 0 and status["dlq_depth"] == 0


def test_status_shows_queue_and_dlq_depth(pipeline_resources: PipelineResources) -> None:
    # GIVEN three visits waiting and one poison message that the writer gives up on
    send_raw(pipeline_resources, "poison")
    drain_queue(pipeline_resources)
    send_visits(pipeline_resources, [make_visit() for _ in range(3)])

    status = get_status()

    assert status["queue_depth"] == 3 and status["queue_in_flight"] == 0
    assert status["dlq_depth"] == 1
    assert status["oldest_message_age_seconds"] is None  # not a queue attribute: see functions.status.service


class ReadMeter:
    """Calls of the functions' clients, and the items BatchGetItem asked for and got back."""

    def __init__(self) -> None:
        self.dynamodb = CallCounter().attach(aws_clients.dynamodb())
        self.sqs = CallCounter().attach(aws_clients.sqs())
        self.keys_requested = 0
        self.items_returned = 0
        self.dynamodb.client.meta.events.register("before-parameter-build.dynamodb.BatchGetItem", self._request)
        self.dynamodb.client.meta.events.register("after-call.dynamodb.BatchGetItem", self._response)
        self.dynamodb.client.meta.events.register("after-call.dynamodb.Query", self._queried)
        self.queried = 0

    def _queried(self, parsed: dict[str, Any], **_: Any) -> None:
        self.queried += len(parsed.get("Items", []))

    def _request(self, params: dict[str, Any], **_: Any) -> None:
        self.keys_requested += sum(len(t["Keys"]) for t in params["RequestItems"].values())

    def _response(self, parsed: dict[str, Any], **_: Any) -> None:
        self.items_returned += sum(len(items) for items in parsed.get("Responses", {}).values())

    def snapshot(self) -> dict[str, Any]:
        return {
            "dynamodb": dict(self.dynamodb.operations),
            "sqs": dict(self.sqs.operations),
            "keys": self.keys_requested,
            "items": self.items_returned,
            "queried": self.queried,
        }

    def reset(self) -> None:
        self.dynamodb.reset()
        self.sqs.reset()
        self.keys_requested = self.items_returned = self.queried = 0


def aggregate_items(visits: list[Visit]) -> list[dict[str, Any]]:
    """The aggregate items these visits make, whole (what the writer's ADDs add up to from empty items)."""
    items = []
    deltas = fold.fold(visits, fold.Namers(browser_of, lambda ua: "bot")).values()
    for delta in fold.pack(deltas, lambda day, dim, name: sum(map(ord, name)) % 3):
        item: dict[str, Any] = dict(keys.key_dict(delta.key), expires_at={"N": str(delta.expires_at)})
        item.update({name: {"N": str(count)} for name, count in delta.counters.items()})
        items.append(item)
    for day, members in fold.visitors_by_day(visits).items():
        sketch = dict(keys.uniques_key(day, 0), version={"N": "1"})
        sketch[layout.REGISTERS] = {"B": Sketch.of(members).to_bytes()}
        items.append(sketch)
    return items


def log_directly(resources: PipelineResources, logged: list[Visit], new: list[Visit], *, bulk: bool = False) -> None:
    """Log ``new`` visits and rewrite the aggregates of ``logged + new`` as whole items.

    Fast test set-up: the aggregates are what the writer's ADDs would have made, put whole (moto's
    UpdateItem is slow on wide items). With ``bulk`` the log items go straight into moto's backend,
    five times faster than through botocore: /status never reads log items, they only have to exist.
    """
    logs = [to_log_item(v, 30) for v in new]
    if bulk:
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        for item in logs:
            backend.put_item(resources.table_name, item)
        logs = []
    assert store.put_items(resources.table_name, logs + aggregate_items([*logged, *new])) == []


def test_status_reads_the_same_at_1000_and_20000_logged_visits(pipeline_resources: PipelineResources) -> None:
    # GIVEN 1,000 visits over the last week, 100 of them through the real queue and writer
    now = datetime.now(UTC)

    def spread(count: int, salt: int) -> list[Visit]:
        return [
            make_visit(
                when=now - timedelta(minutes=(i * 37 + salt) % (7 * 24 * 60)),
                path=f"/p{i % 40}",
                visitor=f"v{i % 200}",
                is_bot=i % 25 == 0,
            )
            for i in range(count)
        ]

    # One visit in each item /status reads, so both readings find every item (whatever the clock says).
    anchors = [make_visit(when=now - timedelta(days=d)) for d in range(layout.DAYS_READ)]
    anchors.append(make_visit(when=now - timedelta(hours=1)))
    through_writer = [*anchors, *spread(100, 0)]
    send_visits(pipeline_resources, through_writer)
    assert drain_queue(pipeline_resources).failures == []
    direct = spread(900, 1)
    log_directly(pipeline_resources, through_writer, direct)
    token = owner_token()
    meter = ReadMeter()

    # WHEN /status is asked (by the owner)
    small = get_status(token)
    at_1000 = meter.snapshot()

    # AND again after 19,000 more visits
    log_directly(pipeline_resources, [*through_writer, *direct], spread(19_000, 2), bulk=True)
    meter.reset()
    large = get_status(token)
    at_20000 = meter.snapshot()

    # THEN the same calls, keys and items were read, and the numbers grew
    assert at_1000 == at_20000
    assert at_1000["dynamodb"] == {"BatchGetItem": 1, "Query": 1, "GetItem": 1}  # GetItem: the token's check
    assert at_1000["sqs"] == {"GetQueueAttributes": 2}
    assert at_1000["keys"] == 1 + layout.DAYS_READ + 2  # counter shard, days, hours
    assert at_1000["items"] == 1 + layout.DAYS_READ + 2
    # (today's names partition: the 40 pages, one browser, the bots' agent and the sketch shards)
    assert 0 < at_1000["queried"] <= layout.NAMES_READ_MAX
    assert large["visits_last_7d"] > small["visits_last_7d"] > 0
    # (counted in moto's backend: a Scan of 20,000 items takes it tens of seconds)
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(pipeline_resources.table_name)
    logged = sum(1 for item in table.all_items() if item.hash_key.value.startswith("LOG#"))
    assert logged == len(anchors) + 100 + 900 + 19_000


# A volume through the real writer: on DynamoDB Local (moto copies its table per transaction action).
@pytest.mark.parametrize("dynamodb_backend", ["dynamodb-local"], indirect=True)
def test_unique_visitors_today_after_1000_visits_through_the_writer(pipeline_resources: PipelineResources) -> None:
    # GIVEN 1,000 visits in the last minute from 300 visitors (past the sketch's exact range),
    # written by the writer
    visitors = 300
    now = datetime.now(UTC)
    sent = [make_visit(when=now - timedelta(seconds=i % 60), visitor=f"e2e{i % visitors}") for i in range(1000)]
    send_visits(pipeline_resources, sent)
    assert drain_queue(pipeline_resources).failures == []

    # WHEN /status is asked
    status = get_status()

    # THEN the unique visitors are within 3 % (exact below 256: see the writer and unit tests)
    assert status["visits_today"] == sum(1 for v in sent if keys.day_of(v.when) == keys.day_of(now))
    expected = len({v.visitor for v in sent if keys.day_of(v.when) == keys.day_of(now)})
    assert abs(status["unique_visitors_today"] - expected) <= 0.03 * visitors
