"""Custom events (issue 21): the limits of a name and its properties, and how the fold tallies them."""

from __future__ import annotations

import json

import pytest

from functions.model import events, layout
from functions.model.fold import Namers, fold
from functions.model.keys import day_agg_key, key_tuple
from tests.support.pipeline import make_visit

NAMERS = Namers(browser_of=lambda ua: "Chrome", agent_of=lambda ua: "bot")


def test_a_pageview_is_not_an_event_and_an_event_is_cleaned() -> None:
    assert events.event_of({"page": "/"}) is None
    name, props = events.event_of(
        {"e": "  Sign \t up\x00 ", "p": json.dumps({"plan": " pro ", "seats": 3, "ok": True})}
    )
    assert name == "Sign up"
    assert props == {"plan": "pro", "seats": "3", "ok": "true"}
    # an empty value is dropped, no props is an empty dict
    assert events.event_of({"e": "Signup", "p": '{"plan": ""}'}) == ("Signup", {})
    assert events.event_of({"e": "Outbound Link: Click"}) == ("Outbound Link: Click", {})


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"e": " "}, "is empty"),
        ({"e": "x" * 65}, "longer than 64"),
        ({"e": "a|b"}, "must not contain"),
        ({"e": "<script>"}, "must not contain"),
        ({"p": "{}"}, "without an event name"),
        ({"e": "A", "p": "not json"}, "not JSON"),
        ({"e": "A", "p": "[1]"}, "JSON object"),
        ({"e": "A", "p": json.dumps({f"k{i}": "v" for i in range(11)})}, "at most 10 properties"),
        ({"e": "A", "p": json.dumps({"bad key": "v"})}, "property names"),
        ({"e": "A", "p": json.dumps({"k" * 33: "v"})}, "property names"),
        ({"e": "A", "p": json.dumps({"k": {"nested": 1}})}, "string, a number or a boolean"),
        ({"e": "A", "p": json.dumps({"k": "v" * 257})}, "longer than 256"),
        ({"e": "A", "p": "x" * 2049}, "longer than 2048"),
    ],
)
def test_each_limit_is_refused_with_a_message_naming_it(query: dict[str, str], message: str) -> None:
    with pytest.raises(events.BadEvent, match=message):
        events.event_of(query)


def test_property_tallies_name_event_key_and_value_and_split_back() -> None:
    (name,) = events.property_names("Signup", {"plan": "pro=max"})
    assert name == "Signup|plan=pro=max"
    assert events.split_property(name) == ("Signup", "plan", "pro=max")
    assert events.split_property(layout.OTHER) is None
    long = events.property_names("E", {"url": "u" * 256})[0]
    assert len(events.split_property(long)[2]) == events.TALLY_VALUE_CHARS  # type: ignore[index]


def test_the_fold_tallies_events_apart_from_pageviews() -> None:
    page = make_visit(path="/pricing")
    signup = make_visit(path="/pricing", event="Signup", props={"plan": "pro"}, counted=False)
    bot_event = make_visit(event="Signup", is_bot=True, counted=False)
    deltas = fold([page, signup, bot_event], NAMERS)
    day = key_tuple(day_agg_key(page.timestamp[:10]))
    # THEN the day has one visit (the pageview) and one event (the browser's; the bot's is not tallied)
    assert deltas[day].counters["visits"] == 1
    assert deltas[day].counters[layout.EVENTS] == 1
    tallied = {key[1]: d.counters for key, d in deltas.items() if key[0].startswith("AGG#N#2")}
    assert tallied[f"{layout.EVENT}#Signup"] == {"visits": 1}
    assert tallied[f"{layout.PROPERTY}#Signup|plan=pro"] == {"visits": 1}
    # AND the page is tallied once, by the pageview only; the event adds no hour or minute
    assert tallied[f"{layout.PAGE}#/pricing"] == {"visits": 1}
    hours = [d for key, d in deltas.items() if key[0] == "AGG#HOUR"]
    assert [h.counters for h in hours] == [{"visits": 1, f"m{page.when.minute:02d}": 1}]


def test_a_message_without_the_new_fields_is_the_previous_releases_message() -> None:
    from functions.model.visit import OPTIONAL_SINCE_ISSUE_21, Visit

    plain = make_visit(path="/")
    assert not set(OPTIONAL_SINCE_ISSUE_21) & set(json.loads(plain.to_json()))  # an older writer reads it
    assert Visit.from_json(plain.to_json()) == plain
    event = make_visit(event="Signup", props={"plan": "pro"}, hostname="shop.example", screen="phone")
    assert Visit.from_json(event.to_json()) == event
