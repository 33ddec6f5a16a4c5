"""Regenerate ``channels_data.json`` (search engines, social networks, AI assistants by host) from Matomo's
maintained list, github.com/matomo-org/searchengine-and-social-list (CC0-1.0, public domain).

The list is published as YAML files on GitHub and Packagist, not on PyPI or npm, so this reads a checkout
of it (``git clone https://github.com/matomo-org/searchengine-and-social-list``) and keeps only what the
channel rules need: host names (``{}`` in a host means any top-level domain, kept as a prefix), the AI
assistants with their names. Paths (``x.com/i/grok``) are left out: a referrer is reduced to its host.

    .venv/bin/python -m visitor_tracker.refresh_channels CHECKOUT          # rewrite the data file
    .venv/bin/python -m visitor_tracker.refresh_channels CHECKOUT --check  # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

DATA_FILE = Path(__file__).parent.parent / "functions" / "model" / "channels_data.json"
SOURCE = "https://github.com/matomo-org/searchengine-and-social-list"


def _hosts(entries: Any) -> list[str]:
    """The plain host names of one YAML entry (a list of hosts, or of ``{urls: [...]}`` dicts)."""
    found: list[str] = []
    for entry in entries or []:
        urls = entry.get("urls", []) if isinstance(entry, dict) else [entry]
        found.extend(str(u).strip().lower() for u in urls if u and "/" not in str(u))
    return found


def build(checkout: Path) -> dict[str, Any]:
    def read(name: str) -> dict[str, Any]:
        return dict(yaml.safe_load((checkout / name).read_text(encoding="utf-8")))

    search = sorted({h for entries in read("SearchEngines.yml").values() for h in _hosts(entries)})
    social = sorted({h for entries in read("Socials.yml").values() for h in _hosts(entries)})
    ai = {h: str(name) for name, entries in read("AIAssistants.yml").items() for h in _hosts(entries)}
    try:
        commit = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "source": f"{SOURCE} at {commit} (CC0-1.0)",
        "search": [h for h in search if "{}" not in h],
        "search_any_tld": sorted({h.split("{}", 1)[0] for h in search if h.endswith(".{}")}),
        "social": [h for h in social if "{}" not in h],
        "social_any_tld": sorted({h.split("{}", 1)[0] for h in social if h.endswith(".{}")}),
        "ai": dict(sorted(ai.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("checkout", type=Path, help="a checkout of matomo-org/searchengine-and-social-list")
    parser.add_argument("--check", action="store_true", help="exit 1 if the data file differs")
    args = parser.parse_args(argv)
    text = json.dumps(build(args.checkout), indent=0, ensure_ascii=False) + "\n"
    if args.check:
        current = DATA_FILE.read_text(encoding="utf-8") if DATA_FILE.exists() else ""
        stale = json.loads(current or "{}") | {"source": ""} != json.loads(text) | {"source": ""}
        sys.stdout.write("stale\n" if stale else "up to date\n")
        return 1 if stale else 0
    DATA_FILE.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {DATA_FILE}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
