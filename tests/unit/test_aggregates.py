"""Folding visits into aggregate deltas, the caps, and the status summary (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.common import aggregates as agg
from functions.common import keys
from functions.common.aggregates import Delta, fold, key_tuple, summarize
from functions.common.bots import browser_of
from functions.common.hll import Sketch
from tests.pipeline_helpers import BOT_UA, FIREFOX_UA, make_visit

NOW = datetime(2026, 11, 26, 13, 30, 15, tzinfo=UTC)
DAY = key_tuple(keys.day_agg_key("2026-11-26"))
HOUR = key_tuple(keys.hour_agg_key("2026-11-26T13"))
UNIQ = key_tuple(keys.uniques_key("2026-11-26"))


def test_fold_counts_humans_bots_hours_minutes_pages_referrers_browsers_and_uniques() -> None:
    visits = [
        make_visit(when=NOW, path="/a?utm=1", referrer="https://News.Example.com:443/x", visitor="v1"),
        make_visit(when=NOW + timedelta(minutes=1), path="/a", user_agent=FIREFOX_UA, visitor="v2"),
        make_visit(when=NOW, path="/b", referrer="https://www.google.com/", visitor="v1"),
        make_visit(when=NOW, path="/robots.txt", user_agent=BOT_UA, is_bot=True, visitor="bot"),
    ]

    deltas = fold(visits, browser_of)

    assert set(deltas) == {DAY, HOUR, UNIQ}
    day = deltas[DAY].counters
    assert day["visits"] == 3 and day["bots"] == 1 and day["h13"] == 3
    assert day["p:/a"] == 2 and day["p:/b"] == 1 and "p:/robots.txt" not in day
    assert day["r:news.example.com"] == 1 and day["r:www.google.com"] == 1
    assert day["b:Chrome"] == 2 and day["b:Firefox"] == 1
    hour = deltas[HOUR].counters
    assert hour == {"visits": 3, "bots": 1, "m30": 2, "m31": 1}
    assert len(deltas[UNIQ].members) == 2  # v1 twice, v2; the bot is not a unique visitor
    assert all(len(m) == agg.VISITOR_HASH_CHARS for m in deltas[UNIQ].members)
    # TTLs: hour items live days, day items a year and more.
    assert deltas[HOUR].expires_at == int(datetime(2026, 11, 29, 13, tzinfo=UTC).timestamp())
    assert deltas[DAY].expires_at > int((NOW + timedelta(days=399)).timestamp())


def test_visits_on_both_sides_of_midnight_touch_two_days() -> None:
    late = datetime(2026, 11, 25, 23, 59, 59, tzinfo=UTC)
    deltas = fold([make_visit(when=late), make_visit(when=late + timedelta(seconds=2))], browser_of)
    days = sorted(k[1] for k in deltas if k[0] == "AGG#DAY")
    assert days == ["2026-11-25", "2026-11-26"]


def test_names_are_normalised_and_truncated() -> None:
    assert agg.page_name("/x" * 200).startswith("p:/x") and len(agg.page_name("/x" * 200)) == 2 + agg.MAX_PATH_CHARS
    assert agg.page_name("?q=1") == "p:/"
    assert agg.referrer_name("HTTPS://WWW.Example.ORG/path?q") == "r:www.example.org"
    assert agg.referrer_name("example.net/page") == "r:example.net"
    assert agg.referrer_name("not a url at all") is None
    assert agg.referrer_name("") is None and agg.referrer_name(None) is None
    assert agg.referrer_name("http://[::1") is None  # malformed IPv6: ignored, not an error


def test_caps_send_new_names_to_other_once_a_family_is_full() -> None:
    # GIVEN a day item that already holds the maximum number of page names
    cap = agg.CAPS[agg.PAGE_PREFIX]
    known = {f"p:/old{i}" for i in range(cap)}
    delta = Delta(DAY, 0, counters={"visits": 3, "p:/old1": 1, "p:/new": 2, "r:a.example": 1})

    # WHEN the cap is applied
    capped = agg.apply_caps(delta, known)

    # THEN known names keep their tally, the new page goes to (other), other families are untouched
    assert capped.counters == {"visits": 3, "p:/old1": 1, "p:(other)": 2, "r:a.example": 1}
    assert "p:/new" not in known and "r:a.example" in known


def test_caps_admit_the_most_visited_new_names_first() -> None:
    cap = agg.CAPS[agg.BROWSER_PREFIX]
    known = {f"b:B{i}" for i in range(cap - 1)}  # room for one more
    capped = agg.apply_caps(Delta(DAY, 0, counters={"b:Rare": 1, "b:Popular": 5}), known)
    assert capped.counters == {"b:Popular": 5, "b:(other)": 1}


def _items(deltas: dict[agg.ItemKey, Delta]) -> dict[agg.ItemKey, agg.Item]:
    """What the table would hold after these deltas were applied to empty items."""
    items: dict[agg.ItemKey, agg.Item] = {}
    for key, delta in deltas.items():
        item: agg.Item = {name: {"N": str(n)} for name, n in delta.counters.items()}
        if delta.members:
            item[agg.REGISTERS] = {"B": Sketch.of(delta.members).to_bytes()}
        items[key] = item
    return items


def test_summary_windows_hour_day_week_and_hourly_series() -> None:
    # GIVEN visits 10 min ago, 50 min ago, 70 min ago, 23 h ago, 25 h ago, 6 days ago and 8 days ago
    ago = [10, 50, 70, 23 * 60, 25 * 60, 6 * 24 * 60, 8 * 24 * 60]
    visits = [make_visit(when=NOW - timedelta(minutes=m), visitor=f"v{m}") for m in ago]
    visits.append(make_visit(when=NOW, user_agent=BOT_UA, is_bot=True))

    # WHEN the summary is computed from the items status reads
    summary = summarize(_items(fold(visits, browser_of)), NOW)

    # THEN each window counts what it covers
    assert summary["visits_last_hour"] == 2
    assert summary["visits_last_24h"] == 4
    assert summary["visits_last_7d"] == 6
    assert summary["visits_today"] == 3  # 13:20, 12:40, 12:20 (23 h ago was yesterday 14:30)
    hourly = summary["hourly"]
    assert len(hourly) == 24 and hourly[-1]["hour"] == "2026-11-26T13" and hourly[0]["hour"] == "2026-11-25T14"
    assert sum(h["visits"] for h in hourly) == 4
    assert summary["bots_today"] == 1 and summary["bot_share"] == 0.25  # 1 bot among 4 visits today


def test_summary_of_nothing_is_all_zero() -> None:
    summary = summarize({}, NOW)
    windows = ("visits_last_hour", "visits_last_24h", "visits_last_7d", "visits_today", "unique_visitors_today")
    assert [summary[w] for w in windows] == [0] * len(windows)
    assert summary["top_pages"] == [] and summary["browsers"] == [] and summary["bot_share"] == 0.0
    assert len(summary["hourly"]) == 24


def test_summary_top_lists_are_sorted_and_bounded() -> None:
    visits = [make_visit(when=NOW, path=f"/p{i}") for i in range(15) for _ in range(i + 1)]
    summary = summarize(_items(fold(visits, browser_of)), NOW)
    top = summary["top_pages"]
    assert len(top) == agg.TOP_N
    assert top[0] == {"path": "/p14", "visits": 15}
    assert [t["visits"] for t in top] == sorted((t["visits"] for t in top), reverse=True)


def test_status_keys_are_a_fixed_list() -> None:
    sk = agg.status_keys(NOW)
    assert len(sk.item_keys()) == agg.DAYS_READ + 2 + 1
    assert sk.days[0] == "2026-11-26" and sk.hours == ("2026-11-26T13", "2026-11-26T12")


def test_summary_estimates_unique_visitors_from_the_sketch() -> None:
    # GIVEN 1,000 visits today from 40 visitors, and 1,000 from 600 (past the sketch's exact range)
    for visitors, tolerance in ((40, 0), (600, 0.03 * 600)):
        visits = [make_visit(when=NOW - timedelta(seconds=i), visitor=f"u{i % visitors}") for i in range(1000)]
        # WHEN the summary is computed
        summary = summarize(_items(fold(visits, browser_of)), NOW)
        # THEN unique visitors are exact while few, within 3 % beyond
        assert abs(summary["unique_visitors_today"] - visitors) <= tolerance
        assert summary["visits_today"] == 1000


def test_uniques_of_the_earlier_layout_and_unreadable_registers() -> None:
    # A string set item (before the sketch) still counts; a sketch plus a set counts their union
    members = [f"{i:016x}" for i in range(12)]
    legacy = agg.read_uniques({agg.VISITORS: {"SS": members}})
    assert legacy.sketch.estimate() == 12 and legacy.legacy and legacy.version == 0
    both = agg.read_uniques(
        {
            agg.VISITORS: {"SS": members[:5]},
            agg.REGISTERS: {"B": Sketch.of(members[3:]).to_bytes()},
            "version": {"N": "7"},
        }
    )
    assert both.sketch.estimate() == 12 and both.version == 7
    # Unreadable registers count as none rather than failing /status
    assert summarize({UNIQ: {agg.REGISTERS: {"B": b"junk"}}}, NOW)["unique_visitors_today"] == 0
