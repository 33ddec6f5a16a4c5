"""Figure 3 — cold start: import + client set-up of each function module in a fresh process.

Each sample is a new ``python -c`` process that times itself with ``perf_counter`` from before the
first import to after the clients the function uses exist (interpreter start-up excluded: Lambda
pays it for every runtime alike). Subjects run interleaved, 10 samples each after one discarded
warm-up (which also writes the .pyc files), median reported. The floor is what any Python Lambda
that talks to DynamoDB pays: ``import boto3`` and one client. When ingest misses its goal
(<= 1.2x the floor), ``python -X importtime`` shows which imports it adds over the floor.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness  # noqa: E402
from bench.harness import Result, emit, median, table  # noqa: E402

GOAL_RATIO = 1.2
ENV = {
    "TABLE_NAME": "bench-table",
    "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-queue",
    "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-dlq",
}

# (imports, client set-up) per subject: what the function's first invocation has done.
SUBJECTS: dict[str, tuple[str, str]] = {
    "floor: import boto3 + 1 client": ("import boto3", "boto3.client('dynamodb')"),
    "floor + 2nd client (sqs)": ("import boto3", "boto3.client('dynamodb'); boto3.client('sqs')"),
    "baseline handler": ("import bench.baseline_handler", ""),
    "ours: ingest": (
        "import functions.ingest.handler; from functions.core import aws",
        "aws.dynamodb(); aws.sqs()",
    ),
    "ours: writer": ("import functions.writer.handler; from functions.core import aws", "aws.dynamodb()"),
    "ours: status": (
        "import functions.status.handler; from functions.core import aws",
        "aws.dynamodb(); aws.sqs(); aws.cloudwatch()",  # CloudWatch: the oldest-message age metric
    ),
}
FLOOR = "floor: import boto3 + 1 client"

CHILD = """
import json, time
t0 = time.perf_counter()
{imports}
t1 = time.perf_counter()
{clients}
t2 = time.perf_counter()
print(json.dumps({{"import_ms": (t1 - t0) * 1000, "clients_ms": (t2 - t1) * 1000}}))
"""


def available(name: str) -> bool:
    """Whether the subject's function module exists yet (others write them concurrently)."""
    for part in SUBJECTS[name][0].split("; "):
        module = part.removeprefix("import ").strip()
        if part.startswith("import ") and module.startswith(("functions.", "bench.")):
            if not harness.ROOT.joinpath(*module.split(".")).with_suffix(".py").exists():
                return False
    return True


def sample(name: str) -> dict[str, float]:
    imports, clients = SUBJECTS[name]
    code = CHILD.format(imports=imports.replace("; ", "\n"), clients=clients.replace("; ", "\n"))
    out = subprocess.run(
        [sys.executable, "-c", code], env=harness.child_env(ENV), capture_output=True, text=True, check=False,
        cwd=harness.ROOT, timeout=120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{name}: child failed: {out.stderr.strip()[-500:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s+(.*)$")


def import_times(imports: str) -> dict[str, int]:
    """Self time (us) of every module ``imports`` loads, from ``python -X importtime``."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", imports.replace("; ", "\n")],
        env=harness.child_env(ENV), capture_output=True, text=True, check=False, cwd=harness.ROOT, timeout=120,
    )
    times: dict[str, int] = {}
    for line in out.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            times[match.group(3).strip()] = int(match.group(1))
    return times


def extra_imports(subject: str, runs: int = 3) -> list[tuple[str, float, int]]:
    """Top-level packages ``subject`` imports beyond the floor: (package, median self ms, modules)."""
    floor_modules = set(import_times(SUBJECTS[FLOOR][0]))
    per_run: list[dict[str, float]] = []
    counts: dict[str, int] = {}
    for _ in range(runs):
        groups: dict[str, float] = defaultdict(float)
        modules: dict[str, int] = defaultdict(int)
        for module, us in import_times(SUBJECTS[subject][0]).items():
            if module not in floor_modules:
                top = module.split(".")[0]
                key = ".".join(module.split(".")[:2]) if top in ("functions", "aws_lambda_powertools") else top
                groups[key] += us / 1000
                modules[key] += 1
        per_run.append(groups)
        counts = modules
    keys = {k for run in per_run for k in run}
    ranked = [(k, median([run.get(k, 0.0) for run in per_run]), counts.get(k, 0)) for k in keys]
    return sorted(ranked, key=lambda r: -r[1])


def run(quick: bool = False, measured: dict[str, float] | None = None) -> list[Result]:
    samples = 4 if quick else 10
    names = [n for n in SUBJECTS if available(n)]
    missing = [n for n in SUBJECTS if n not in names]
    results: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for name in names:
        sample(name)  # warm-up: .pyc files, page cache
    for _ in range(samples):
        for name in names:
            results[name].append(sample(name))
    floor = median([s["import_ms"] + s["clients_ms"] for s in results[FLOOR]])
    rows = []
    total: dict[str, float] = {}
    for name in names:
        imp = median([s["import_ms"] for s in results[name]])
        cli = median([s["clients_ms"] for s in results[name]])
        total[name] = median([s["import_ms"] + s["clients_ms"] for s in results[name]])
        rows.append([name, imp, cli, total[name], f"{total[name] / floor:.2f}x"])
    emit(
        table(
            f"Figure 3 — cold start in a fresh process: imports + client set-up, median of {samples} "
            "(interleaved, after a warm-up)",
            ["subject", "import ms", "clients ms", "total ms", "x floor"],
            rows,
        )
        + (f"\nNot measured yet (module missing): {', '.join(missing)}" if missing else "")
    )
    out: list[Result] = []
    if "ours: ingest" in total:
        ratio = total["ours: ingest"] / floor
        met = ratio <= GOAL_RATIO
        two = total["floor + 2nd client (sqs)"]
        emit(
            f"Goal: ingest <= {GOAL_RATIO}x the floor: {'met' if met else 'MISSED'} ({ratio:.2f}x); against boto3 + "
            f"the two clients ingest needs (dynamodb, sqs): {total['ours: ingest'] / two:.2f}x."
        )
        extra = extra_imports("ours: ingest", runs=2 if quick else 3)
        emit(
            "\n"
            + table(
                "What ingest imports beyond the floor (python -X importtime, self time, median of runs)",
                ["package", "self ms", "modules"],
                [[k, ms, n] for k, ms, n in extra[:10]],
            )
            + f"\nAll extra imports: {sum(ms for _, ms, _ in extra):.1f} ms over {sum(n for *_, n in extra)} modules.\n"
        )
        out.append(Result("3 cold start", "ingest import + clients, ms (x floor)", round(total["ours: ingest"], 1),
                          round(floor, 1), f"<= {GOAL_RATIO}x floor", met))
        out.append(Result("3 cold start", "ingest vs boto3 + the 2 clients it needs, ms",
                          round(total["ours: ingest"], 1), round(two, 1), "", None))
        out.append(Result("3 cold start", "ingest vs the baseline handler, ms", round(total["ours: ingest"], 1),
                          round(total["baseline handler"], 1), "", None))
    for name in ("ours: writer", "ours: status"):
        if name in total:
            out.append(Result("3 cold start", f"{name.split(': ')[1]} import + clients, ms", round(total[name], 1),
                              round(floor, 1), "", None))
    return out


if __name__ == "__main__":
    run("--quick" in sys.argv)
