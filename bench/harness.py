"""Shared bench plumbing: environment, AWS call counting, moto set-up, statistics and table printing.

Every figure compares ours against a baseline measured in the same run, so the helpers here only
measure and format; they never decide what "fast" means in absolute terms.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from functions.core.environment import ENVIRONMENT
from tests.support.calls import WRITE_OPERATIONS

ROOT = Path(__file__).resolve().parent.parent

# Dummy credentials and a region before any client exists: no bench may reach real AWS.
BENCH_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "VisitorTrackerBench",
    "POWERTOOLS_DEV": "false",
}


def setup_env(environ: dict[str, str] | None = None) -> None:
    """Put the bench's dummy AWS settings into ``environ`` (default: this process)."""
    env: Any = os.environ if environ is None else environ
    env.update(BENCH_ENV)
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_ENDPOINT_URL", None)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process: ours plus the bench settings, the repo on PYTHONPATH."""
    env = dict(os.environ)
    setup_env(env)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra or {})
    return env


# --- statistics -------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100): a value that was actually observed."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats drifting
    return ordered[int(min(rank, len(ordered))) - 1]


def ratio(ours: float, baseline: float) -> float:
    return ours / baseline if baseline else float("inf")


def fmt(value: object, digits: int = 2) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "NO", None: "-"}[value]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]], left: int = 1) -> str:
    """A plain fixed-width table (readable in a terminal, pasteable into Markdown as code).

    The first ``left`` columns are labels (left-aligned); the others are right-aligned numbers.
    """
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        pairs = enumerate(zip(row, widths, strict=True))
        lines.append("  ".join(c.rjust(w) if i >= left else c.ljust(w) for i, (c, w) in pairs))
    return "\n".join(lines)


@dataclass(frozen=True)
class Result:
    """One line of the run_all summary: a figure of ours next to its baseline and its goal."""

    figure: str
    metric: str
    ours: float | str
    baseline: float | str
    goal: str = ""
    met: bool | None = None

    def row(self) -> list[object]:
        r: object = "-"
        if isinstance(self.ours, int | float) and isinstance(self.baseline, int | float) and self.baseline:
            r = f"{self.ours / self.baseline:.2f}x"
        return [self.figure, self.metric, self.ours, self.baseline, r, self.goal or "-", self.met]


SUMMARY_HEADERS = ("figure", "metric", "ours", "baseline", "ours/base", "goal", "met")


# --- AWS call counting ------------------------------------------------------------------------


def attribute_value_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB charges for one attribute value (its documented sizing rules, approximated)."""
    kind, data = next(iter(value.items()))
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return len(str(data).lstrip("-").replace(".", "")) // 2 + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode()) for v in data)
    if kind == "NS":
        return sum(len(str(v)) // 2 + 1 for v in data)
    if kind == "BS":
        return sum(len(v) for v in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_value_size(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(attribute_value_size(v) + 1 for v in data)
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """Bytes of an item as DynamoDB sizes it: attribute names plus values (what write units are paid on)."""
    return sum(len(name.encode()) + attribute_value_size(value) for name, value in item.items())


def bench_visit(i: int, *, when: datetime | None = None, bot: bool = False, visitors: int = 500) -> Any:
    """A valid visit record (the writer's input); ``visitors`` distinct visitor hashes cycle."""
    from functions.model.visit import Visit, format_timestamp

    ts = (when or datetime.now(UTC)) + timedelta(milliseconds=i)
    return Visit(
        visit_id=f"bench-{uuid.uuid4()}",
        timestamp=format_timestamp(ts),
        ip=f"203.0.113.{i % 250}",
        user_agent="Googlebot/2.1 (+http://www.google.com/bot.html)"
        if bot
        else "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
        path=f"/page/{i % 20}",
        referrer="https://www.example.org/" if i % 3 == 0 else None,
        is_bot=bot,
        counted=not bot,
        visitor=f"{(i % visitors):016x}",
    )


def sqs_event(bodies: Sequence[str], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:bench-queue") -> dict:
    """An SQS event as Lambda's event source mapping delivers it (local mode's builder, the project's one)."""
    from visitor_tracker.local.esm import to_sqs_event

    received = [
        {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": f"handle-{n}",
            "Body": body,
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1764162309000",
                "SenderId": "AIDAEXAMPLE",
                "ApproximateFirstReceiveTimestamp": "1764162309001",
            },
            "MD5OfBody": "0" * 32,
        }
        for n, body in enumerate(bodies)
    ]
    return to_sqs_event(received, queue_arn=queue_arn, region="us-east-1")


def reset_function_caches() -> None:
    """Forget the functions' cached clients and settings (a new mock, endpoint or environment)."""

    ENVIRONMENT.reset()


@contextmanager
def moto_pipeline(
    prefix: str = "bench", extra_env: dict[str, str] | None = None, before_resources: dict[str, str] | None = None
) -> Iterator[Any]:
    """The tracker's table (an in-process moto mock) and queues (the project's SQS engine, the one SQS
    stand-in of local mode, tests and bench); the functions' env points at them.

    ``before_resources`` is set before the table is created (an endpoint for DynamoDB Local)."""
    import boto3
    from moto import mock_aws

    from visitor_tracker.emulator import EmbeddedEmulator
    from visitor_tracker.resources import create_resources

    saved = dict(os.environ)
    setup_env()
    reset_function_caches()
    os.environ.update(before_resources or {})
    sqs = EmbeddedEmulator(port=0)
    sqs.start()
    os.environ["AWS_ENDPOINT_URL_SQS"] = sqs.url
    with mock_aws():
        resources = create_resources(
            boto3.client("dynamodb"), boto3.client("sqs"), prefix=prefix, visibility_timeout=0
        )
        os.environ.update(resources.environment())
        os.environ.update(extra_env or {})
        reset_function_caches()
        try:
            yield resources
        finally:
            reset_function_caches()
            sqs.stop()
            os.environ.clear()
            os.environ.update(saved)


@contextmanager
def captured_stdout() -> Iterator[list[int]]:
    """Send fd 1 to a temp file (Lambda ships stdout to CloudWatch Logs); yields [bytes written]."""
    sys.stdout.flush()
    saved = os.dup(1)
    result = [0]
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield result
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            result[0] = sink.seek(0, os.SEEK_END)


def emit(text: str) -> None:
    """Print a figure's table (benches print; runtime code logs)."""
    print(text, flush=True)


def dump_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, default=str))


@contextmanager
def dynamodb_local() -> Iterator[str]:
    """AWS's DynamoDB Local in memory for the duration (its URL): real transaction semantics,
    concurrency and ConsumedCapacity, which moto does not give. Raises DynamoDBLocalError (with the
    fix) when Java or the package is missing."""
    from visitor_tracker.dynamodb_local import DynamoDBLocal

    with tempfile.TemporaryDirectory() as logs, DynamoDBLocal(log_file=Path(logs) / "dynamodb-local.log") as server:
        yield server.url


@contextmanager
def local_pipeline(dynamodb_url: str, prefix: str = "bench", extra_env: dict[str, str] | None = None) -> Iterator[Any]:
    """Like ``moto_pipeline`` but the table lives in DynamoDB Local at ``dynamodb_url`` (a fresh
    table per call; SQS stays on moto, which lets requests to 127.0.0.1 through)."""
    with moto_pipeline(
        prefix=f"{prefix}-{uuid.uuid4().hex[:8]}",
        extra_env={"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url, **(extra_env or {})},
        before_resources={"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url},
    ) as resources:
        yield resources




def ask_consumed_capacity(client: Any) -> None:
    """Make every write of ``client`` return ConsumedCapacity (TOTAL): what DynamoDB charges,
    measured rather than computed (the functions themselves do not ask for it)."""

    def add(params: dict[str, Any], **_: Any) -> None:
        params.setdefault("ReturnConsumedCapacity", "INDEXES")

    for operation in WRITE_OPERATIONS:
        client.meta.events.register(
            f"provide-client-params.dynamodb.{operation}", add, unique_id=f"bench-capacity-{operation}"
        )
