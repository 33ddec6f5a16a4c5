"""The ``visitor-tracker`` command: pipeline status, recent visits, the DLQ, and local mode.

The pipeline is found by ``visitor_tracker.discovery`` (``--stack NAME`` or the running local mode);
DLQ logic lives in ``visitor_tracker.dlq``. This module only parses options and renders. Every
expected failure (pipeline not found, AWS or HTTP errors, refused confirmation) ends as one line on
stderr and exit code 2, never a traceback: the root command group catches them (``_Group.invoke``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import botocore.exceptions
import typer
from rich.console import Console, Group, RenderableType
from rich.json import JSON
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from visitor_tracker import dlq
from visitor_tracker.discovery import API_KEY_ENV, DiscoveryError, Pipeline, find_pipeline

EXIT_ERROR = 2
EXIT_CANCELLED = 1
EXIT_INTERRUPTED = 130
MAX_LIMIT = 1000
MAX_ERROR_CHARS = 400
WIDE_LAYOUT_COLUMNS = 120  # the three top-N tables side by side from this terminal width
DLQ_TABLE_COLUMNS = 140  # `dlq list` as a table from this width (ids whole), else three lines a message


class CliError(Exception):
    """An expected failure: printed as one line on stderr, exit code 2."""


def _fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    one_line = " ".join(message.split())  # an AWS message can hold a whole HTML error page
    if len(one_line) > MAX_ERROR_CHARS:
        one_line = one_line[: MAX_ERROR_CHARS - 1] + "…"
    typer.secho(f"error: {one_line}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _aws_error(exc: Exception) -> str:
    """One line for a botocore error, with the fix where there is an obvious one."""
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found: run `aws configure` / `aws sso login`, set AWS_PROFILE, or pass --profile"
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return "no AWS region configured: pass --region or set AWS_REGION / AWS_DEFAULT_REGION"
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        if code == "AWS.SimpleQueueService.PurgeQueueInProgress" or "PurgeQueueInProgress" in code:
            return "a purge of this queue already ran in the last 60 seconds: try again in a minute"
        return f"AWS {exc.operation_name} failed ({code}): {message}"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError):
        return f"cannot reach AWS: {exc} (is local mode still running? check your network)"
    return f"AWS error: {exc}"


class _Group(typer.core.TyperGroup):
    """Root group: turns expected exceptions from any subcommand into one stderr line and exit 2."""

    def invoke(self, ctx: Any) -> Any:  # Any: typer's vendored click Context is private
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except (CliError, DiscoveryError) as exc:
            _fail(str(exc))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            _fail(_aws_error(exc))
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED)


app = typer.Typer(
    name="visitor-tracker",
    help="Inspect and operate the visitor tracker: status, recent visits, the dead-letter queue, local mode.",
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
visits_app = typer.Typer(help="Logged visits.", no_args_is_help=True)
dlq_app = typer.Typer(help="The dead-letter queue: messages the writer gave up on.", no_args_is_help=True)
app.add_typer(visits_app, name="visits")
app.add_typer(dlq_app, name="dlq")


@dataclass
class _Options:
    stack: str | None
    region: str | None
    profile: str | None
    _pipeline: Pipeline | None = None

    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = find_pipeline(self.stack, region=self.region, profile=self.profile)
        return self._pipeline


def _pipeline(ctx: typer.Context) -> Pipeline:
    options = ctx.find_object(_Options)
    assert options is not None, "the root callback sets the options"
    return options.pipeline()


@app.callback()
def _root(
    ctx: typer.Context,
    stack: Annotated[
        str | None, typer.Option("--stack", help="Deployed CloudFormation stack to use (default: the local mode).")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region of --stack.")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile for --stack.")] = None,
) -> None:
    """Without --stack, commands talk to the running local mode (`make run`)."""
    ctx.obj = _Options(stack=stack, region=region, profile=profile)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _out() -> Console:
    # Created per command: CliRunner (and pipes) swap sys.stdout between invocations.
    return Console(highlight=False, soft_wrap=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


# --- local ------------------------------------------------------------------------------------


@app.command()
def local(
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP port of the local API (0: any free port).")] = 8080,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    aws_endpoint: Annotated[
        str | None, typer.Option(help="Use this AWS emulator (e.g. LocalStack) instead of the embedded ones.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the table and queues are kept (default: ~/.visitor-tracker/data).")
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Delete the kept data first (asks; --yes skips).")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before --reset.")] = False,
    in_memory: Annotated[bool, typer.Option("--in-memory", help="Keep nothing (no DynamoDB Local).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No status line: only warnings and errors.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="A line per request and the functions' JSON logs.")
    ] = False,
) -> None:
    """Run the whole pipeline locally: API, writer, dashboard; the data is kept between runs."""
    from visitor_tracker.local.datadir import DataDirBusy, default_data_dir, reset_data  # heavy: only this command
    from visitor_tracker.local.server import serve

    if reset:
        path = data_dir or default_data_dir()
        if not yes and not typer.confirm(f"Delete all local data in {path}?"):
            raise typer.Exit(EXIT_CANCELLED)
        try:
            reset_data(path)
        except DataDirBusy as exc:
            raise CliError(str(exc)) from exc
    code = serve(
        port=port, host=host, aws_endpoint=aws_endpoint, data_dir=data_dir, in_memory=in_memory,
        quiet=quiet, verbose=verbose,
    )
    raise typer.Exit(code)


# --- status -----------------------------------------------------------------------------------


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the /status JSON as it is.")] = False,
    watch: Annotated[
        float | None, typer.Option(min=0.5, help="Refresh every SECONDS until Ctrl-C.", metavar="SECONDS")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar=API_KEY_ENV, help="API key sent as x-api-key.", show_envvar=True)
    ] = None,
) -> None:
    """Visitor count, recent traffic, top pages/referrers/browsers, bots, queue and DLQ depth."""
    pipeline = _pipeline(ctx)
    if watch is None:
        data = pipeline.fetch_status(api_key)
        if as_json:
            _print_json(data)
        else:
            console = _out()
            console.print(render_status(data, pipeline.source, console.width))
        return
    try:
        if as_json:
            while True:
                typer.echo(json.dumps(pipeline.fetch_status(api_key), default=str))
                _pause(watch)
        console = _out()
        first = _watched(pipeline, api_key, watch, console.width)
        # "visible": a summary taller than the terminal scrolls instead of losing its last lines.
        with Live(first, console=console, auto_refresh=False, vertical_overflow="visible") as live:
            while True:
                _pause(watch)
                live.update(_watched(pipeline, api_key, watch, console.width), refresh=True)
    except KeyboardInterrupt:
        return


def _pause(seconds: float) -> None:
    """The wait between two refreshes of ``status --watch`` (a seam for tests)."""
    time.sleep(seconds)


def _watched(pipeline: Pipeline, api_key: str | None, every: float, width: int) -> RenderableType:
    """One refresh of ``status --watch``: a failed fetch is shown, and the watch goes on."""
    stamp = datetime.now(UTC).strftime("%H:%M:%S UTC")
    footer = Text(f"refreshed {stamp}, every {every:g}s; Ctrl-C to stop", style="dim")
    try:
        return Group(render_status(pipeline.fetch_status(api_key), pipeline.source, width), footer)
    except DiscoveryError as exc:
        return Group(Text(f"refresh failed: {exc}", style="bold red"), footer)


def _num(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int | float):
        return f"{value:,}"
    return str(value)


def _age(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def _top_table(title: str, rows: Any, label: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, expand=False)
    table.add_column(label, overflow="fold", max_width=40)
    table.add_column("visits", justify="right")
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, Mapping):
            name = next((str(v) for k, v in row.items() if k != "visits"), "?")
            table.add_row(Text(name), _num(row.get("visits")))  # a recorded name: never rich markup
    if not table.row_count:
        table.add_row("(none yet)", "")
    return table


def _automated_tables(data: Mapping[str, Any]) -> list[Table]:
    """Today's automated visits by class and the top automated agents (a false positive shows here)."""
    classes = data.get("bots_by_class")
    by_class = [{"class": c, "visits": v} for c, v in classes.items()] if isinstance(classes, Mapping) else []
    return [
        _top_table("by class", by_class, "class"),
        _top_table("top agents", data.get("top_bots"), "agent"),
    ]


def render_status(data: Any, source: str, width: int = 80) -> RenderableType:
    """The /status JSON as rich tables; fields it does not have are shown as '-'."""
    if not isinstance(data, Mapping):
        return JSON(json.dumps(data, default=str))
    summary = Table(title=f"visitor tracker ({source})", title_justify="left", show_header=False, show_edge=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    summary.add_row("visitor count", _num(data.get("visitor_count")))
    summary.add_row("visits, last hour", _num(data.get("visits_last_hour")))
    summary.add_row("visits, last 24 h", _num(data.get("visits_last_24h")))
    summary.add_row("visits, last 7 days", _num(data.get("visits_last_7d")))
    summary.add_row("unique visitors today", _num(data.get("unique_visitors_today")))
    share = data.get("bot_share")
    share_text = f"{share:.1%}" if isinstance(share, int | float) and not isinstance(share, bool) else "-"
    summary.add_row("bot visits today (share)", f"{_num(data.get('bots_today'))} ({share_text})")
    summary.add_row(
        "visit queue: waiting / in flight", f"{_num(data.get('queue_depth'))} / {_num(data.get('queue_in_flight'))}"
    )
    summary.add_row("oldest queued message", _age(data.get("oldest_message_age_seconds")))
    dlq_depth = data.get("dlq_depth")
    dlq_alarm = isinstance(dlq_depth, int) and dlq_depth > 0
    summary.add_row("dead-letter queue", Text(_num(dlq_depth), style="bold red" if dlq_alarm else ""))

    parts: list[RenderableType] = [summary]
    if dlq_alarm:
        parts.append(
            Text(
                f"⚠ {dlq_depth} message(s) in the DLQ: inspect with `visitor-tracker dlq list`, "
                "then `visitor-tracker dlq redrive`",
                style="bold red",
            )
        )
    tops = [
        _top_table("top pages today", data.get("top_pages"), "path"),
        _top_table("top referrers today", data.get("top_referrers"), "referrer"),
        _top_table("browsers today", data.get("browsers"), "browser"),
    ]
    if width >= WIDE_LAYOUT_COLUMNS:
        grid = Table.grid(padding=(0, 3))
        grid.add_row(*tops)
        parts.append(grid)
    else:
        parts.extend(tops)
    parts.append(Text("\nautomated traffic today", style="bold"))
    parts.append(
        Text(
            "Not a browser (crawlers, monitors, link previews, HTTP clients, headless browsers, scanners): "
            "logged, not in the visitor count unless COUNT_BOTS=true. A browser listed here is a false positive.",
            style="dim",
        )
    )
    automated = _automated_tables(data)
    if width >= WIDE_LAYOUT_COLUMNS:
        grid = Table.grid(padding=(0, 3))
        grid.add_row(*automated)
        parts.append(grid)
    else:
        parts.extend(automated)
    return Group(*parts)


# --- visits -----------------------------------------------------------------------------------


@visits_app.command("recent")
def visits_recent(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="How many visits.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON: a list of visit records.")] = False,
) -> None:
    """The newest logged visits, newest first."""
    from functions.model.browsers import browser_of
    from functions.tables.visitlog import recent_visits

    pipeline = _pipeline(ctx)
    visits = recent_visits(limit, table_name=pipeline.table_name, client=pipeline.client("dynamodb"))
    if as_json:
        _print_json([asdict(v) for v in visits])
        return
    if not visits:
        _out().print("No visits logged in the last 7 days.")
        return
    table = Table(title=f"{len(visits)} most recent visit(s), newest first", title_justify="left")
    for name, options in (
        ("time (UTC)", {"no_wrap": True}),
        ("path", {"overflow": "fold", "max_width": 30}),
        ("referrer", {"overflow": "ellipsis", "max_width": 30}),
        ("browser", {"no_wrap": True}),
        ("ip", {"no_wrap": True}),
        ("bot", {"justify": "center"}),
    ):
        table.add_column(name, **options)  # type: ignore[arg-type]
    for visit in visits:
        table.add_row(
            visit.timestamp.replace("T", " ")[:19],
            Text(visit.path),  # recorded strings are shown as they are, never as rich markup
            Text(visit.referrer or "-"),
            browser_of(visit.user_agent),
            Text(visit.ip or "-"),
            "yes" if visit.is_bot else "",
        )
    _out().print(table)


# --- dlq --------------------------------------------------------------------------------------


def _with_reasons(pipeline: Pipeline, messages: list[dlq.DlqMessage]) -> list[dlq.DlqMessage]:
    """Attach the writer's recorded reasons; listing still works when the table cannot be read."""
    if not messages:
        return messages
    try:
        return dlq.attach_reasons(pipeline.client("dynamodb"), pipeline.table_name, messages)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, RuntimeError) as exc:
        reason = _aws_error(exc) if not isinstance(exc, RuntimeError) else str(exc)
        _err().print(f"[yellow]warning:[/yellow] failure reasons unavailable: {reason}", soft_wrap=True)
        return messages


def _when(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


@dlq_app.command("list")
def dlq_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="List at most this many messages.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON: a list of messages with full bodies.")] = False,
) -> None:
    """Messages in the DLQ, oldest first. Listing does not consume them: they stay in the queue."""
    pipeline = _pipeline(ctx)
    sqs = pipeline.client("sqs")
    messages = _with_reasons(pipeline, dlq.peek(sqs, pipeline.dlq_url, limit))
    if as_json:
        _print_json([m.to_dict() for m in messages])
        return
    console = _out()
    if not messages:
        console.print("The DLQ is empty.")
        return
    title = f"{len(messages)} message(s) in the DLQ, oldest first"
    console.print(_dlq_table(title, messages) if console.width >= DLQ_TABLE_COLUMNS else _dlq_cards(title, messages))
    console.print(
        "Show one with `visitor-tracker dlq show MESSAGE_ID`; move them back with `visitor-tracker dlq redrive`.",
        style="dim",
    )


def _dlq_table(title: str, messages: list[dlq.DlqMessage]) -> Table:
    """One row per message, for terminals wide enough to show the ids whole."""
    table = Table(title=title, title_justify="left")
    table.add_column("message id", no_wrap=True, min_width=36)
    table.add_column("sent (UTC)", no_wrap=True)
    table.add_column("recv", justify="right", min_width=4)
    table.add_column("reason", overflow="fold", min_width=12, max_width=40)
    table.add_column("body", no_wrap=True)
    for m in messages:
        table.add_row(m.message_id, _when(m.sent_at), str(m.receive_count), Text(m.reason or "-"), Text(m.preview(40)))
    return table


def _dlq_cards(title: str, messages: list[dlq.DlqMessage]) -> Group:
    """Three lines per message, for narrow terminals (and pipes): ids stay whole and copyable."""
    lines: list[RenderableType] = [Text(title, style="italic")]
    for m in messages:
        lines.append(Text.assemble((m.message_id, "bold"), f"  sent {_when(m.sent_at)}  receives {m.receive_count}"))
        lines.append(Text(f"  reason: {m.reason or '-'}", overflow="ellipsis", no_wrap=True))
        lines.append(Text(f"  body:   {m.preview()}", overflow="ellipsis", no_wrap=True))
    return Group(*lines)


@dlq_app.command("show")
def dlq_show(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(help="The message id, as `dlq list` shows it.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """One DLQ message in full: body (pretty JSON), attributes, failure reason."""
    pipeline = _pipeline(ctx)
    found = dlq.find(pipeline.client("sqs"), pipeline.dlq_url, message_id)
    if found is None:
        raise CliError(f"message {message_id} is not in the DLQ (redriven, purged, or in flight): see `dlq list`")
    message = _with_reasons(pipeline, [found])[0]
    if as_json:
        _print_json(message.to_dict())
        return
    console = _out()
    table = Table(show_header=False, show_edge=False, title=f"message {message.message_id}", title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("sent (UTC)", _when(message.sent_at))
    table.add_row("receive count", str(message.receive_count))
    table.add_row("failure reason", Text(message.reason or "-"))
    for name, value in sorted(message.attributes.items()):
        table.add_row(name, _attribute(name, value))
    for name, value in sorted(message.message_attributes.items()):
        shown = str(value.get("StringValue", value)) if isinstance(value, dict) else str(value)
        table.add_row(Text(f"attribute {name}"), Text(shown))
    console.print(table)
    console.print(Text("body:", style="bold"))
    parsed = message.body_json()
    if parsed is None:
        console.print(Text(message.body))
    else:
        console.print(JSON.from_data(parsed))


def _attribute(name: str, value: str) -> str:
    """SQS system attributes as read by a person: epoch-millisecond timestamps get a date."""
    if name.endswith("Timestamp") and value.isdigit():
        return f"{_when(datetime.fromtimestamp(int(value) / 1000, UTC))} ({value})"
    return value


def _confirm(question: str, refusal: str) -> None:
    """Ask on the terminal; with no stdin to answer (CI) refuse with exit 2, a 'no' cancels (exit 1)."""
    try:
        answer = typer.confirm(question, default=False)
    except typer.Abort:
        typer.echo("", err=True)
        raise CliError(refusal) from None
    if not answer:
        typer.echo("Cancelled: nothing changed.", err=True)
        raise typer.Exit(EXIT_CANCELLED)


@dlq_app.command("redrive")
def dlq_redrive(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(min=1, help="Move at most this many messages.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Move DLQ messages back to the visit queue, so the writer tries them again."""
    pipeline = _pipeline(ctx)
    sqs = pipeline.client("sqs")
    waiting = dlq.depth(sqs, pipeline.dlq_url)["visible"]
    if waiting == 0:
        typer.echo("The DLQ is empty: nothing to redrive.")
        return
    planned = min(waiting, limit) if limit else waiting
    if not yes:
        _confirm(
            f"Move {planned} message(s) from the DLQ back to the visit queue?",
            "refusing to redrive without confirmation and no terminal to ask on: pass --yes",
        )
    moved = 0

    def advance(count: int) -> None:
        nonlocal moved
        moved += count
        progress.advance(task, count)

    with _progress() as progress:
        task = progress.add_task("redriving", total=planned)
        try:
            total, method = dlq.redrive(
                sqs,
                pipeline.dlq_url,
                pipeline.queue_url,
                limit=limit,
                progress=advance,
                move_task_sqs=pipeline.client("sqs", max_attempts=1),
            )
        except (dlq.RedriveError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            reason = str(exc) if isinstance(exc, dlq.RedriveError) else _aws_error(exc)
            raise CliError(
                f"redrive stopped after {moved} of {planned} message(s): {reason}. Nothing is lost: run it again"
                " (a message moved twice is written once)"
            ) from None
    typer.echo(f"Moved {total} message(s) back to the visit queue ({method}).")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err(),
    )


@dlq_app.command("purge")
def dlq_purge(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Required: purging deletes every message for good.")] = False,
) -> None:
    """Delete every message in the DLQ, for good. Requires --yes."""
    if not yes:
        raise CliError("refusing to purge the DLQ without --yes: it deletes every message for good")
    pipeline = _pipeline(ctx)
    count = dlq.purge(pipeline.client("sqs"), pipeline.dlq_url)
    typer.echo(f"Purged the DLQ ({count} message(s)).")


# --- export -----------------------------------------------------------------------------------


@app.command("export")
def export_command(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (UTC). Default: 29 days before --until.", metavar="DAY")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Last day, included (default: today, UTC).", metavar="DAY")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.", metavar="FORMAT")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE instead of stdout.", metavar="FILE")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --out file.")] = False,
    daily: Annotated[
        bool, typer.Option("--daily", help="One row per day: visits, bots, unique visitors, top page.")
    ] = False,
) -> None:
    """Stream the visit log of a range of days (or one row per day) as CSV or JSON lines."""
    import os

    from visitor_tracker import export as ex

    try:
        days = ex.day_range(since, until, datetime.now(UTC).date())
        ex.check_format(fmt)
    except ex.ExportError as exc:
        raise CliError(str(exc)) from None
    if out is not None:
        if out.is_dir():
            raise CliError(f"--out {out} is a directory: name a file")
        if out.exists() and not force:
            raise CliError(f"{out} already exists: pass --force to overwrite it, or choose another --out")
        if not out.parent.is_dir():
            raise CliError(f"--out {out}: directory {out.parent} does not exist")
    pipeline = _pipeline(ctx)
    client = pipeline.client("dynamodb")
    err = _err()
    what = "day(s)" if daily else "visit(s)"
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days, {task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    task = progress.add_task(f"exporting {days[0]}", total=len(days), rows=0)
    rows = 0

    def on_row() -> None:
        nonlocal rows
        rows += 1
        if rows % 500 == 0:
            progress.update(task, rows=rows)

    def on_day(day: str, _count: int) -> None:
        progress.update(task, advance=1, rows=rows, description=f"exported {day}")

    def run(stream: Any) -> int:
        writer = ex.make_writer(fmt, stream, daily=daily)
        with progress:
            return ex.export(client, pipeline.table_name, days, writer, daily=daily, on_day=on_day, on_row=on_row)

    span = f"{days[0]}..{days[-1]}"

    def say(line: str) -> None:
        err.print(line, soft_wrap=True, markup=False, highlight=False)

    if out is None:
        try:
            total = run(sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # `export | head`: the reader has what it wanted
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            raise typer.Exit(0) from None
        if err.is_terminal:
            say(f"Exported {total:,} {what} of {span} ({pipeline.source}).")
        return
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            total = run(stream)
        if out.exists() and not force:  # appeared while we were exporting
            raise CliError(f"{out} appeared during the export: pass --force to overwrite it")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    say(f"Exported {total:,} {what} of {span} to {out} ({pipeline.source}).")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv, prog_name="visitor-tracker")


if __name__ == "__main__":
    main(sys.argv[1:])
