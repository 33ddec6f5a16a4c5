"""Figure 11 — the site script's size on the wire: ours (gzip, as served) next to the peers' published sizes.

Measured here on the files the functions serve (``functions/core/js/``, assembled by
``functions/core/script.py``): the core alone and the core with each opt-in extension. The baseline
in the same run is today's inline snippet (docs/snippet.md's html block), the ~40 lines a site pasted
before issue 21; it counts one page load and has no events or client-side navigation.

Peers' sizes are their published figures, not measured here (their scripts are not installed):

- Plausible: "lightweight (< 1 KB)", the tagline of https://github.com/plausible (the legacy
  ``script.js``); its own article ``_articles/analytics-script-size.md`` (plausible/website, PR #1016)
  says 2.5 KB for the current script.
- Umami: "~2KB" (``script.js``), e.g. https://docs.kevinryan.io/umami/ and
  https://dev.to/guillermo_llopis_8e2a58a6/i-built-a-510-byte-analytics-script-heres-how-and-why-5c7g
  ("Plausible (~1 KB) and Umami (~2 KB)").
- GoatCounter: "~3.5kb" (``count.js``), https://www.ryanaque.com/wfd/analytics-provider.
- Simple Analytics (another peer that publishes gzip sizes): ``light.js`` 1.9 KB, ``latest.js``
  3.7 KB gzipped, https://docs.simpleanalytics.com/light.
- Fathom: no published size was found in the sources searched for this figure, so none is printed.
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Result, emit, table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORE_GOAL = 1024  # bytes gzipped
EXTENSION_GOAL = 512  # bytes gzipped each extension adds
# (peer, file, published size in bytes, where it is published: see the docstring)
PEERS: tuple[tuple[str, str, int, str], ...] = (
    ("Plausible (legacy)", "script.js", 1024, "github.com/plausible: '< 1 KB'"),
    ("Plausible (current)", "script.js", 2560, "plausible/website analytics-script-size.md: 2.5 KB"),
    ("Umami", "script.js", 2048, "docs.kevinryan.io/umami, dev.to: '~2KB'"),
    ("Simple Analytics", "light.js", 1946, "docs.simpleanalytics.com/light: 1.9 KB gzip"),
    ("GoatCounter", "count.js", 3584, "ryanaque.com/wfd/analytics-provider: '~3.5kb'"),
)


def gzipped(text: str, level: int = 9) -> int:
    return len(gzip.compress(text.encode(), compresslevel=level, mtime=0))


def snippet() -> str:
    """Today's inline snippet: the html block of docs/snippet.md."""
    found = re.search(r"```html\n(.*?)```", (ROOT / "docs" / "snippet.md").read_text(), re.DOTALL)
    if found is None:
        raise RuntimeError("docs/snippet.md lost its html block")
    return found.group(1)


def measure() -> dict[str, tuple[int, int, int]]:
    """name -> (raw bytes, gzip -6, gzip -9) of the core, each extension on the core, and everything."""
    from functions.core import script

    builds = {"core": ()} | {f"core + {e}": (e,) for e in script.EXTENSIONS} | {"core + all": script.EXTENSIONS}
    sizes = {}
    for name, extensions in builds.items():
        text = script.assemble(tuple(extensions)).text
        sizes[name] = (len(text.encode()), gzipped(text, 6), gzipped(text, 9))
    text = snippet()
    sizes["baseline: inline snippet"] = (len(text.encode()), gzipped(text, 6), gzipped(text, 9))
    return sizes


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    sizes = measure()
    core = sizes["core"][2]
    rows = [[name, raw, gz6, gz9, f"{gz9 - core:+d}" if name.startswith("core +") else "-"]
            for name, (raw, gz6, gz9) in sizes.items()]
    emit(table("Figure 11 — the site script on the wire (bytes; gzip -9 is the budget's measure)",
               ["build", "raw", "gzip -6", "gzip -9", "over core"], rows))
    emit(table("Peers' published sizes (not measured here; sources in bench/11_script_size.py)",
               ["peer", "file", "published bytes", "ours (core) / theirs", "source"],
               [[p, f, b, f"{core / b:.2f}x", s] for p, f, b, s in PEERS]))
    baseline = sizes["baseline: inline snippet"][2]
    results = [Result("11 script", "core script, gzip bytes", core, baseline, f"<= {CORE_GOAL}", core <= CORE_GOAL)]
    for name, (_, _, gz9) in sizes.items():
        if name.startswith("core +") and name != "core + all":
            added = gz9 - core
            results.append(Result("11 script", f"{name[7:]} extension adds, gzip bytes", added, "-",
                                  f"<= {EXTENSION_GOAL}", added <= EXTENSION_GOAL))
    if measured is not None:
        measured["script_core_gzip_bytes"] = core
    return results


if __name__ == "__main__":
    run()
