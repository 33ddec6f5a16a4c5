"""Goals (issue 21): parsing the declaration, matching events and page patterns, the fold's completions and
converters, and the goal lines of a summary. Pure: no table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.core.goals import MAX_GOALS, Goal, InvalidGoals, format_goals, parse_goals
from functions.core.settings import ConfigError, load_settings
from functions.model import fold, goals, keys, layout, rollups
from functions.model.fold import Namers
from functions.model.keys import key_tuple
from functions.model.names import visitor_member
from functions.model.sketches import Sketch
from functions.model.summary import summarize_range
from tests.support.pipeline import make_visit

NOW = datetime(2026, 11, 26, 13, 30, tzinfo=UTC)
TODAY = "2026-11-26"
NAMERS = Namers(lambda ua: "Chrome", lambda ua: "bot")


def test_a_declaration_is_event_names_and_page_patterns_in_order() -> None:
    parsed = parse_goals(" Signup ,page:/thanks*, ,Outbound  Link: Click,PAGE:/docs/**")
    assert parsed == (
        Goal("event", "Signup"),
        Goal("page", "/thanks*"),
        Goal("event", "Outbound Link: Click"),  # spaces collapsed, as the event names are
        Goal("page", "/docs/**"),
    )
    assert [g.label for g in parsed] == ["Signup", "Visit /thanks*", "Outbound Link: Click", "Visit /docs/**"]
    assert parse_goals(list(format_goals(parsed).split(","))) == parsed
    assert parse_goals("") == () and parse_goals([]) == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("page:thanks", "must start with /"),
        ("page:/a b", "without spaces"),
        ("Sign|up", "without any of"),
        ("x" * 65, "at most 64 characters"),
        ("Signup,page:/t,Signup", "declared twice"),
        (",".join(f"g{n}" for n in range(MAX_GOALS + 1)), f"at most {MAX_GOALS} goals, got {MAX_GOALS + 1}"),
    ],
)
def test_a_bad_declaration_says_why(raw: str, message: str) -> None:
    with pytest.raises(InvalidGoals, match=message):
        parse_goals(raw)


def test_settings_read_goals_once_and_name_the_variable_when_wrong() -> None:
    assert load_settings({"GOALS": "Signup,page:/thanks*"}).goals == (Goal("event", "Signup"), Goal("page", "/thanks*"))
    assert load_settings({}).goals == ()
    with pytest.raises(ConfigError, match="^GOALS: a page goal's pattern must start with /"):
        load_settings({"GOALS": "page:nope"})


@pytest.mark.parametrize(
    ("pattern", "page", "matches"),
    [
        ("/thanks", "/thanks", True),
        ("/thanks", "/thanks/", False),
        ("/thanks*", "/thanks-pro", True),
        ("/thanks*", "/thanks/again", False),  # "*" stops at "/"
        ("/docs/**", "/docs/api/v1", True),  # "**" does not
        ("/docs/**", "/doc", False),
        ("/a.b", "/axb", False),  # other characters are literal
        ("/*/done", "/shop/done", True),
    ],
)
def test_page_patterns(pattern: str, page: str, matches: bool) -> None:
    assert Goal("page", pattern).matches_page(page) is matches
    assert Goal("event", pattern).matches_page(page) is False  # an event goal matches no page


def test_which_visits_complete_which_goals() -> None:
    declared = parse_goals("Signup,page:/thanks*")
    assert goals.completed(make_visit(path="/thanks?plan=pro#top"), declared) == [declared[1]]
    assert goals.completed(make_visit(path="/", event="Signup", counted=False), declared) == [declared[0]]
    # an event is no pageview, whatever its page
    assert goals.completed(make_visit(path="/thanks", event="Other", counted=False), declared) == []
    assert goals.completed(make_visit(path="/thanks", is_bot=True), declared) == []
    assert goals.completed(make_visit(path="/thanks"), ()) == []


def test_the_fold_counts_completions_in_the_day_item_and_collects_converters() -> None:
    declared = parse_goals("Signup,page:/thanks*")
    visits = [
        make_visit(when=NOW, path="/thanks", visitor="a"),
        make_visit(when=NOW, path="/thanks", visitor="a"),
        make_visit(when=NOW, path="/", event="Signup", counted=False, visitor="b"),
        make_visit(when=NOW, path="/thanks", is_bot=True, visitor="c"),
    ]
    deltas = fold.fold(visits, NAMERS, declared)
    day = deltas[key_tuple(keys.day_agg_key(TODAY))]
    assert day.counters["gl:Visit /thanks*"] == 2 and day.counters["gl:Signup"] == 1
    assert goals.converters(visits, declared) == {
        (TODAY, "Visit /thanks*"): {visitor_member(str(visits[0].visitor))},
        (TODAY, "Signup"): {visitor_member(str(visits[2].visitor))},
    }
    # without goals: no goal counter, as before
    assert not any(c.startswith(layout.GOAL_PREFIX) for c in fold.fold(visits, NAMERS)[day.key].counters)


def test_goal_rows_from_counters_and_sketches() -> None:
    declared = parse_goals("Signup,page:/thanks*")
    day_item = {"gl:Signup": {"N": "5"}}
    # two shards' sketch items: the visitors' registers and each goal's converters (an undeclared goal's too)
    sketch_item = {
        **keys.uniques_key(TODAY, 3),
        layout.REGISTERS: {"B": Sketch.of(["a", "b", "c"]).to_bytes()},
        "g:Signup": {"B": Sketch.of(["a"]).to_bytes()},
        "g:Visit /x": {"B": Sketch.of(["z"]).to_bytes()},
    }
    other_shard = {**keys.uniques_key(TODAY, 5), "g:Signup": {"B": Sketch.of(["a", "b"]).to_bytes()}}
    rows = goals.goal_rows(declared, [day_item, None], [sketch_item, other_shard], unique_visitors=8)
    assert [(r["goal"], r["completions"], r["unique_converters"], r["conversion_rate"]) for r in rows] == [
        ("Signup", 5, 2, 0.25),
        ("Visit /thanks*", 0, 0, 0.0),
    ]
    # a period without sketches (months) and one without visitors
    assert goals.goal_rows(declared, [day_item], [], None)[0]["conversion_rate"] is None
    assert goals.goal_rows(declared, [day_item], [sketch_item], 0)[0]["conversion_rate"] == 0.0


def test_a_month_keeps_its_goals_completions_without_converters() -> None:
    # GIVEN two days of November with completions, rolled up into the month
    declared = parse_goals("Signup,page:/thanks*")
    days = ["2026-11-01", "2026-11-02"]
    totals = {"2026-11-01": {"visits": {"N": "9"}, "gl:Signup": {"N": "2"}}, "2026-11-02": {"gl:Signup": {"N": "3"}}}
    month_totals, month_names = rollups.rollup_views(rollups.rollup_item("2026-11", days, totals, []))
    # WHEN a 12-month range shows it
    body = summarize_range(["2026-11"], {"2026-11": month_totals}, month_names, declared)
    # THEN the completions add up; months keep no sketches, so no converters and no rate
    assert [(g["goal"], g["completions"], g["unique_converters"], g["conversion_rate"]) for g in body["goals"]] == [
        ("Signup", 5, None, None),
        ("Visit /thanks*", 0, None, None),
    ]
