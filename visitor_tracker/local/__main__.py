"""``python -m visitor_tracker.local``: the same as ``visitor-tracker local``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from visitor_tracker.local.console import error, say
from visitor_tracker.local.datadir import DataDirBusy, default_data_dir, reset_data
from visitor_tracker.local.server import serve


def main(argv: list[str] | None = None) -> int:
    """``python -m visitor_tracker.local``: the same as ``visitor-tracker local``."""
    parser = argparse.ArgumentParser(
        prog="python -m visitor_tracker.local", description="Local mode: the pipeline on one machine, no AWS account."
    )
    parser.add_argument("--port", type=int, default=8080, help="HTTP port of the local API (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--aws-endpoint", default=None, help="use this AWS-compatible endpoint, no embedded emulator")
    parser.add_argument("--emulator-port", type=int, default=0, help="port of the embedded moto server (0: free)")
    parser.add_argument("--prefix", default="visitor-tracker", help="name prefix of the table and queues")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the data is kept (~/.visitor-tracker/data)")
    parser.add_argument("--in-memory", action="store_true", help="keep nothing: no DynamoDB Local, no data dir")
    parser.add_argument("--reset", action="store_true", help="delete the kept data first (asks; --yes skips)")
    parser.add_argument("--yes", action="store_true", help="do not ask before --reset")
    parser.add_argument("--quiet", action="store_true", help="no status line: only warnings and errors")
    parser.add_argument("--verbose", action="store_true", help="a line per request and the functions' JSON logs")
    args = parser.parse_args(argv)
    for name in ("port", "emulator_port"):
        if not 0 <= getattr(args, name) <= 65535:
            parser.error(f"--{name.replace('_', '-')} must be between 0 and 65535")
    if args.reset:
        path = args.data_dir or default_data_dir()
        if not args.yes and input(f"Delete all local data in {path}? [y/N] ").strip().lower() not in ("y", "yes"):
            say("Not reset.")
            return 1
        try:
            reset_data(path)
        except DataDirBusy as exc:
            error(str(exc))
            return 1
    options = {name: value for name, value in vars(args).items() if name not in ("reset", "yes")}
    return serve(**options)


if __name__ == "__main__":
    sys.exit(main())
