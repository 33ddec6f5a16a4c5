"""The project's own rules of automated-traffic detection (``functions.model.bots`` applies them).

Every rule is matched on the lower-cased User-Agent and bounded by tokens (``\\b``), so a word inside
another word never decides: "scan" is not CamScanner, "check" is not a checkout webview, "bot" is
not turbotabbee. Each alternative was checked against the browser corpora of bench/9_bots.py.
"""

from __future__ import annotations

import re
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

# Words and names no browser sends, each at a token boundary.
POLICY: Final = re.compile(
    r"^[^\s(;]*$"  # one product token and nothing else: okhttp/3.5.0, Zapier, Uptime-Kuma/1.23.16
    r"|^dalvik/"  # Android's default HTTP stack (apps calling an API), not a browser
    r"|^(?:curl|wget|httpie|python|go |java|node|deno|bun/|php|ruby|perl|libwww|lwp|powershell)"
    # HTTP clients, SDKs and runtimes wherever they stand (the product token need not be first)
    r"|\b(?:java|python|python-urllib|go-http-client|okhttp|node(?:\.js)?|ruby|php|perl|dart|rust|jdk|openjdk"
    r"|botocore|boto3|aws-sdk-[\w-]+|aws-cli|azsdk-[\w-]+|azure-[\w-]+|google-api-[\w-]+|gcloud|gl-python"
    r"|apache-httpclient|jakarta|libcurl|urllib3?|aiohttp|httpx|requests|axios|undici|got"
    r"|reqwest|hyper|faraday|guzzle|restsharp|refit|retrofit|ktor(?:-client)?|dio|alamofire|unirest)/\d"
    r"|\b(?:sdk|api)[ -]?client\b|\bsdk/\d|\bmatomotrackersdk\b"
    # package managers and updaters
    r"|\b(?:debian )?apt(?:-http)?/\d|\byum/\d|\bdnf/\d|\bzypper|\bmicrosoft bits\b|\bbits/\d|\bapache-maven|\bmaven/"
    r"|\bgradle/|\bpip/\d|\bnpm/\d|\byarn/\d|\bpnpm/\d|\bnuget|\bcargo/\d|\bhomebrew|\bconda/\d|\bwinget"
    r"|\bwindows-update-agent|\bmicrosoft-cryptoapi|\bmicrosoft-delivery-optimization|\bsoftwareupdate"
    r"|\bsparkle/|\bchocolatey|\bcomposer/\d|\bbundler/|\brubygems"
    # feed readers, podcast and media fetchers
    r"|\brss\b|\bfeeds?\b|\bfeed ?(?:reader|fetcher|parser)|\bpodcasts?\b|\bnewsboat|\bnewsbeuter|\bakregator"
    r"|\bnewsblur|\bfeeddler|\breadkit|\bfeedly|\binoreader|\bfreshrss|\bminiflux|\bnetnewswire|\bcastget"
    r"|\bpodgrab|\bovercast|\bpocket ?casts|\bapplecoremedia|\bgstreamer|\blibsoup|\bdownloader\b"
    r"|\bstagefright|\blavf/|\bvlc/|\bmplayer|\bffmpeg|\bkaios downloader|\bradio downloader|\bplayapod"
    # monitoring, synthetic testing and load tools
    r"|\bmonitor(?:s|ing)?\b|\buptime|\bsynthetic|\bchecks?\b|\bchecker\b|\bhealth ?check|\bstatus ?cake"
    r"|\bpingdom|\bsite24x7|\bcheckly|\bdatadog|\bnewrelic|\bdynatrace|\bcatchpoint|\bthousandeyes|\bgatus"
    r"|\bnodeping|\bfreshping|\bhetrix|\bzabbix|\bnagios|\bprometheus|\bblackbox|\bk6/|\bjmeter|\bgatling"
    r"|\blocust|\bartillery|\bsiege/|\bwrk/|\bvegeta|\bapachebench|\bab/\d|\bloader\.io"
    # proxies, CDNs, transcoders, gateways
    r"|\bproxy\b|\bsquid/|\bvarnish|\bamazon cloudfront|\bcloudflare|\bakamai|\bfastly|\btranscoder"
    r"|\bgoogleweblight|\bgateway\b|\bcache ?warm"
    # security probes: a tool name, or a payload instead of a name
    r"|\bscan(?:ner|ning|s)?\b|\bsqlmap|\bnikto|\bnuclei|\bzgrab|\bmasscan|\bnmap|\bwpscan|\bacunetix|\bburp"
    r"|<\s*script|<\?|\$\{|\.\./|%00|\bunion\s+select|<!entity|<!doctype|javascript:|onerror\s*=|alert\("
    r"|/etc/passwd|\bphpinfo|\beval\(|base64_decode|\bsleep\(|waitfor delay|\(\)\s*\{|'\s*or\s*'|\bor 1=1"
    # scraping and rendering services
    r"|\bscrap(?:er|ing|y)\b|\bscrapingbee|\bscraperapi|\bzenrows|\bbrightdata|\bapify|\bdiffbot|\bbrowserless"
    r"|\burlbox|\bprerender|\brendertron|\bsplash\b|\bfirecrawl|\bjina\b|\bcrawlbase|\boxylabs"
    # AI agents and coding tools
    r"|\bclaude-(?:code|cli|user)|\bcursor/\d|\bdevin\b|\bmanus\b|\bopenai\b|\banthropic\b|\blangchain"
    r"|\bllama-?index|\baider/|\bcodex\b|\bcopilot\b|\bwindsurf|\bcline/|\bgemini-cli|\bbrowser-use|\bstagehand"
    r"|\bmcp\b|\bchatgpt|\bperplexity"
    # the rest of the policy of issue 10, now at word boundaries
    r"|\baudit\b|\bresearch\b|\bwebhooks?\b|\bselenium|\bplaywright|\bpuppeteer|\bwebdriver|\bphantomjs"
    r"|\blighthouse|\bhttp.?client|\bverif(?:y|ier|ication)\b|\bdcv\b|\blookup\b|\bpreview\b|\bscreenshots?\b"
    r"|\bthumbnails?\b|\bdetect(?:or|ion)?\b|\bgoogle-|\(compatible\)"
)
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
CLASS_RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("headless", re.compile(r"headless|phantomjs|puppeteer|playwright|selenium|webdriver|lighthouse|slimerjs")),
    (
        "scanner",
        re.compile(
            r"scan|sqlmap|nikto|nmap|zgrab|nuclei|acunetix|netsparker|openvas|qualys|nessus|burp|security|censys"
            r"|shodan|expanse|jndi|detectify|fuzz|probe|exploit|vuln|\$\{|<\?|<\s*script|\.\./|/etc/passwd|<!entity"
            r"|onerror|alert\(|\(\)\s*\{"
        ),
    ),
    (
        "monitor",
        re.compile(
            r"uptime|monitor|pingdom|statuscake|site24x7|newrelic|datadog|health|check|zabbix|nagios|synthetic"
            r"|blackbox|catchpoint|status|alert|checkly|k6/|jmeter|gatling|locust"
        ),
    ),
    (
        "preview",
        re.compile(
            r"externalhit|facebookcatalog|twitterbot|slackbot|discordbot|telegrambot|whatsapp|linkedinbot|skypeuri"
            r"|embedly|iframely|preview|unfurl|pinterest|redditbot|vkshare|bitlybot|mastodon|link ?expand"
            r"|screenshot|thumbnail|bluesky|snapchat|viber|kakaotalk|outbrain|quora"
        ),
    ),
    (
        "crawler",
        re.compile(
            r"bot(?!o)|crawl|spider|slurp|archiv|heritrix|scrap|ahrefs|semrush|nutch|httrack|rss|feed|podcast|reader"
        ),
    ),
    (
        "http-client",
        re.compile(
            r"curl|wget|python|httpx|aiohttp|okhttp|go-http|^go |java|http.?client|axios|node|undici|got/|libwww"
            r"|lwp|powershell|httpie|guzzle|php|ruby|perl|dart|reqwest|ureq|postman|insomnia|restsharp|dalvik"
            r"|urllib|requests|faraday|hackney|deno|winhttp|cfnetwork|http|sdk|apt|yum|bits|maven|npm|pip|darwin"
        ),
    ),
    ("crawler", re.compile(r"index|search|seo|fetch|yandex|baidu|sogou|google|bing")),
)
# AI agents and coding tools that are no crawler list's entries: the AI class too.
AI_TOOLS: Final = re.compile(
    r"\bclaude-(?:code|cli|user)|\bcursor/\d|\bdevin\b|\bmanus\b|\bopenai\b|\banthropic|\blangchain|\bllama-?index"
    r"|\baider/|\bcodex\b|\bcopilot\b|\bwindsurf|\bcline/|\bgemini-cli|\bbrowser-use|\bstagehand|\bchatgpt"
    r"|\bperplexity|\bgptbot|\bclaudebot|\bmcp\b"
)
CLIENT_NAMES: Final = re.compile(r"curl|wget|python|okhttp|go-http|java/|http.?client|axios|libwww|guzzle|php/")
URL: Final = re.compile(r"https?:|www\.")
DOMAIN: Final = re.compile(r"[a-z0-9-]\.(?:com|org|net|io|ai|de|ru|fr|uk|jp|cn|info|html?)\b")
