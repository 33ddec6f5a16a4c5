"""User-Agent classification: known crawlers (ingest's ``is_bot``) and browser families (writer's aggregate).

A bot here is a client that announces itself as automated: search-engine crawlers, social-media link
previewers, SEO tools, uptime monitors, headless browsers. Plain command-line HTTP clients (curl,
wget, python-requests, httpx...) are NOT counted as bots, so ``curl $API_URL`` visibly counts while
you try the tracker; ``browser_of`` files them under "HTTP client" so the dashboard shows them apart.
An empty User-Agent is not a bot either (no evidence either way).

Both functions only look at the first ``MAX_CLASSIFIED_LENGTH`` characters, so a 100 KB header
costs the same as a normal one.
"""

from __future__ import annotations

import re
from typing import Final

MAX_CLASSIFIED_LENGTH: Final = 1024

# Lower-case substrings announced by crawlers and other automated clients.
BOT_PATTERNS: Final[tuple[str, ...]] = (
    "bot",  # googlebot, bingbot, applebot, duckduckbot, yandexbot, twitterbot, slackbot, ...
    "crawl",  # crawler, crawling, ccbot's "crawl" pages
    "spider",  # baiduspider, sogou spider, 360spider
    "slurp",  # yahoo
    "mediapartners-google",
    "adsbot-google",
    "apis-google",
    "feedfetcher",
    "google-inspectiontool",
    "googleother",
    "google-read-aloud",
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "embedly",
    "quora link preview",
    "outbrain",
    "vkshare",
    "w3c_validator",
    "whatsapp",
    "skypeuripreview",
    "bitlybot",
    "ia_archiver",
    "archive.org",
    "headlesschrome",
    "phantomjs",
    "lighthouse",
    "pagespeed",
    "gtmetrix",
    "pingdom",
    "uptimerobot",
    "statuscake",
    "site24x7",
    "newrelicpinger",
    "datadog",
    "semrush",
    "ahrefs",
    "mj12",
    "dotbot",
    "petalbot",
    "bytespider",
    "gptbot",
    "chatgpt-user",
    "claudebot",
    "anthropic-ai",
    "perplexity",
    "scrapy",
    "httrack",
    "nutch",
    "python-urllib",
    "preview",
)

# "(?<!cu)bot": Cubot phones put "CUBOT" in a normal browser's User-Agent.
_BOT_RE: Final = re.compile("|".join("(?<!cu)bot" if p == "bot" else re.escape(p) for p in BOT_PATTERNS))

# Command-line tools and HTTP libraries: counted as visits, shown as "HTTP client".
_HTTP_CLIENT_RE: Final = re.compile(
    r"^(curl|wget|httpie|python-requests|python-httpx|aiohttp|go-http-client|okhttp|java/|"
    r"apache-httpclient|axios|node-fetch|undici|postmanruntime|insomnia|libwww-perl|powershell)"
)

# Order matters: Edge, Opera and Samsung Internet also say "Chrome"; Chrome also says "Safari".
_BROWSERS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("Edge", re.compile(r"\bedg(e|a|ios)?/")),
    ("Opera", re.compile(r"\bopr/|\bopera\b|\bopios/")),
    ("Samsung Internet", re.compile(r"\bsamsungbrowser/")),
    ("Yandex", re.compile(r"\byabrowser/")),
    ("Vivaldi", re.compile(r"\bvivaldi/")),
    ("Firefox", re.compile(r"\bfirefox/|\bfxios/")),
    ("Chrome", re.compile(r"\bchrome/|\bcrios/|\bchromium/")),
    ("Safari", re.compile(r"\bversion/[\d.]+.*\bsafari/|\bmobile/\w+ safari/")),
    ("Internet Explorer", re.compile(r"\bmsie |\btrident/")),
)

BOT: Final = "Bot"
HTTP_CLIENT: Final = "HTTP client"
OTHER: Final = "Other"
UNKNOWN: Final = "Unknown"
BROWSER_FAMILIES: Final[tuple[str, ...]] = (*(name for name, _ in _BROWSERS), BOT, HTTP_CLIENT, OTHER, UNKNOWN)


def _normalised(user_agent: str | None) -> str:
    return (user_agent or "")[:MAX_CLASSIFIED_LENGTH].strip().lower()


def is_bot(user_agent: str | None) -> bool:
    """True for a User-Agent that announces a crawler, previewer, monitor or headless browser."""
    ua = _normalised(user_agent)
    return bool(ua) and _BOT_RE.search(ua) is not None


def browser_of(user_agent: str | None) -> str:
    """The browser family of a User-Agent: one of ``BROWSER_FAMILIES`` (bounded, for aggregates)."""
    ua = _normalised(user_agent)
    if not ua:
        return UNKNOWN
    if _BOT_RE.search(ua):
        return BOT
    if _HTTP_CLIENT_RE.search(ua):
        return HTTP_CLIENT
    for name, pattern in _BROWSERS:
        if pattern.search(ua):
            return name
    return OTHER
