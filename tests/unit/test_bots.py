"""Automated-traffic detection and browser families, on committed samples of real User-Agents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.model import bots, browsers
from functions.model.bots import CLASSES, agent_of, classify, is_bot
from functions.model.browsers import BROWSER_FAMILIES, browser_of
from visitor_tracker import refresh_bots

DATA = Path(__file__).with_name("data")
RECALL_GOAL = 0.95
FALSE_POSITIVE_GOAL = 0.01


def _tsv(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, ua = line.split("\t", 1)
            rows.append((kind, ua))
    return rows


SAMPLE = _tsv("user_agents.tsv")
AUTOMATED = [ua for kind, ua in SAMPLE if kind == "automated"]
BROWSERS = [ua for kind, ua in SAMPLE if kind == "browser"]
SPECIAL = dict(_tsv("special_browsers.tsv"))

# The issue's examples: each counted before, each must now be automated, with this class and name.
ISSUE_EXAMPLES = {
    "sqlmap/1.0.8.2#dev (http://sqlmap.org)": ("scanner", "sqlmap"),
    "Mozilla/5.0 (compatible; Yahoo Ad monitoring; https://help.yahoo.com/kb/yahoo-ad-monitoring-SLN24857.html)  "
    "yahoo.adquality.lwd.desktop/1591143192-10": ("monitor", "Yahoo Ad monitoring"),
    "Uptime-Kuma/1.23.16": ("monitor", "Uptime-Kuma"),
    "trafilatura/2.0.0 (+https://github.com/adbar/trafilatura)": ("crawler", "trafilatura"),
    "okhttp/3.5.0": ("http-client", "okhttp"),
    "Zapier": ("other", "Zapier"),
    "Mozilla/5.0 (compatible; heritrix/3.1.1 +http://www.mixdata.com)": ("crawler", "heritrix"),
}

POLICY = {
    "curl/8.5.0": ("http-client", "curl"),
    "Wget/1.21.4": ("http-client", "Wget"),
    "python-requests/2.32.3": ("http-client", "python-requests"),
    "python-httpx/0.27.2": ("http-client", "python-httpx"),
    "Go-http-client/1.1": ("http-client", "Go-http-client"),
    "Java/17.0.9": ("http-client", "Java"),
    "axios/1.7.7": ("http-client", "axios"),
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36": (
        "headless",
        "HeadlessChrome",
    ),
    "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1": (
        "headless",
        "PhantomJS",
    ),
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0 "
    "Mobile Safari/537.36 Chrome-Lighthouse": ("headless", "Chrome-Lighthouse"),
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": ("crawler", "Googlebot"),
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)": ("preview", "facebookexternalhit"),
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)": ("preview", "Slackbot-LinkExpanding"),
    "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)": ("monitor", "UptimeRobot"),
}


def _recall(uas: list[str]) -> float:
    return sum(is_bot(ua) for ua in uas) / len(uas)


def _false_positive_rate(uas: list[str]) -> float:
    return sum(is_bot(ua) for ua in uas) / len(uas)


def test_the_sample_is_big_enough_to_mean_something() -> None:
    assert len(AUTOMATED) >= 200 and len(BROWSERS) >= 150
    assert set(ISSUE_EXAMPLES) <= set(AUTOMATED)


def test_recall_on_the_sample_of_real_crawlers() -> None:
    missed = [ua for ua in AUTOMATED if not is_bot(ua)]
    assert _recall(AUTOMATED) >= RECALL_GOAL, missed


def test_false_positives_on_the_sample_of_real_browsers() -> None:
    flagged = [(ua, classify(ua)) for ua in BROWSERS if is_bot(ua)]
    assert _false_positive_rate(BROWSERS) <= FALSE_POSITIVE_GOAL, flagged


@pytest.mark.parametrize("kind", SPECIAL)
def test_in_app_tv_console_privacy_and_old_browsers_count(kind: str) -> None:
    ua = SPECIAL[kind]
    assert classify(ua) is None, (kind, agent_of(ua))
    assert agent_of(ua) == ""
    assert browser_of(ua) in BROWSER_FAMILIES and browser_of(ua) not in (browsers.BOT, browsers.HTTP_CLIENT)


@pytest.mark.parametrize("ua", [*ISSUE_EXAMPLES, *POLICY])
def test_issue_examples_and_policy_clients_are_automated_with_class_and_name(ua: str) -> None:
    expected = ISSUE_EXAMPLES.get(ua) or POLICY[ua]
    assert (classify(ua), agent_of(ua)) == expected
    assert is_bot(ua) is True
    assert browser_of(ua) == (browsers.HTTP_CLIENT if expected[0] == "http-client" else browsers.BOT)


@pytest.mark.parametrize("ua", ["", None, "   "])
def test_no_user_agent_is_automated(ua: str | None) -> None:
    assert classify(ua) == "other"
    assert is_bot(ua) is True
    assert agent_of(ua) == bots.EMPTY_AGENT
    assert browser_of(ua) == browsers.UNKNOWN


def test_browser_families_of_common_browsers() -> None:
    families = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36 Edg/131.0.2903.51": "Edge",
        "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0": "Firefox",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Safari/605.1.15": "Safari",
        SPECIAL["brave"]: "Chrome",
        SPECIAL["ie6"]: "Internet Explorer",
        SPECIAL["cubot-phone"]: "Chrome",
    }
    for ua, family in families.items():
        assert browser_of(ua) == family


def test_every_answer_is_bounded() -> None:
    everything = [*AUTOMATED, *BROWSERS, *SPECIAL.values(), "", "x", "Mozilla/5.0 " + "bot" * 500]
    for ua in everything:
        assert classify(ua) in (*CLASSES, None)
        assert len(agent_of(ua)) <= bots.MAX_AGENT_LENGTH
        assert browser_of(ua) in BROWSER_FAMILIES
        assert (classify(ua) is None) == (agent_of(ua) == "")


def test_only_the_first_characters_are_examined() -> None:
    browser = SPECIAL["android-webview"]
    huge = browser + " " + "x" * 200_000 + " Googlebot/2.1"
    assert is_bot(huge) is False
    assert is_bot(browser + " Googlebot/2.1") is True


def test_refresh_from_the_installed_upstream_keeps_the_sample_classified(tmp_path: Path) -> None:
    """What `make bots-data` would write: the same file as committed, and the sample still caught."""
    text = refresh_bots.render(refresh_bots.from_installed())
    target = tmp_path / "bots_data.json"
    target.write_text(text)
    fresh = bots._load(target)
    assert json.loads(text)["source"] == bots.SOURCE
    caught_before = [ua for ua in AUTOMATED if bots._upstream_match(ua.lower()) is not None]
    assert len(caught_before) >= 0.8 * len(AUTOMATED)  # the upstream layer carries most of the detection
    assert [ua for ua in caught_before if bots._upstream_match(ua.lower(), fresh) is None] == []
    assert [ua for ua in BROWSERS if bots._upstream_match(ua.lower(), fresh) is not None] == []
    assert refresh_bots.main(["--check"]) == 0, "functions/model/bots_data.json is stale: run make bots-data"


def test_the_compiler_sorts_patterns_and_drops_the_useless() -> None:
    compiled = refresh_bots.compile_patterns(
        ["^Java\\/", "Zapier", "ZapierBot", "Yandex(?!Search)", "[a-z0-9\\-_]*(bot|spider)", "Y!J-[A-Z]{3}"],
        ["Safari.[\\d\\.]*"],
        "test 1.0",
    )
    assert compiled.prefixes == ("java/",)
    assert compiled.literals == {"zap": ("zapier",)}  # "zapierbot" contains "zapier" (and "bot")
    assert compiled.patterns == ("yandex(?!search)", "(bot|spider)", "y!j-[a-z]{3}")
    assert compiled.exclusions == ("safari.[\\d\\.]*",)
    with pytest.raises(ValueError, match="shorter"):
        refresh_bots.compile_patterns(["ab"], [], "test")


def _modern() -> list[tuple[str, str, str]]:
    rows = []
    for line in (DATA / "modern_automated.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, expected, ua = line.split("\t", 2)
            rows.append((kind, expected, ua))
    return rows


@pytest.mark.parametrize(("kind", "expected", "ua"), _modern())
def test_kinds_issue_23_found_counted_are_automated_with_their_class(kind: str, expected: str, ua: str) -> None:
    assert classify(ua) == expected, (kind, agent_of(ua))


def test_the_held_out_browsers_stay_browsers() -> None:
    lines = (DATA / "heldout_browsers.txt").read_text(encoding="utf-8").splitlines()
    held_out = [line for line in lines if line and not line.startswith("#")]
    assert len(held_out) > 900
    flagged = [(ua, classify(ua)) for ua in held_out if is_bot(ua)]
    assert len(flagged) <= FALSE_POSITIVE_GOAL * len(held_out), flagged


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile "
        "Safari/537.36 CamScanner/6.52.0",  # "scan" inside a word
        "Mozilla/5.0 (Linux; Android 8.1.0; XBot Junior) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0 "
        "Mobile Safari/537.36",  # a device model named like a bot
        "Mozilla/5.0 (Linux; Android 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/77.0 Safari/537.36 "
        "HbbTV/1.5.1 (+DRM;BOTECH;ATV R1;)",  # "bot" starting a brand
    ],
)
def test_words_that_only_contain_bot_words_are_browsers(ua: str) -> None:
    assert classify(ua) is None


def test_a_bot_name_in_the_platform_comment_with_a_version_is_still_a_bot() -> None:
    ua = (
        "Mozilla/5.0 (X11; Linux x86_64; Storebot-Google/1.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0 "
        "Safari/537.36"
    )
    assert classify(ua) == "crawler"


def test_the_ai_class_is_the_one_the_fold_tallies_by_page() -> None:
    from functions.model import layout

    assert bots.AI_CLASS == layout.AI_CLASS and bots.AI_CLASS in CLASSES
    assert bots.DATACENTER_CLASS in CLASSES


def test_refresh_takes_ai_names_from_crawler_user_agents_tags() -> None:
    entries = [
        {"pattern": "GPTBot", "tags": ["ai-crawler"]},
        {"pattern": "Googlebot\\/", "tags": ["search-engine"]},
        {"pattern": "[cC]laude[bB]ot", "tags": ["ai-crawler", "x"]},
    ]
    assert refresh_bots.ai_patterns(entries) == ("[cc]laude[bb]ot", "gptbot")
