"""`visitor-tracker status`: the /status JSON as a table or as is, once or watched."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from functions.core.environment import ENVIRONMENT
from tests.cli.conftest import Env, HttpStub, make_visit, write_local_state
from tests.support.events import rest_event
from visitor_tracker import cli_status

StubFactory = Callable[[Callable[[Request], Response]], HttpStub]

SAMPLE: dict[str, Any] = {
    "visitor_count": 1234,
    "visits_last_hour": 7,
    "visits_last_24h": 96,
    "visits_last_7d": 512,
    "visits_today": 40,
    "unique_visitors_today": 31,
    "top_pages": [{"path": "/", "visits": 30}, {"path": "/blog/serverless-counter", "visits": 10}],
    "top_referrers": [{"referrer": "news.ycombinator.com", "visits": 12}],
    "browsers": [{"browser": "Firefox", "visits": 25}, {"browser": "Chrome", "visits": 15}],
    "bots_today": 10,
    "bot_share": 0.2,
    "bots_by_class": {"crawler": 7, "http-client": 3},
    "top_bots": [{"agent": "Googlebot", "visits": 6}, {"agent": "curl", "visits": 3}],
    "hourly": [],
    "queue_depth": 3,
    "queue_in_flight": 1,
    "queue_delayed": 0,
    "dlq_depth": 2,
    "oldest_message_age_seconds": None,
    "generated_at": "2026-11-26T13:05:09.123Z",
}


def json_answer(body: Any, status: int = 200) -> Callable[[Request], Response]:
    return lambda _request: Response(json.dumps(body), status=status, content_type="application/json")


@pytest.fixture
def api(env: Env, http_stub: StubFactory) -> Callable[..., HttpStub]:
    """Point the local-mode state at a stub API answering ``handle``."""

    def start(handle: Callable[[Request], Response]) -> HttpStub:
        stub = http_stub(handle)
        write_local_state(env.state_file, env.endpoint, env.resources, api_url=stub.url)
        return stub

    return start


def test_status_json_is_the_status_document_as_is(env: Env, api: Callable[..., HttpStub]) -> None:
    stub = api(json_answer(SAMPLE))

    assert env.cli_json("status") == SAMPLE
    assert stub.requests[0].path == "/status"


def test_status_table_shows_the_figures_and_warns_about_the_dlq(env: Env, api: Callable[..., HttpStub]) -> None:
    api(json_answer(SAMPLE))

    result = env.cli("status")

    assert result.exit_code == 0, result.output
    out = result.stdout
    for fragment in ("visitor count", "1,234", "512", "20.0%", "3 / 1", "/blog/serverless-counter"):
        assert fragment in out
    assert "news.ycombinator.com" in out and "Firefox" in out
    assert "2 message(s) in the DLQ" in out and "visitor-tracker dlq list" in out


def test_status_of_another_site_names_it_and_an_unknown_site_fails(env: Env, api: Callable[..., HttpStub]) -> None:
    def by_site(request: Request) -> Response:
        site = request.args.get("site", "blog.example")
        if site not in ("blog.example", "shop.example"):
            return json_answer({"error": f"unknown site {site!r}: this deployment does not count it"}, 404)(request)
        return json_answer({**SAMPLE, "site": site, "sites": ["blog.example", "shop.example"]})(request)

    stub = api(by_site)

    shop = env.cli("status", "--site", "shop.example")
    unknown = env.cli("status", "--site", "evil.example")

    assert shop.exit_code == 0, shop.output
    assert "visitor tracker (local, site shop.example)" in shop.stdout
    assert stub.requests[0].args.get("site") == "shop.example"
    assert unknown.exit_code == 2
    assert "answered 404: unknown site 'evil.example': this deployment does not count it" in unknown.stderr


def test_recorded_names_are_shown_as_they_are_never_as_rich_markup(env: Env, api: Callable[..., HttpStub]) -> None:
    # GIVEN names anyone can plant with one request: a page and a referrer carrying rich markup
    planted = {
        **SAMPLE,
        "top_pages": [{"path": "/[bold red]ALERT[/bold red]", "visits": 3}],
        "top_referrers": [{"referrer": "[link=http://evil.example]x[/link]", "visits": 2}],
    }
    api(json_answer(planted))

    result = env.cli("status", columns=130)

    # THEN the terminal shows the markup as text, brackets included
    assert result.exit_code == 0, result.output
    assert "/[bold red]ALERT[/bold red]" in result.stdout
    assert "[link=http://evil.example]x[/link]" in result.stdout


def test_status_on_a_wide_terminal_puts_the_top_lists_side_by_side(env: Env, api: Callable[..., HttpStub]) -> None:
    api(json_answer(SAMPLE))

    narrow = env.cli("status").stdout.splitlines()
    wide = env.cli("status", columns=130).stdout.splitlines()

    assert not any("top pages today" in line and "browsers today" in line for line in narrow)
    assert any("top pages today" in line and "browsers today" in line for line in wide)


def test_status_shows_automated_traffic_by_class_and_top_agents(env: Env, api: Callable[..., HttpStub]) -> None:
    api(json_answer(SAMPLE))

    out = env.cli("status").stdout
    section = out[out.index("automated traffic today") :]

    for fragment in ("by class", "crawler", "7", "http-client", "top agents", "Googlebot", "curl", "COUNT_BOTS"):
        assert fragment in section
    wide = env.cli("status", columns=130).stdout.splitlines()
    assert any("by class" in line and "top agents" in line for line in wide)


def test_status_shows_goals_when_declared(env: Env, api: Callable[..., HttpStub]) -> None:
    # GIVEN a /status with two goals, then one without any
    goals = [
        {"goal": "Signup", "completions": 1234, "unique_converters": 10, "conversion_rate": 0.3226},
        {"goal": "Visit /thanks*", "completions": 0, "unique_converters": 0, "conversion_rate": 0.0},
    ]
    api(json_answer({**SAMPLE, "goals": goals}))
    out = env.cli("status", columns=130).stdout
    # THEN each goal is a row: completions, unique converters, conversion rate
    section = out[out.index("goals today") :]
    rows = [line.replace("│", " ").split() for line in section.splitlines() if "Signup" in line or "/thanks*" in line]
    assert rows == [["Signup", "1,234", "10", "32.3%"], ["Visit", "/thanks*", "0", "0", "0.0%"]]
    # AND without goals there is no goals table
    api(json_answer({**SAMPLE, "goals": []}))
    assert "goals today" not in env.cli("status").stdout


def test_status_without_automated_fields_says_none_yet(env: Env, api: Callable[..., HttpStub]) -> None:
    api(json_answer({k: v for k, v in SAMPLE.items() if k not in ("bots_by_class", "top_bots")}))

    result = env.cli("status")

    assert result.exit_code == 0, result.output
    assert result.stdout[result.stdout.index("automated traffic today") :].count("(none yet)") == 2


def test_status_without_dead_letters_has_no_warning(env: Env, api: Callable[..., HttpStub]) -> None:
    api(json_answer({**SAMPLE, "dlq_depth": 0, "top_pages": []}))

    result = env.cli("status")

    assert result.exit_code == 0, result.output
    assert "in the DLQ" not in result.stdout
    assert "(none yet)" in result.stdout


def test_api_key_is_sent_from_option_or_environment(
    env: Env, api: Callable[..., HttpStub], monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = api(json_answer(SAMPLE))

    env.cli("status", "--json", "--api-key", "from-option")
    monkeypatch.setenv("VISITOR_TRACKER_API_KEY", "from-env")
    env.cli("status", "--json")

    assert [r.headers.get("x-api-key") for r in stub.requests] == ["from-option", "from-env"]


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (json_answer({"message": "Forbidden"}, 403), ["answered 403: Forbidden", "--api-key"]),
        (json_answer({"error": "status temporarily unavailable"}, 503), ["answered 503: status temporarily"]),
        (lambda _r: Response("<html>oops</html>", content_type="text/html"), ["did not answer JSON"]),
    ],
)
def test_status_http_failures_are_one_line(
    env: Env, api: Callable[..., HttpStub], answer: Callable[[Request], Response], fragments: list[str]
) -> None:
    api(answer)

    result = env.cli("status")

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in result.stderr


def test_watch_refreshes_until_ctrl_c(env: Env, api: Callable[..., HttpStub], monkeypatch: pytest.MonkeyPatch) -> None:
    stub = api(json_answer(SAMPLE))
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) % 3 == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_status, "_pause", sleep)

    as_json = env.cli("status", "--watch", "2", "--json")
    as_table = env.cli("status", "--watch", "2")

    assert as_json.exit_code == 0, as_json.output
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == [SAMPLE] * 3
    assert as_table.exit_code == 0, as_table.output
    assert "every 2s; Ctrl-C to stop" in as_table.stdout
    assert len(stub.requests) == 3 + 1 + 2  # the table run: a first render, then one per nap before Ctrl-C
    assert naps == [2.0] * 6


def test_status_from_the_real_status_function(
    env: Env, http_stub: StubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the real status handler behind HTTP, over a pipeline with logged visits and a dead letter
    from functions.status.handler import handler

    for name, value in env.resources.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", env.endpoint)
    ENVIRONMENT.reset()

    def status_function(request: Request) -> Response:
        result = handler(rest_event(request.path, headers=dict(request.headers)), None)
        return Response(result["body"], status=result["statusCode"], headers=result.get("headers") or {})

    stub = http_stub(status_function)
    write_local_state(env.state_file, env.endpoint, env.resources, api_url=stub.url)
    for i in range(3):
        env.sqs.send_message(QueueUrl=env.resources.queue_url, MessageBody=make_visit(path=f"/p{i % 2}").to_json())
    env.run_writer(monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL", env.endpoint)  # run_writer's cleanup resets the clients only
    env.send_to_dlq(make_visit())

    # WHEN the CLI asks for the status, and /status is read directly
    shown = env.cli_json("status")  # as the owner: the CLI reads the token with its AWS credentials
    token = env.cli("token", "show", "--quiet").stdout.strip()
    signed_in = urllib.request.Request(f"{stub.url}/status", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(signed_in) as response:
        direct = json.loads(response.read())

    # THEN the CLI prints exactly what /status answers
    shown.pop("generated_at")
    direct.pop("generated_at")
    assert shown == direct
    assert shown["visits_today"] == 3
    assert shown["dlq_depth"] == 1
    ENVIRONMENT.reset()
