"""`visitor-tracker visits recent`: the newest visits the writer logged, newest first."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Env, make_visit


def test_recent_visits_newest_first_with_the_limit_honoured(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN six visits, minutes apart, queued and written by the real writer
    visits = [make_visit(minutes_ago=10 * i, path=f"/page-{i}") for i in range(6)]
    for visit in reversed(visits):
        env.sqs.send_message(QueueUrl=env.resources.queue_url, MessageBody=visit.to_json())
    assert env.run_writer(monkeypatch) == 6

    # WHEN the four most recent are asked for
    recent = env.cli_json("visits", "recent", "--limit", "4")

    # THEN they come newest first, as full visit records
    assert [v["visit_id"] for v in recent] == [v.visit_id for v in visits[:4]]
    assert recent[0]["path"] == "/page-0"
    assert recent[0]["ip"] == "203.0.113.7"
    assert len(env.cli_json("visits", "recent")) == 6


def test_recent_visits_table(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.sqs.send_message(
        QueueUrl=env.resources.queue_url,
        MessageBody=make_visit(path="/blog", referrer="https://news.example.org/item").to_json(),
    )
    env.sqs.send_message(
        QueueUrl=env.resources.queue_url,
        MessageBody=make_visit(
            minutes_ago=1, path="/robots", user_agent="Googlebot/2.1 (+http://www.google.com/bot.html)", is_bot=True
        ).to_json(),
    )
    env.run_writer(monkeypatch)

    result = env.cli("visits", "recent")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2 most recent visit(s), newest first" in out
    assert out.index("/blog") < out.index("/robots")
    assert "Firefox" in out and "203.0.113.7" in out and "yes" in out


def test_no_visits_yet(env: Env) -> None:
    result = env.cli("visits", "recent")

    assert result.exit_code == 0
    assert "No visits logged" in result.stdout
    assert env.cli_json("visits", "recent") == []
