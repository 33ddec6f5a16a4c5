"""Regenerate ``os_data.json`` (operating-system patterns) from uap-core, as packaged on PyPI.

uap-core (github.com/ua-parser/uap-core, Apache-2.0) is the maintained pattern list behind the
ua-parser libraries; the PyPI package ``ua-parser-builtins`` ships it as Python source. This reads
that source with ``ast`` (nothing of it is imported or run) and keeps each OS pattern with its name
replacement, in order: the first pattern that matches wins, as in uap-core.

    .venv/bin/python -m visitor_tracker.refresh_devices          # rewrite the data file
    .venv/bin/python -m visitor_tracker.refresh_devices --check  # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import sys
from pathlib import Path

DATA_FILE = Path(__file__).parent.parent / "functions" / "model" / "os_data.json"


def _source() -> str:
    spec = importlib.util.find_spec("ua_parser_builtins")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("error: ua-parser-builtins is not installed (make install installs it)")
    return (Path(next(iter(spec.submodule_search_locations))) / "regexes.py").read_text(encoding="utf-8")


def os_patterns(source: str) -> list[list[str | None]]:
    """``[pattern, name replacement or None]`` for each ``OSParser(...)`` of ``OS_PARSERS``."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "OS_PARSERS" for t in node.targets):
            patterns: list[list[str | None]] = []
            for call in getattr(node.value, "elts", []):
                args = [ast.literal_eval(a) for a in call.args[:2]]
                patterns.append([args[0], args[1] if len(args) > 1 else None])
            return patterns
    raise ValueError("no OS_PARSERS list in the uap-core source")


def render(patterns: list[list[str | None]]) -> str:
    return json.dumps({"source": "uap-core via PyPI ua-parser-builtins (Apache-2.0)", "os": patterns}, indent=0) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed data is stale")
    args = parser.parse_args(argv)
    text = render(os_patterns(_source()))
    if args.check:
        if DATA_FILE.read_text(encoding="utf-8") != text:
            sys.stderr.write(f"{DATA_FILE} is stale: run python -m visitor_tracker.refresh_devices\n")
            return 1
        return 0
    DATA_FILE.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {DATA_FILE}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
