"""Run every figure in order and print a summary: each figure of ours next to its baseline.

    .venv/bin/python bench/run_all.py            # what ``make bench`` runs (about 5 minutes here)
    .venv/bin/python bench/run_all.py --quick    # smaller samples, for a smoke run
    .venv/bin/python bench/run_all.py --only 2 5 8  # some figures (8 uses 2's and 5's measurements)
    .venv/bin/python bench/run_all.py --json out.json

Figures run in this process one after the other (figure 2 hands its measured CPU time and log
bytes, figure 5 the aggregate item sizes, to figure 8). A figure that fails is reported in the
summary and makes the exit code 1; the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness  # noqa: E402
from bench.harness import SUMMARY_HEADERS, Result, emit, table  # noqa: E402

FIGURES = (
    "1_request_path",
    "2_handler_overhead",
    "3_cold_start",
    "4_writer",
    "5_status",
    "6_end_to_end",
    "7_sharding_sim",
    "8_cost",
    "9_bots",
    "10_spike",
    "11_script_size",
    "12_lake",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller samples (a smoke run, noisier figures)")
    parser.add_argument("--only", nargs="+", type=int, metavar="N", help="run only these figure numbers")
    parser.add_argument("--json", type=Path, help="also write the summary rows to this JSON file")
    args = parser.parse_args(argv)
    harness.setup_env()
    selected = [f for f in FIGURES if not args.only or int(f.split("_", 1)[0]) in args.only]
    if args.only and len(selected) != len(set(args.only)):
        parser.error(f"figures are numbered {', '.join(f.split('_', 1)[0] for f in FIGURES)}")
    measured: dict[str, float] = {}
    results: list[Result] = []
    timings: list[list[object]] = []
    failed = False
    started = time.perf_counter()
    for name in selected:
        emit(f"\n{'=' * 100}\n# bench/{name}.py\n")
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            results.extend(module.run(quick=args.quick, measured=measured))
        except Exception as exc:  # noqa: BLE001 - report it, run the other figures
            failed = True
            traceback.print_exc()
            results.append(Result(name, f"FAILED: {type(exc).__name__}: {exc}"[:100], "-", "-", "", False))
        timings.append([name, time.perf_counter() - start])
    emit(f"\n{'=' * 100}\n")
    rows = [r.row() for r in results]
    emit(table("Summary: ours against the baseline measured in the same run", SUMMARY_HEADERS, rows, left=2))
    emit("\n" + table("Time per figure (s)", ["figure", "seconds"], timings))
    emit(f"Total: {time.perf_counter() - started:.0f} s{' (quick)' if args.quick else ''}.")
    if args.json:
        report = {"quick": args.quick, "results": [asdict(r) for r in results], "measured": measured}
        harness.dump_json(args.json, report)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
