"""Generated access logs for the import-logs tests: nginx/Apache combined and CloudFront standard logs."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"
CLAUDEBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)"
PERPLEXITY = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

CLOUDFRONT_HEADER = (
    "#Version: 1.0\n"
    "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
    "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol "
    "cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version "
    "fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type "
    "sc-content-len sc-range-start sc-range-end\n"
)


@dataclass(frozen=True)
class Request:
    when: datetime  # UTC
    path: str
    user_agent: str
    status: int = 200


def nginx_line(r: Request) -> str:
    stamp = r.when.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'192.0.2.10 - - [{stamp}] "GET {r.path} HTTP/1.1" {r.status} 5120 "-" "{r.user_agent}"\n'


def cloudfront_line(r: Request) -> str:
    agent = quote(r.user_agent, safe="/();:,.+-_")
    fields = [
        r.when.strftime("%Y-%m-%d"), r.when.strftime("%H:%M:%S"), "FRA56-P1", "5120", "192.0.2.10", "GET",
        "d111111abcdef8.cloudfront.net", r.path, str(r.status), "-", agent, "-", "-", "Miss",
        "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==", "www.example.com", "https", "180", "0.101",
        "-", "TLSv1.3", "TLS_AES_128_GCM_SHA256", "Miss", "HTTP/2.0", "-", "-", "11040", "0.101", "Miss",
        "text/html", "5120", "-", "-",
    ]  # fmt: skip
    return "\t".join(fields) + "\n"


def write_nginx(path: Path, requests: Sequence[Request], extra: str = "") -> Path:
    path.write_text("".join(nginx_line(r) for r in requests) + extra, encoding="utf-8")
    return path


def write_cloudfront_gz(path: Path, requests: Sequence[Request]) -> Path:
    """A CloudFront standard log file as CloudFront delivers it: gzip, header lines first."""
    text = CLOUDFRONT_HEADER + "".join(cloudfront_line(r) for r in requests)
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path
