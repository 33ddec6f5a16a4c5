"""The project's own rules of automated-traffic detection (``functions.model.bots`` applies them).

Every rule is matched on the lower-cased User-Agent and bounded by tokens (``\\b``), so a word inside
another word never decides: "scan" is not CamScanner, "check" is not a checkout webview, "bot" is
not turbotabbee. Each alternative was checked against the browser corpora of bench/9_bots.py.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final

# A self-identifying agent: a URL or an e-mail address in the User-Agent.
SELF_IDENTIFIED: Final = re.compile(r"https?:|[\w.+-]@[a-z][\w-]*\.[a-z]{2,}|\[at\]")

# Browsers without a modern engine token, recognised positively: old desktop browsers (Amiga, BeOS,
# RISC OS, Mosaic, Dillo, text browsers), i-mode and WAP phones, TV boxes whose browser runs on Cronet.
OLD_BROWSER: Final = re.compile(
    r"^(?:amigavoyager|ibrowse|aweb|voyager|netpositive|dillo|lynx|links|elinks|w3m|ncsa[_ ]mosaic|vms_mosaic"
    r"|mosaic|amaya|arachne|netsurf|offbyone|docomo/|kddi-|up\.browser|j-phone|vodafone/|softbank/|ucweb|portalmmm"
    r"|nokia|samsung-|sonyericsson|sie-|mot-|lg-|lge-|sec-|sharp|sanyo|benq|alcatel|blackberry\d|opera/\d)"
    r"|profile/midp|configuration/cldc|\bup\.link\b|\bi-mode\b|\bbrew\b|\bobigo|\bopenwave|\bteleca\b"
    r"|\(compatible; [^;)]+; (?:amigaos|beos|risc os|os/2|haiku|win16|windows 3)"
    r"|^com\.tcl\.browser/|^linux; u; android [\d.]+; .*; cronet/"
)

# An Electron desktop app (Slack, Mattermost, VS Code): a browser, whose name crawlerdetect may list.
ELECTRON: Final = re.compile(r"\belectron/\d")

# Words and names no browser sends. Matched per token (a dict or set look-up each), not as one big
# alternation: a regex of hundreds of "\\b..." alternatives costs ~0.5 ms per browser User-Agent.
TOKEN: Final = re.compile(r"[a-z][a-z0-9._+-]*(?:/\d)?")
# Products sent as "name/<digit>": HTTP clients, SDKs and runtimes wherever they stand (the product
# token need not be first), package managers, load tools, AI coding tools.
PRODUCTS: Final = frozenset(
    "java python python-urllib go-http-client okhttp node node.js ruby php perl dart rust jdk openjdk botocore boto3"
    " aws-cli jakarta libcurl urllib urllib3 aiohttp httpx requests axios undici got reqwest hyper faraday guzzle"
    " restsharp refit retrofit ktor ktor-client dio alamofire unirest sdk apt apt-http yum dnf bits pip npm yarn"
    " pnpm cargo conda composer k6 siege wrk ab cursor lavf vlc aider cline apache-maven maven gradle sparkle bundler"
    " squid".split()
)
# Whole words (a token equal to one of these, a "/version" allowed).
WORDS: Final = frozenset(
    "rss feed feeds podcast podcasts downloader monitor monitors monitoring check checks checker synthetic proxy"
    " gateway scan scans scanner scanning scraper scraping scrapy splash jina devin manus openai anthropic codex"
    " copilot mcp audit research webhook webhooks lookup preview screenshot screenshots thumbnail thumbnails detect"
    " detector detection verify verifier verification dcv httpclient http-client sdk".split()
)
# Tokens starting with one of these: tool, service and library names.
PREFIXES: Final = tuple(
    "uptime newsboat newsbeuter akregator newsblur feeddler readkit feedly inoreader freshrss miniflux netnewswire"
    " castget podgrab overcast pocketcasts applecoremedia gstreamer libsoup stagefright mplayer ffmpeg playapod"
    " pingdom site24x7 checkly datadog newrelic dynatrace catchpoint thousandeyes gatus nodeping freshping hetrix"
    " zabbix nagios prometheus blackbox jmeter gatling locust artillery vegeta apachebench varnish cloudflare akamai"
    " fastly transcoder googleweblight sqlmap nikto nuclei zgrab masscan nmap wpscan acunetix burp scrapingbee"
    " scraperapi zenrows brightdata apify diffbot browserless urlbox prerender rendertron firecrawl crawlbase"
    " oxylabs claude-code claude-cli claude-user langchain llamaindex llama-index windsurf gemini-cli browser-use"
    " stagehand chatgpt perplexity selenium playwright puppeteer webdriver phantomjs lighthouse matomotrackersdk"
    " zypper homebrew winget windows-update-agent microsoft-cryptoapi microsoft-delivery-optimization"
    " softwareupdate chocolatey rubygems nuget statuscake google- aws-sdk- azsdk- azure- google-api- dalvik"
    " loader.io".split()
)
# What tokens cannot say: a lone product token, a client's name first, phrases, payloads of probes.
POLICY: Final = re.compile(
    r"^[^\s(;]*$"  # one product token and nothing else: okhttp/3.5.0, Zapier, Uptime-Kuma/1.23.16
    r"|^(?:curl|wget|httpie|python|go |java|node|deno|bun/|php|ruby|perl|libwww|lwp|powershell)"
    r"|microsoft bits|amazon cloudfront|union\s+select|health ?check|pocket ?casts|debian apt|feed ?(?:reader|fetcher)"
    r"|cache ?warm|status ?cake|kaios downloader|radio downloader|(?:sdk|api) client|http.?client|\(compatible\)"
    r"|<\s*script|<\?|\$\{|\.\./|%00|<!entity|<!doctype|javascript:|onerror\s*=|alert\(|/etc/passwd|phpinfo"
    r"|eval\(|base64_decode|sleep\(|waitfor delay|\(\)\s*\{|'\s*or\s*'|or 1=1"
)


def policy_span(low: str) -> tuple[int, int] | None:
    """Where the project's policy finds an automated client in ``low``, or None."""
    found = POLICY.search(low)
    if found is not None:
        return found.span()
    for token in TOKEN.finditer(low):
        text = token.group(0)
        name = text[:-2] if text.endswith(("/0", "/1", "/2", "/3", "/4", "/5", "/6", "/7", "/8", "/9")) else text
        if (name != text and name in PRODUCTS) or name in WORDS or name.startswith(PREFIXES):
            return token.start(), token.start() + len(name)
    return None


# A "Mozilla/" User-Agent that names no platform (or only "compatible; Agent") and no rendering
# engine is a client borrowing the prefix; old and TV browsers name their platform and pass.
PRETEND: Final = re.compile(r"mozilla/[\d.]+\s*(?:\(compatible[;)]|[^(]*$)")
ENGINE: Final = re.compile(r"applewebkit|gecko|trident|msie|presto|khtml|netfront|webkit|opera|chrome|firefox|safari")
# The first comment of a browser's User-Agent, when it names a platform: a device model in it
# ("Spider 8", "VR BOT 552", "C Bot Tab 70") is not an agent's name.
PLATFORM_COMMENT: Final = re.compile(
    r"mozilla/5\.0 \((?:linux|android|windows|iphone|ipad|ipod|macintosh|x11|web0s|smart-?tv|tizen|playstation"
    r"|nintendo|xbox|kaios|mobile|tablet)[^)]*\)"
)
# After a match ending in a letter, what may follow it inside the same word: "bot" stays "bots",
# "crawl" stays "crawler", but "bot" in "botech" or "turbotabbee" is no match.
WORD_TAIL: Final = re.compile(r"(?:s|er|ers|ing|ler)?(?![a-z])")
# The upstream's generic words that must end a word ("headless", "uptime" may start one: HeadlessChrome).
GENERIC_WORDS: Final = frozenset(("bot", "cron", "crawl", "spider"))

# Class of an automated agent, first match wins, tried on the agent's name, then on the whole string.
# Compiled on the first automated visit, not at import: a browser's visit (and the cold start) never needs them.
_CLASS_RULES: Final[tuple[tuple[str, str], ...]] = (
    ("headless", (r"headless|phantomjs|puppeteer|playwright|selenium|webdriver|lighthouse|slimerjs")),
    (
        "scanner",
        (
            r"scan|sqlmap|nikto|nmap|zgrab|nuclei|acunetix|netsparker|openvas|qualys|nessus|burp|security|censys"
            r"|shodan|expanse|jndi|detectify|fuzz|probe|exploit|vuln|\$\{|<\?|<\s*script|\.\./|/etc/passwd|<!entity"
            r"|onerror|alert\(|\(\)\s*\{"
        ),
    ),
    (
        "monitor",
        (
            r"uptime|monitor|pingdom|statuscake|site24x7|newrelic|datadog|health|check|zabbix|nagios|synthetic"
            r"|blackbox|catchpoint|status|alert|checkly|k6/|jmeter|gatling|locust"
        ),
    ),
    (
        "preview",
        (
            r"externalhit|facebookcatalog|twitterbot|slackbot|discordbot|telegrambot|whatsapp|linkedinbot|skypeuri"
            r"|embedly|iframely|preview|unfurl|pinterest|redditbot|vkshare|bitlybot|mastodon|link ?expand"
            r"|screenshot|thumbnail|bluesky|snapchat|viber|kakaotalk|outbrain|quora"
        ),
    ),
    (
        "crawler",
        (r"bot(?!o)|crawl|spider|slurp|archiv|heritrix|scrap|ahrefs|semrush|nutch|httrack|rss|feed|podcast|reader"),
    ),
    (
        "http-client",
        (
            r"curl|wget|python|httpx|aiohttp|okhttp|go-http|^go |java|http.?client|axios|node|undici|got/|libwww"
            r"|lwp|powershell|httpie|guzzle|php|ruby|perl|dart|reqwest|ureq|postman|insomnia|restsharp|dalvik"
            r"|urllib|requests|faraday|hackney|deno|winhttp|cfnetwork|http|sdk|apt|yum|bits|maven|npm|pip|darwin"
        ),
    ),
    ("crawler", (r"index|search|seo|fetch|yandex|baidu|sogou|google|bing")),
)


@cache
def class_rules() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((name, re.compile(pattern)) for name, pattern in _CLASS_RULES)


# AI agents and coding tools that are no crawler list's entries: the AI class too (token prefixes).
AI_TOOLS: Final = tuple(
    "claude-code claude-cli claude-user cursor/ devin manus openai anthropic langchain llamaindex llama-index aider/"
    " codex copilot windsurf cline/ gemini-cli browser-use stagehand chatgpt perplexity gptbot claudebot mcp".split()
)


def is_ai_tool(low: str) -> bool:
    """Whether a token of ``low`` names an AI agent or coding tool."""
    return any(t.group(0).startswith(AI_TOOLS) for t in TOKEN.finditer(low))


CLIENT_NAMES: Final = re.compile(r"curl|wget|python|okhttp|go-http|java/|http.?client|axios|libwww|guzzle|php/")
URL: Final = re.compile(r"https?:|www\.")
DOMAIN: Final = re.compile(r"[a-z0-9-]\.(?:com|org|net|io|ai|de|ru|fr|uk|jp|cn|info|html?)\b")
