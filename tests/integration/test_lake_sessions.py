"""Issue 22's acceptance through local mode's parts: 10,000 scripted visits of known sessions on two
sites, written through the writer's row path into a lake directory, answered by ``GET /status/explore``
(the status handler, DuckDB) and ``visitor-tracker query`` exactly as the script says."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from functions.core.environment import ENVIRONMENT
from functions.core.goals import parse_goals
from functions.lake import sink
from functions.lake.config import LakeConfig
from functions.model.explore import DIMENSIONS
from functions.status import handler as status_handler
from tests.support import lake
from tests.support.events import rest_event
from visitor_tracker.cli import app

SITES = ("a.example", "b.example")
TODAY = datetime.now(UTC).date()
DAYS = [TODAY - timedelta(days=n) for n in (3, 2, 1)]  # two finished days (rollups) and yesterday (queried)
PREVIOUS_DAY = TODAY - timedelta(days=5)  # in the previous period of the same length
VISITORS_PER_DAY = 310  # 2 sessions each: 3,720 sessions, 10,230 visit records over the two sites


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[lake.Session]]:
    root = tmp_path_factory.mktemp("lake")
    sessions = lake.script(SITES, DAYS, VISITORS_PER_DAY)
    previous = lake.script(SITES[:1], [PREVIOUS_DAY], 100)
    config = LakeConfig(directory=str(root))
    records = [v for s in sessions + previous for v in s.visits()]
    assert len([v for s in sessions for v in s.visits()]) >= 10_000
    for start in range(0, len(records), 100):  # the writer's batches
        sink.append(config, records[start : start + 100], "default")
    # A redelivered batch of another composition: every row of these visits twice in the lake.
    sink.append(config, records[50:250], "default")
    sink.append(config, [v for site in SITES for day in DAYS for v in lake.bot_visits(site, day, 20)], "default")
    return root, sessions + previous


@pytest.fixture
def explore(scripted: tuple[Path, list[lake.Session]], monkeypatch: pytest.MonkeyPatch) -> Any:
    root, _ = scripted
    for name, value in {
        "TABLE_NAME": "unused", "QUEUE_URL": "unused", "PUBLIC_DASHBOARD": "true", "LAKE_DIR": str(root),
        "GOALS": lake.GOALS, "SITES": ",".join(SITES),
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    ENVIRONMENT.reset()

    def call(**query: str) -> tuple[int, dict[str, Any]]:
        response = status_handler.handler(rest_event("/status/explore", query=query), None)
        return response["statusCode"], json.loads(response["body"])

    yield call
    ENVIRONMENT.reset()


def _period(site: str = SITES[0]) -> dict[str, str]:
    return {"site": site, "from": DAYS[0].isoformat(), "to": DAYS[-1].isoformat()}


def _of(sessions: list[lake.Session], site: str) -> list[lake.Session]:
    return [s for s in sessions if s.site == site and s.day in DAYS]


@pytest.mark.parametrize("site", SITES)
def test_visits_bounces_durations_and_top_lists_are_the_scripts(explore: Any, scripted: Any, site: str) -> None:
    sessions = _of(scripted[1], site)
    status, body = explore(**_period(site))
    assert status == 200, body
    assert body["summary"] == lake.summary(sessions)
    for dim in ("entry_page", "exit_page", "country", "device"):
        assert [(r["value"], r["visits"]) for r in body["top"][dim]] == lake.top(sessions, dim)
    assert {r["value"] for r in body["top"]["exit_page"]} == {"/", "/blog", "/pricing", "/thanks"}
    pages = {r["value"]: r for r in body["top"]["page"]}
    assert [(p, pages[p]["visits"]) for p, _ in lake.page_visits(sessions)] == lake.page_visits(sessions)
    for page, seconds in lake.time_on_page(sessions).items():
        assert pages[page]["time_on_page"] == seconds
    entered_on_blog = [s for s in sessions if s.entry_page == "/blog"]
    assert pages["/blog"]["bounce_rate"] == lake.summary(entered_on_blog)["bounce_rate"]
    goals = {r["value"]: r["visits"] for r in body["top"]["goal"]}
    assert goals == {"Signup": sum(s.kind == "convert" for s in sessions), "Visit /thanks": goals["Signup"]}
    assert body["sources"]["rollup_days"] + body["sources"]["queried_days"] == len(DAYS)


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        ({"f.country": "DE", "f.device": "mobile"}, lambda s: s.country == "DE" and s.mobile),
        ({"f.page": "/pricing"}, lambda s: "/pricing" in s.pages),
        ({"f.goal": "Signup"}, lambda s: "Signup" in s.events),
        ({"f.entry_page": "/blog", "f.country": "FR"}, lambda s: s.entry_page == "/blog" and s.country == "FR"),
        ({"f.exit_page": "/thanks"}, lambda s: s.exit_page == "/thanks"),
    ],
)
def test_filters_combine_with_and_on_every_panel(
    explore: Any, scripted: Any, filters: dict[str, str], keep: Any
) -> None:
    sessions = [s for s in _of(scripted[1], SITES[0]) if keep(s)]
    status, body = explore(**_period(), **filters)
    assert status == 200, body
    assert body["summary"] == lake.summary(sessions)
    assert [(r["value"], r["visits"]) for r in body["top"]["country"]] == lake.top(sessions, "country")
    in_order = [{"dimension": d, "value": filters[f"f.{d}"]} for d in DIMENSIONS if f"f.{d}" in filters]
    assert body["filters"] == in_order


def test_funnel_steps_in_order_within_a_visit(explore: Any, scripted: Any) -> None:
    sessions = _of(scripted[1], SITES[0])
    status, body = explore(**_period(), funnel=",".join(lake.FUNNEL))
    assert status == 200, body
    reached = [sum(s.funnel_reach() >= n for s in sessions) for n in range(1, len(lake.FUNNEL) + 1)]
    assert [step["visits"] for step in body["funnel"]["steps"]] == reached
    assert body["funnel"]["steps"][1]["drop_off"] == reached[0] - reached[1]
    assert body["funnel"]["steps"][2]["conversion_rate"] == round(reached[2] / reached[0], 4)


def test_the_previous_period_and_the_change(explore: Any, scripted: Any) -> None:
    now = lake.summary(_of(scripted[1], SITES[0]))
    before = lake.summary(s for s in scripted[1] if s.day == PREVIOUS_DAY)
    status, body = explore(**_period(), compare="1")
    assert status == 200, body
    assert body["previous"]["summary"] == before
    assert body["change"]["visits"] == round((now["visits"] - before["visits"]) * 100 / before["visits"], 1)


def test_finished_days_are_computed_once_then_read_from_their_rollups(
    explore: Any, scripted: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, sessions = scripted
    copy = tmp_path / "lake"
    shutil.copytree(root, copy)
    monkeypatch.setenv("LAKE_DIR", str(copy))
    ENVIRONMENT.reset()
    _, first = explore(**_period())
    for day in DAYS[:2]:  # the finished days' events gone: their rollups must answer
        shutil.rmtree(copy / "events" / f"site={SITES[0]}" / f"day={day}")
    ENVIRONMENT.reset()
    _, again = explore(**_period())
    assert again["summary"] == first["summary"] == lake.summary(_of(sessions, SITES[0]))
    assert again["sources"] == {"queries": 1, "rollup_days": 2, "queried_days": 1}
    _, cached = explore(**_period())
    assert cached["cached"] is True


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"f.planet": "Mars"}, "unknown filter dimension"),
        ({"f.goal": "Nope"}, "unknown goal"),
        ({"funnel": "/only-one"}, "2 to 8"),
        ({"range": "forever"}, "range must be one of"),
        ({"compare": "maybe"}, "compare must be"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(explore: Any, query: dict[str, str], message: str) -> None:
    status, body = explore(**query)
    assert status == 400 and message in body["error"]


def test_an_unknown_site_is_a_404(explore: Any) -> None:
    assert explore(site="../etc") == (404, {"error": "unknown site '../etc': this deployment does not count it"})


def test_the_default_sites_rows_of_before_sites_were_listed_are_its_own(
    explore: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-site deployment's lake rows are under ``site=default``; once SITES lists its site first,
    they are that site's, beside the rows written under its name since."""
    before = lake.script(SITES[:1], [DAYS[-2]], 40)
    after = lake.script(SITES[:1], [DAYS[-1]], 30)
    config = LakeConfig(directory=str(tmp_path))
    # (the writer of a one-site deployment: its visits name no site, its default site is "default")
    sink.append(config, [replace(v, site=None) for s in before for v in s.visits()], "default")
    sink.append(config, [v for s in after for v in s.visits()], SITES[0])
    monkeypatch.setenv("LAKE_DIR", str(tmp_path))
    ENVIRONMENT.reset()
    period = {"from": DAYS[-2].isoformat(), "to": DAYS[-1].isoformat()}
    status, body = explore(**period)
    assert status == 200, body
    assert body["site"] == SITES[0]
    assert body["summary"] == lake.summary(before + after)
    assert explore(site=SITES[1], **period)[1]["summary"]["visits"] == 0


def test_the_query_command_reads_the_same_visits(scripted: Any) -> None:
    root, sessions = scripted
    sql = (
        "SELECT site, count(*) AS rows FROM events WHERE NOT is_bot AND day BETWEEN "
        f"'{DAYS[0]}' AND '{DAYS[-1]}' GROUP BY site ORDER BY site"
    )
    result = CliRunner().invoke(app, ["query", sql, "--lake-dir", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    expected = [{"site": site, "rows": sum(len(s.steps) for s in _of(sessions, site))} for site in SITES]
    assert json.loads(result.stdout) == expected
    csv_out = CliRunner().invoke(app, ["query", sql, "--lake-dir", str(root), "--format", "csv"])
    assert csv_out.stdout.splitlines() == ["site,rows", *(f"{e['site']},{e['rows']}" for e in expected)]


@pytest.mark.parametrize("sql", ["SELEC nothing", "SELECT missing_column FROM events", "DROP TABLE events"])
def test_bad_sql_is_one_line_and_exit_2(scripted: Any, sql: str) -> None:
    result = CliRunner().invoke(app, ["query", sql, "--lake-dir", str(scripted[0])])
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and "Traceback" not in result.output


def test_late_rows_for_a_finished_day_drop_its_stored_panels(
    explore: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead letter redriven days later: its rows reach a day whose panels are already stored; the next
    view has them (the writer's sink drops the day's rollup after writing the late object)."""
    day = DAYS[0]  # finished: its panels are computed once and stored
    goals = parse_goals(lake.GOALS)
    everyone = lake.script(SITES[:1], [day], 25)
    first, late = everyone[:40], everyone[40:]  # visitors 0-19, then 20-24
    config = LakeConfig(directory=str(tmp_path))
    sink.append(config, [v for s in first for v in s.visits()], SITES[0], goals)
    monkeypatch.setenv("LAKE_DIR", str(tmp_path))
    monkeypatch.setenv("LAKE_CACHE_SECONDS", "0")
    ENVIRONMENT.reset()
    period = {"from": day.isoformat(), "to": day.isoformat()}
    status, body = explore(**period)
    assert (status, body["summary"]) == (200, lake.summary(first))
    stored = list((tmp_path / "rollups" / f"site={SITES[0]}" / f"day={day}").glob("*.json"))
    assert len(stored) == 1 and explore(**period)[1]["sources"]["rollup_days"] == 1  # read back, not queried

    sink.append(config, [v for s in late for v in s.visits()], SITES[0], goals)

    assert not stored[0].exists()
    assert explore(**period)[1]["summary"] == lake.summary(everyone)
