"""Regenerate ``functions/model/bots_data.json`` from the crawler patterns of the installed ``crawlerdetect``.

    make bots-data                                   # the same as:
    .venv/bin/python -m visitor_tracker.refresh_bots  # writes functions/model/bots_data.json
    .venv/bin/python -m visitor_tracker.refresh_bots --check  # exit 1 if the committed file is stale

Upgrade the upstream first (``pip install -U crawlerdetect``, or raise its pin in pyproject.toml), run
this, then ``make test``: the committed sample in ``tests/unit/data/`` must stay classified.

Why a compile step: crawlerdetect (MIT; the patterns of JayBizzle/Crawler-Detect) joins ~1,500
patterns into one case-insensitive regular expression, which costs ~75 ms to build and ~460 us per
User-Agent, too much for ingest's request path. The patterns are mostly plain words, so this step
sorts them once, offline, into what is cheap at run time:

- ``exclusions``: browser tokens crawlerdetect removes before matching, lower-cased (one small regex);
- ``prefixes``: literal patterns anchored at the start (one ``str.startswith`` with a tuple);
- ``literals``: the other literal patterns, indexed by their first ``GRAM`` characters (a dict
  lookup per character of what is left after the exclusions, no regex to compile);
- ``patterns``: the few real regular expressions, lower-cased so no IGNORECASE is needed.

Literals that contain another literal, or a match of an unanchored pattern, can never decide
anything and are dropped. ``ai``: the patterns of crawler-user-agents (MIT, a maintained
list) tagged "ai-crawler" (GPTBot, ClaudeBot, PerplexityBot, Bytespider ...): the detector gives
them their own class. This module is not imported by the functions; it only needs the
``crawlerdetect`` and ``crawler-user-agents`` packages (pinned ``dev`` dependencies) at refresh time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

GRAM = 3
TARGET = Path(__file__).parent.parent / "functions" / "model" / "bots_data.json"
_META = set(".^$*+?{}[]\\|()")
# A leading "[a-z0-9\-_]*" only widens what a match captures; for "is there a match" it is empty.
_GREEDY_PREFIX = "[a-z0-9\\-_]*"


@dataclass(frozen=True)
class Compiled:
    """The upstream patterns sorted by how they are matched at run time."""

    source: str
    exclusions: tuple[str, ...]
    prefixes: tuple[str, ...]
    literals: dict[str, tuple[str, ...]]
    patterns: tuple[str, ...]
    ai: tuple[str, ...] = ()  # AI crawlers, fetchers and agents (crawler-user-agents' "ai-crawler" tag)


def literal(pattern: str) -> str | None:
    """The text a pattern matches if it is a plain literal (escapes allowed), else None."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 < len(pattern) and not pattern[i + 1].isalnum():
                out.append(pattern[i + 1])
                i += 2
                continue
            return None
        if c in _META:
            return None
        out.append(c)
        i += 1
    return "".join(out)


def lowered(pattern: str) -> str:
    """A pattern for lower-cased text: letters lowered, but ``\\D``-style escapes kept (wrapped in (?i:))."""
    if re.search(r"\\[A-Z]", pattern.replace("\\\\", "")):
        return f"(?i:{pattern})"
    return pattern.lower()


def _subsumed(text: str, others: list[str], patterns: list[re.Pattern[str]]) -> bool:
    return any(o != text and o in text for o in others) or any(p.search(text) for p in patterns)


def compile_patterns(crawlers: list[str], exclusions: list[str], source: str) -> Compiled:
    """Sort upstream crawler and exclusion patterns into the run-time tables (see the module doc)."""
    prefixes: list[str] = []
    literals: list[str] = []
    patterns: list[str] = []
    for raw in crawlers:
        pattern = raw[len(_GREEDY_PREFIX) :] if raw.startswith(_GREEDY_PREFIX) else raw
        text = literal(pattern[1:]) if pattern.startswith("^") else None
        if text is not None:
            prefixes.append(text.lower())
        elif (text := literal(pattern)) is not None:
            literals.append(text.lower())
        else:
            patterns.append(lowered(pattern))
    for p in patterns:
        re.compile(p)  # fail the refresh, not a request, on a pattern Python cannot read
    # Unanchored, lookaround-free patterns decide on their own: a literal containing a match is noise.
    plain = [re.compile(p) for p in patterns if not re.search(r"[\^$]|\(\?", p)]
    unique = sorted(set(literals))
    kept = [t for t in unique if not _subsumed(t, unique, plain)]
    short = [t for t in kept if len(t) < GRAM]
    if short:
        raise ValueError(f"literal patterns shorter than {GRAM} characters: {short}")
    index: dict[str, list[str]] = {}
    for text in kept:
        index.setdefault(text[:GRAM], []).append(text)
    return Compiled(
        source=source,
        exclusions=tuple(lowered(p) for p in exclusions),
        prefixes=tuple(sorted(set(prefixes))),
        literals={k: tuple(sorted(v, key=lambda t: (-len(t), t))) for k, v in sorted(index.items())},
        patterns=tuple(patterns),
    )


def ai_patterns(entries: list[dict[str, object]]) -> tuple[str, ...]:
    """The lower-cased patterns of the entries tagged "ai-crawler" (each checked to compile)."""
    out = sorted({lowered(str(e["pattern"])) for e in entries if "ai-crawler" in (e.get("tags") or [])})  # type: ignore[operator]
    for p in out:
        re.compile(p)
    return tuple(out)


def from_installed() -> Compiled:
    """Compile the patterns of the installed ``crawlerdetect``, and the AI names of ``crawler-user-agents``."""
    import crawleruseragents
    from crawlerdetect.providers.crawlers import data as crawlers
    from crawlerdetect.providers.exclusions import data as exclusions

    version = metadata.version("crawlerdetect")
    ai_version = metadata.version("crawler-user-agents")
    compiled = compile_patterns(
        list(crawlers), list(exclusions), f"crawlerdetect {version} + crawler-user-agents {ai_version} (AI names)"
    )
    return replace(compiled, ai=ai_patterns(crawleruseragents.CRAWLER_USER_AGENTS_DATA))


def render(compiled: Compiled) -> str:
    """The text of ``bots_data.json``: JSON, because Lambda assets carry no .pyc and JSON loads in C."""
    data = {
        "about": "Generated by python -m visitor_tracker.refresh_bots from the crawler patterns of "
        "JayBizzle/Crawler-Detect as packaged by crawlerdetect, and the names tagged ai-crawler in "
        "monperrus/crawler-user-agents (all MIT licensed); do not edit.",
        "source": compiled.source,
        "gram": GRAM,
        "exclusions": list(compiled.exclusions),
        "prefixes": list(compiled.prefixes),
        "patterns": list(compiled.patterns),
        "ai": list(compiled.ai),
        "literals": {k: list(v) for k, v in compiled.literals.items()},
    }
    return json.dumps(data, indent=0, ensure_ascii=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only compare with the committed file")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    text = render(from_installed())
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.output} is stale: run python -m visitor_tracker.refresh_bots\n")
            return 1
        return 0
    args.output.write_text(text)
    count = text.count("\n")
    sys.stdout.write(f"wrote {args.output} ({count} lines)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
