"""The visit record and settings shared by every function."""

from __future__ import annotations

import json

import pytest

from functions.core.definitions import MAX_PATH_LENGTH
from functions.core.settings import ConfigError, load_settings
from functions.model.visit import InvalidVisit, Visit, format_timestamp, utc_now


def make_visit(**overrides: object) -> Visit:
    fields: dict = dict(
        visit_id="req-1",
        timestamp=format_timestamp(utc_now()),
        ip="203.0.113.7",
        user_agent="Mozilla/5.0",
        path="/about",
        referrer="https://example.com/",
        is_bot=False,
        counted=True,
        visitor="abc",
    )
    fields.update(overrides)
    return Visit(**fields)


def test_round_trip_keeps_every_field() -> None:
    visit = make_visit()
    assert Visit.from_json(visit.to_json()) == visit


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({**json.loads(make_visit().to_json()), "schema_version": 99}),
        json.dumps({**json.loads(make_visit().to_json()), "is_bot": "yes"}),
        json.dumps({**json.loads(make_visit().to_json()), "timestamp": "yesterday"}),
        json.dumps({**json.loads(make_visit().to_json()), "extra": 1}),
        json.dumps({k: v for k, v in json.loads(make_visit().to_json()).items() if k != "visit_id"}),
        # crafted records that would otherwise break a DynamoDB call (or date arithmetic) for a batch
        json.dumps({**json.loads(make_visit().to_json()), "schema_version": True}),
        json.dumps({**json.loads(make_visit().to_json()), "timestamp": "9999-12-31T23:59:59.000Z"}),
        json.dumps({**json.loads(make_visit().to_json()), "timestamp": "2001-01-01T00:00:00.000Z"}),
        json.dumps({**json.loads(make_visit().to_json()), "visit_id": "x" * 2000}),
        json.dumps({**json.loads(make_visit().to_json()), "visit_id": "a#b"}),
        json.dumps({**json.loads(make_visit().to_json()), "path": "/" + "p" * MAX_PATH_LENGTH}),
        json.dumps({**json.loads(make_visit().to_json()), "user_agent": "u" * 100_000}),
    ],
)
def test_malformed_bodies_are_rejected(body: str) -> None:
    with pytest.raises(InvalidVisit):
        Visit.from_json(body)


def test_settings_defaults_and_validation() -> None:
    settings = load_settings({"TABLE_NAME": "t", "QUEUE_URL": "q"})
    assert settings.log_ttl_days == 30
    assert settings.allowed_origins == ("*",)
    assert settings.ip_mode == "full"
    assert settings.count_bots is False
    assert settings.counter_shards == 1
    with pytest.raises(ConfigError, match="IP_MODE"):
        load_settings({"IP_MODE": "sometimes"})
    with pytest.raises(ConfigError, match="LOG_TTL_DAYS"):
        load_settings({"LOG_TTL_DAYS": "ten"})


def test_origin_allow_list() -> None:
    settings = load_settings({"ALLOWED_ORIGINS": "https://a.example, https://b.example"})
    assert settings.allows_origin("https://a.example") == "https://a.example"
    assert settings.allows_origin("https://evil.example") is None
    assert load_settings({}).allows_origin("https://any.example") == "*"
