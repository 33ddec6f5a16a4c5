"""Folding visits into per-item deltas, the caps, and the status summary (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from functions.core.goals import MAX_GOALS
from functions.model import attrs, fold, keys, layout, names
from functions.model import sketches as sketch_model
from functions.model.fold import Delta, Namers
from functions.model.keys import key_tuple
from functions.model.sketches import Sketch
from functions.model.summary import summarize
from functions.model.visit import Visit
from tests.support.pipeline import BOT_UA, FIREFOX_UA, make_visit

NOW = datetime(2026, 11, 26, 13, 30, 15, tzinfo=UTC)
TODAY = "2026-11-26"
DAY = key_tuple(keys.day_agg_key(TODAY))
HOUR = key_tuple(keys.hour_agg_key("2026-11-26T13"))


def browser_of(user_agent: str) -> str:
    """A stand-in for bots.browser_of: the tallies only need a stable label per user agent."""
    return "Firefox" if "Firefox" in user_agent else "Chrome"


def agent_of(user_agent: str) -> str:
    return "Googlebot" if "Googlebot" in user_agent else "other bot"


def bot(when: datetime, bot_class: str = "crawler", path: str = "/", visitor: str | None = "bot") -> Visit:
    """An automated visit as ingest records it (classified)."""
    return replace(
        make_visit(when=when, path=path, user_agent=BOT_UA, is_bot=True, visitor=visitor), bot_class=bot_class
    )


def name(dim: str, value: str, day: str = TODAY) -> keys.ItemKey:
    return layout.name_item_key(day, dim, value)


def deltas_of(visits: Sequence[Visit]) -> dict[keys.ItemKey, Delta]:
    return fold.fold(visits, Namers(browser_of, agent_of))


def test_fold_touches_one_small_item_per_day_hour_and_name() -> None:
    visits = [
        make_visit(when=NOW, path="/a?utm=1", referrer="https://News.Example.com:443/x", visitor="v1"),
        make_visit(when=NOW + timedelta(minutes=1), path="/a", user_agent=FIREFOX_UA, visitor="v2"),
        make_visit(when=NOW, path="/b", referrer="https://www.google.com/", visitor="v1"),
        bot(NOW, path="/robots.txt"),
    ]

    deltas = deltas_of(visits)

    day_names = {
        (layout.PAGE, "/a"),
        (layout.PAGE, "/b"),
        (layout.REFERRER, "news.example.com"),
        (layout.REFERRER, "www.google.com"),
        (layout.BROWSER, "Chrome"),
        (layout.BROWSER, "Firefox"),
        (layout.COUNTRY, layout.UNKNOWN_COUNTRY),
        (layout.AGENT, "Googlebot"),
    }
    assert set(deltas) == (
        {DAY, HOUR}
        | {layout.name_item_key(TODAY, d, n) for d, n in day_names}
        | {layout.name_item_key(layout.ALL_TIME, layout.PAGE, p) for p in ("/a", "/b")}  # all time: pages only
    )
    # entrances by channel (issue 21) are day counters too: a referral, a direct visit, a search
    channels = {"ch:Referral": 1, "ch:Direct": 1, "ch:Organic Search": 1}
    assert deltas[DAY].counters == {"visits": 3, "h13": 3, "bots": 1, "c:crawler": 1, **channels}
    assert deltas[HOUR].counters == {"visits": 3, "bots": 1, "m30": 2, "m31": 1}
    assert deltas[name(layout.PAGE, "/a")].counters == {"visits": 2}
    assert deltas[name(layout.BROWSER, "Chrome")].counters == {"visits": 2}
    assert deltas[name(layout.AGENT, "Googlebot")].counters == {"visits": 1}  # the bot's page is not a page tally
    # TTLs: hour items live days, day and name items a year and more.
    assert deltas[HOUR].expires_at == int(datetime(2026, 11, 29, 13, tzinfo=UTC).timestamp())
    assert deltas[DAY].expires_at > int((NOW + timedelta(days=399)).timestamp())
    assert deltas[name(layout.PAGE, "/a")].expires_at == deltas[DAY].expires_at


def test_a_bot_without_a_class_is_tallied_as_other() -> None:
    deltas = deltas_of([replace(make_visit(when=NOW, user_agent=BOT_UA, is_bot=True), bot_class=None)])
    assert deltas[DAY].counters == {"bots": 1, "c:other": 1}


def test_visits_on_both_sides_of_midnight_touch_two_days_and_two_name_partitions() -> None:
    late = datetime(2026, 11, 25, 23, 59, 59, tzinfo=UTC)
    deltas = deltas_of([make_visit(when=late), make_visit(when=late + timedelta(seconds=2))])
    assert sorted(k[1] for k in deltas if k[0] == "AGG#DAY") == ["2026-11-25", "2026-11-26"]
    assert {k[0] for k in deltas if layout.split_name_key(k) is not None} == {
        keys.names_pk("2026-11-25"),
        keys.names_pk(TODAY),
        keys.names_pk(layout.ALL_TIME),
    }


def test_names_are_normalised_and_truncated() -> None:
    assert names.page_name("/x" * 200) == ("/x" * 200)[: names.MAX_PATH_CHARS]
    assert names.page_name("?q=1") == "/" and names.page_name("/a#frag") == "/a"
    assert names.referrer_name("HTTPS://WWW.Example.ORG/path?q") == "www.example.org"
    assert names.referrer_name("example.net/page") == "example.net"
    assert names.referrer_name("not a url at all") is None
    assert names.referrer_name("") is None and names.referrer_name(None) is None
    assert names.referrer_name("http://[::1") is None  # malformed IPv6: ignored, not an error
    assert names.label("   ") == "Other" and len(names.label("B" * 100)) == names.MAX_LABEL_CHARS


def test_name_keys_split_back_and_other_items_are_not_names() -> None:
    key = name(layout.PAGE, "/a#b")  # a '#' inside the name survives the split
    assert layout.split_name_key(key) == (TODAY, layout.PAGE, "/a#b")
    assert layout.split_name_key(DAY) is None and layout.split_name_key(HOUR) is None
    assert layout.split_name_key(key_tuple(keys.uniques_key(TODAY, 3))) is None  # a sketch, not a tally
    assert layout.split_name_key(key_tuple(keys.counter_key(0))) is None


def test_capped_names_go_to_other_and_merge_there() -> None:
    # GIVEN a batch with two new pages the day has no room for, and one it already holds
    deltas = deltas_of([make_visit(when=NOW, path=p) for p in ("/new1", "/new2", "/new2", "/known")])
    held = {"/known"}

    def admitted(day: str, dim: str, value: str) -> bool:
        return dim != layout.PAGE or value in held

    # WHEN the caps are applied and the deltas merged
    merged = {d.key: d for d in fold.merge_deltas(fold.capped(d, admitted) for d in deltas.values())}

    # THEN the held page keeps its tally, the new ones add up under (other), other items are untouched
    assert merged[name(layout.PAGE, "/known")].counters == {"visits": 1}
    assert merged[name(layout.PAGE, layout.OTHER)].counters == {"visits": 3}
    assert name(layout.PAGE, "/new1") not in merged and name(layout.PAGE, "/new2") not in merged
    assert merged[DAY].counters == deltas[DAY].counters
    assert merged[name(layout.BROWSER, "Chrome")].counters == {"visits": 4}


def test_capping_never_asks_about_other_itself_or_non_name_items() -> None:
    asked: list[tuple[str, str, str]] = []

    def admitted(day: str, dim: str, value: str) -> bool:
        asked.append((day, dim, value))
        return False

    other = Delta(name(layout.REFERRER, layout.OTHER), 0, {"visits": 2})
    assert fold.capped(other, admitted) is other
    day = Delta(DAY, 0, {"visits": 2})
    assert fold.capped(day, admitted) is day
    assert asked == []


def test_visitors_by_day_keeps_human_hashes_truncated() -> None:
    visits = [
        make_visit(when=NOW, visitor="v1"),
        make_visit(when=NOW, visitor="v1"),
        make_visit(when=NOW - timedelta(days=1), visitor="v2"),
        make_visit(when=NOW, visitor=None),
        bot(NOW, visitor="crawler"),
    ]
    days = fold.visitors_by_day(visits)
    assert sorted(days) == ["2026-11-25", TODAY]
    assert len(days[TODAY]) == 1 and len(days["2026-11-25"]) == 1
    assert all(len(m) == names.VISITOR_HASH_CHARS for members in days.values() for m in members)


def table_after(
    deltas: dict[keys.ItemKey, Delta], visits: Sequence[Visit] = ()
) -> tuple[dict[keys.ItemKey, keys.Item], list[keys.Item]]:
    """What the table would hold after these deltas (and the visitors' sketches) were applied to
    empty items: the status BatchGetItem's items, and today's name partition as its Query returns it."""
    items: dict[keys.ItemKey, keys.Item] = {}
    # Names packed three to an item, in order of first appearance (as a writer's KnownNames would).
    order: dict[tuple[str, str], int] = {}
    for delta in fold.pack(deltas.values(), lambda day, dim, name: order.setdefault((dim, name), len(order)) // 3):
        item: keys.Item = {attr: {"N": str(n)} for attr, n in delta.counters.items()}
        items[delta.key] = {**keys.key_dict(delta.key), **item}
    names = [item for key, item in items.items() if key[0] == keys.names_pk(TODAY)]
    members = fold.visitors_by_day(visits).get(TODAY, set())
    # Split over two shards, as two writer environments would.
    for shard, part in enumerate((sorted(members)[::2], sorted(members)[1::2])):
        if part:
            names.append({**keys.uniques_key(TODAY, shard), layout.REGISTERS: {"B": Sketch.of(part).to_bytes()}})
    return items, names


def test_summary_windows_hour_day_week_and_hourly_series() -> None:
    # GIVEN visits 10 min ago, 50 min ago, 70 min ago, 23 h ago, 25 h ago, 6 days ago and 8 days ago
    ago = [10, 50, 70, 23 * 60, 25 * 60, 6 * 24 * 60, 8 * 24 * 60]
    visits = [make_visit(when=NOW - timedelta(minutes=m), visitor=f"v{m}") for m in ago]
    visits.append(bot(NOW))

    # WHEN the summary is computed from the items status reads
    summary = summarize(*table_after(deltas_of(visits), visits), NOW)

    # THEN each window counts what it covers
    assert summary["visits_last_hour"] == 2
    assert summary["visits_last_24h"] == 4
    assert summary["visits_last_7d"] == 6
    assert summary["visits_today"] == 3  # 13:20, 12:40, 12:20 (23 h ago was yesterday 14:30)
    hourly = summary["hourly"]
    assert len(hourly) == 24 and hourly[-1]["hour"] == "2026-11-26T13" and hourly[0]["hour"] == "2026-11-25T14"
    assert sum(h["visits"] for h in hourly) == 4
    assert summary["bots_today"] == 1 and summary["bot_share"] == 0.25  # 1 bot among 4 visits today
    assert summary["bots_by_class"] == {"crawler": 1}
    assert summary["top_bots"] == [{"agent": "Googlebot", "visits": 1}]
    assert summary["unique_visitors_today"] == 3


def test_summary_of_nothing_is_all_zero() -> None:
    summary = summarize({}, [], NOW)
    windows = ("visits_last_hour", "visits_last_24h", "visits_last_7d", "visits_today", "unique_visitors_today")
    assert [summary[w] for w in windows] == [0] * len(windows)
    assert summary["top_pages"] == [] and summary["browsers"] == [] and summary["bot_share"] == 0.0
    assert summary["bots_by_class"] == {} and len(summary["hourly"]) == 24


def test_summary_top_lists_are_sorted_bounded_and_read_from_the_name_items() -> None:
    visits = [
        make_visit(when=NOW, path=f"/p{i}", referrer=f"https://r{i % 3}.example/")
        for i in range(15)
        for _ in range(i + 1)
    ]
    summary = summarize(*table_after(deltas_of(visits)), NOW)
    top = summary["top_pages"]
    assert len(top) == layout.TOP_N
    assert top[0] == {"path": "/p14", "visits": 15}
    assert [t["visits"] for t in top] == sorted((t["visits"] for t in top), reverse=True)
    assert [r["referrer"] for r in summary["top_referrers"]] == ["r2.example", "r1.example", "r0.example"]
    assert summary["browsers"] == [{"browser": "Chrome", "visits": sum(range(1, 16))}]


def test_top_names_break_ties_by_name_and_skip_zero_tallies() -> None:
    def packed(dim: str, k: int, **names: int) -> keys.Item:
        return {**keys.name_key(TODAY, dim, str(k)), **{layout.NAME_ATTR + n: {"N": str(v)} for n, v in names.items()}}

    items = [packed(layout.PAGE, 0, b=2, a=1, c=0), packed(layout.PAGE, 1, d=5, a=1)]  # "a" in two packs: summed
    items.append(packed(layout.BROWSER, 0, a=9))  # another dimension
    assert attrs.top_names(items, layout.PAGE) == [("d", 5), ("a", 2), ("b", 2)]
    assert attrs.tallies(items, layout.PAGE) == {"a": 2, "b": 2, "c": 0, "d": 5}


def test_packing_keeps_items_small_and_puts_each_name_where_the_slot_says() -> None:
    visits = [make_visit(when=NOW, path=f"/p{i}") for i in range(7)]
    logical = fold.fold(visits, Namers(lambda ua: "Chrome", lambda ua: "bot")).values()
    packed = fold.pack(logical, lambda day, dim, name: int(name[2:]) // 3 if dim == layout.PAGE else 0)
    pages = {d.key: d.counters for d in packed if d.key[1].startswith(layout.PAGE + "#") and d.key[0].endswith(TODAY)}
    assert pages == {
        layout.pack_key(TODAY, layout.PAGE, 0): {"n:/p0": 1, "n:/p1": 1, "n:/p2": 1},
        layout.pack_key(TODAY, layout.PAGE, 1): {"n:/p3": 1, "n:/p4": 1, "n:/p5": 1},
        layout.pack_key(TODAY, layout.PAGE, 2): {"n:/p6": 1},
    }
    day = next(d for d in packed if d.key == key_tuple(keys.day_agg_key(TODAY)))
    assert day.counters["visits"] == 7  # non-name items pass through unchanged


def test_status_keys_are_a_fixed_list() -> None:
    sk = layout.status_keys(NOW)
    assert len(sk.item_keys()) == layout.DAYS_READ + 2
    assert sk.days[0] == TODAY and sk.days[-1] == "2026-11-19"
    assert sk.hours == ("2026-11-26T13", "2026-11-26T12")


def test_one_query_page_holds_a_full_name_partition() -> None:
    # Every capped name, one (other) per dimension and every sketch item: the limit status queries with.
    packs = sum(layout.CAPS.values()) // layout.PACK_NAMES + len(layout.DIMENSIONS)
    assert layout.NAMES_READ_MAX == 2 * packs + layout.UNIQUES_SHARDS  # twice: room for packs racing writers add
    # each pack about 1 KB; a sketch item holds the visitors' and each goal's 2 KB sketch: one Query page
    assert layout.UNIQUES_ITEM_MAX_BYTES >= (1 + MAX_GOALS) * sketch_model.M
    assert 2 * packs * 1024 + layout.UNIQUES_SHARDS * layout.UNIQUES_ITEM_MAX_BYTES < 1024 * 1024


def test_summary_estimates_unique_visitors_from_the_union_of_the_shards() -> None:
    # GIVEN 1,000 visits today from 40 visitors, and 1,000 from 600 (past the sketch's exact range)
    for visitors, tolerance in ((40, 0), (600, 0.03 * 600)):
        visits = [make_visit(when=NOW - timedelta(seconds=i), visitor=f"u{i % visitors}") for i in range(1000)]
        # WHEN the summary is computed
        summary = summarize(*table_after(deltas_of(visits), visits), NOW)
        # THEN unique visitors are exact while few, within 3 % beyond
        assert abs(summary["unique_visitors_today"] - visitors) <= tolerance
        assert summary["visits_today"] == 1000


def test_the_same_visitors_in_several_shards_count_once() -> None:
    members = {f"{i:016x}" for i in range(30)}
    names = [{**keys.uniques_key(TODAY, s), layout.REGISTERS: {"B": Sketch.of(members).to_bytes()}} for s in range(3)]
    assert summarize({}, names, NOW)["unique_visitors_today"] == 30


def test_uniques_items_read_and_unreadable_registers() -> None:
    members = [f"{i:016x}" for i in range(12)]
    read = attrs.read_uniques({layout.REGISTERS: {"B": Sketch.of(members).to_bytes()}, layout.VERSION: {"N": "7"}})
    assert read.sketch.estimate() == 12 and read.version == 7
    assert attrs.read_uniques(None) == attrs.Uniques()
    # Unreadable registers count as none rather than failing /status
    junk: keys.Item = {**keys.uniques_key(TODAY, 0), layout.REGISTERS: {"B": b"junk"}, layout.VERSION: {"N": "2"}}
    assert attrs.read_uniques(junk).version == 2
    assert summarize({}, [junk], NOW)["unique_visitors_today"] == 0


def test_uniques_expire_a_fixed_time_after_their_day() -> None:
    start = datetime(2026, 11, 26, tzinfo=UTC)
    assert layout.uniques_expires_at(TODAY) == int((start + timedelta(days=layout.UNIQUES_TTL_DAYS)).timestamp())
