"""Bot detection and browser families from real-world User-Agent strings."""

from __future__ import annotations

import pytest

from functions.common.bots import BROWSER_FAMILIES, browser_of, is_bot

BROWSERS = {
    "Chrome": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36",
    "Chrome iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    "Firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Safari": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Safari/605.1.15",
    "Safari iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1",
    "Edge": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36 Edg/131.0.2903.51",
    "Opera": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 "
    "Safari/537.36 OPR/115.0.0.0",
    "Samsung Internet": "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    "Internet Explorer": "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
    "Chrome on a Cubot phone": "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
}

EXPECTED_FAMILY = {
    "Chrome": "Chrome",
    "Chrome iOS": "Chrome",
    "Firefox": "Firefox",
    "Safari": "Safari",
    "Safari iOS": "Safari",
    "Edge": "Edge",
    "Opera": "Opera",
    "Samsung Internet": "Samsung Internet",
    "Internet Explorer": "Internet Explorer",
    "Chrome on a Cubot phone": "Chrome",
}

BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0 "
    "Mobile Safari/537.36 Chrome-Lighthouse",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
    "Scrapy/2.11.2 (+https://scrapy.org)",
    "WhatsApp/2.23.20.0",
]


@pytest.mark.parametrize("name", BROWSERS)
def test_browsers_are_not_bots_and_get_their_family(name: str) -> None:
    assert is_bot(BROWSERS[name]) is False
    assert browser_of(BROWSERS[name]) == EXPECTED_FAMILY[name]


@pytest.mark.parametrize("ua", BOTS)
def test_crawlers_previewers_and_monitors_are_bots(ua: str) -> None:
    assert is_bot(ua) is True
    assert browser_of(ua) == "Bot"


@pytest.mark.parametrize("ua", ["curl/8.5.0", "Wget/1.21.4", "python-requests/2.32.3", "python-httpx/0.27.2"])
def test_command_line_clients_count_but_are_shown_apart(ua: str) -> None:
    assert is_bot(ua) is False
    assert browser_of(ua) == "HTTP client"


@pytest.mark.parametrize("ua", ["", None, "   "])
def test_no_user_agent_is_unknown_not_a_bot(ua: str | None) -> None:
    assert is_bot(ua) is False
    assert browser_of(ua) == "Unknown"


def test_unrecognised_and_huge_values_stay_bounded() -> None:
    assert browser_of("SomethingElse/1.0") == "Other"
    huge = "Mozilla/5.0 " + "x" * 200_000 + " Googlebot"
    assert is_bot(huge) is False  # only the first kilobyte is looked at
    assert browser_of(huge) in BROWSER_FAMILIES
    assert {browser_of(ua) for ua in [*BROWSERS.values(), *BOTS, "curl/8", "", "x"]} <= set(BROWSER_FAMILIES)
