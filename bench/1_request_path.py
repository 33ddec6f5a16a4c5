"""Figure 1 — AWS calls per visit in the request path: ours (functions.ingest) against the baseline.

Both handlers run in-process against moto with the same API Gateway REST events; every API call is
counted with a botocore ``before-call`` hook on the clients the handler uses. The first visit of a
fresh execution environment is shown apart (ours creates the day's salt once), then the steady
state is averaged over many visits. Ours reads the count (GetItem; BatchGetItem of every shard with
``COUNTER_SHARDS`` > 1) and sends the visit to SQS: it never writes the counter (the writer counts
each visit once, in its transaction); the baseline increments the counter and puts the log item.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness  # noqa: E402
from bench.harness import Result, emit, table  # noqa: E402
from functions.core.environment import ENVIRONMENT  # noqa: E402
from tests.support.calls import CallCounter  # noqa: E402
from visitor_tracker.events import LambdaContext  # noqa: E402

harness.setup_env()

HUMAN_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def visit_event(bot: bool = False, i: int = 0) -> dict[str, Any]:
    """The REST API event of one page view (GET /?page=...), as the default stack sends it."""
    from tests.support.events import rest_event

    return rest_event(
        "/",
        query={"page": f"/post/{i % 10}"},
        headers={"User-Agent": BOT_UA if bot else HUMAN_UA, "Referer": "https://example.com/post"},
        source_ip=f"198.51.100.{i % 200 + 1}",
    )


def _check(response: dict[str, Any]) -> None:
    if response.get("statusCode") != 200:
        raise RuntimeError(f"handler answered {response.get('statusCode')}: {response.get('body')}")


def measure_ours(
    bot: bool, visits: int, shards: int = 1, ip_mode: str | None = None
) -> tuple[CallCounter, CallCounter]:
    """(first visit's calls, steady-state calls over ``visits`` visits) for functions.ingest."""
    env = {"COUNTER_SHARDS": str(shards), **({"IP_MODE": ip_mode} if ip_mode else {})}
    with harness.moto_pipeline(extra_env=env):
        from functions.core import aws
        from functions.ingest import handler as ingest

        ENVIRONMENT.reset()
        first = CallCounter().attach(aws.dynamodb(), aws.sqs())
        with harness.captured_stdout():
            _check(ingest.handler(visit_event(bot), LambdaContext()))
            first.detach()
            steady = CallCounter().attach(aws.dynamodb(), aws.sqs())
            for i in range(visits):
                _check(ingest.handler(visit_event(bot, i), LambdaContext()))
        steady.detach()
        ENVIRONMENT.reset()
    return first, steady


def load_baseline() -> Any:
    """(Re)import the baseline so its module-level client and TABLE_NAME pick up the current mock/env."""
    import bench.baseline_handler as baseline

    return importlib.reload(baseline)


def measure_baseline(bot: bool, visits: int) -> tuple[CallCounter, CallCounter]:
    with harness.moto_pipeline():
        baseline = load_baseline()
        first = CallCounter().attach(baseline.dynamodb)
        _check(baseline.handler(visit_event(bot), LambdaContext()))
        first.detach()
        steady = CallCounter().attach(baseline.dynamodb)
        for i in range(visits):
            _check(baseline.handler(visit_event(bot, i), LambdaContext()))
        steady.detach()
    return first, steady


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    visits = 50 if quick else 200
    rows = []
    steady: dict[str, float] = {}
    for label, fn in (
        ("ours, human visit", lambda: measure_ours(False, visits)),
        ("ours, bot visit", lambda: measure_ours(True, visits)),
        ("ours, human, COUNTER_SHARDS=32", lambda: measure_ours(False, visits, shards=32)),
        ("ours, human, IP_MODE=none", lambda: measure_ours(False, visits, ip_mode="none")),
        ("baseline, human visit", lambda: measure_baseline(False, visits)),
        ("baseline, bot visit", lambda: measure_baseline(True, visits)),
    ):
        first, many = fn()
        per_visit = many.total() / visits
        steady[label] = per_visit
        rows.append([label, first.total(), first.breakdown(), f"{per_visit:.3f}", many.breakdown()])
    emit(
        table(
            f"Figure 1 — AWS calls per visit in the request path (moto, botocore before-call hooks; "
            f"steady state over {visits} visits)",
            ["handler / visit", "1st visit", "1st visit calls", "per visit", f"calls over {visits} visits"],
            rows,
        )
        + "\n"
    )
    human, bot = steady["ours, human visit"], steady["ours, bot visit"]
    base_human, base_bot = steady["baseline, human visit"], steady["baseline, bot visit"]
    return [
        Result("1 request path", "AWS calls per human visit", human, base_human, "<= baseline", human <= base_human),
        Result("1 request path", "AWS calls per bot visit", bot, base_bot, "<= baseline", bot <= base_bot),
        Result("1 request path", "AWS calls per human visit, 32 shards (one BatchGetItem)",
               steady["ours, human, COUNTER_SHARDS=32"], base_human, "<= baseline",
               steady["ours, human, COUNTER_SHARDS=32"] <= base_human),
    ]

if __name__ == "__main__":
    run("--quick" in sys.argv)
