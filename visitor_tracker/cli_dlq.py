"""`visitor-tracker dlq list|show|redrive|purge`: the messages the writer gave up on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import botocore.exceptions
import typer
from rich.console import Group, RenderableType
from rich.json import JSON
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from visitor_tracker import cli_base as base
from visitor_tracker import dlq, redrive
from visitor_tracker.discovery import Pipeline

# --- dlq --------------------------------------------------------------------------------------


def _with_reasons(pipeline: Pipeline, messages: list[dlq.DlqMessage]) -> list[dlq.DlqMessage]:
    """Attach the writer's recorded reasons; listing still works when the table cannot be read."""
    if not messages:
        return messages
    try:
        return dlq.attach_reasons(pipeline.client("dynamodb"), pipeline.table_name, messages)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, RuntimeError) as exc:
        reason = base.aws_error(exc) if not isinstance(exc, RuntimeError) else str(exc)
        base.err().print(f"[yellow]warning:[/yellow] failure reasons unavailable: {reason}", soft_wrap=True)
        return messages


def _when(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


@base.dlq_app.command("list")
def dlq_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=base.MAX_LIMIT, help="List at most this many messages.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON: a list of messages with full bodies.")] = False,
) -> None:
    """Messages in the DLQ, oldest first. Listing does not consume them: they stay in the queue."""
    pipeline = base.pipeline_of(ctx)
    sqs = pipeline.client("sqs")
    messages = _with_reasons(pipeline, dlq.peek(sqs, pipeline.dlq_url, limit))
    if as_json:
        base.print_json([m.to_dict() for m in messages])
        return
    console = base.out()
    if not messages:
        console.print("The DLQ is empty.")
        return
    title = f"{len(messages)} message(s) in the DLQ, oldest first"
    wide = console.width >= base.DLQ_TABLE_COLUMNS
    console.print(_dlq_table(title, messages) if wide else _dlq_cards(title, messages))
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


@base.dlq_app.command("show")
def dlq_show(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(help="The message id, as `dlq list` shows it.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """One DLQ message in full: body (pretty JSON), attributes, failure reason."""
    pipeline = base.pipeline_of(ctx)
    found = dlq.find(pipeline.client("sqs"), pipeline.dlq_url, message_id)
    if found is None:
        raise base.CliError(f"message {message_id} is not in the DLQ (redriven, purged, or in flight): see `dlq list`")
    message = _with_reasons(pipeline, [found])[0]
    if as_json:
        base.print_json(message.to_dict())
        return
    console = base.out()
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
        raise base.CliError(refusal) from None
    if not answer:
        typer.echo("Cancelled: nothing changed.", err=True)
        raise typer.Exit(base.EXIT_CANCELLED)


@base.dlq_app.command("redrive")
def dlq_redrive(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(min=1, help="Move at most this many messages.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Move DLQ messages back to the visit queue, so the writer tries them again."""
    pipeline = base.pipeline_of(ctx)
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
            total, method = redrive.redrive(
                sqs,
                pipeline.dlq_url,
                pipeline.queue_url,
                limit=limit,
                progress=advance,
                move_task_sqs=pipeline.client("sqs", max_attempts=1),
            )
        except (redrive.RedriveError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            reason = str(exc) if isinstance(exc, redrive.RedriveError) else base.aws_error(exc)
            raise base.CliError(
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
        console=base.err(),
    )


@base.dlq_app.command("purge")
def dlq_purge(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Required: purging deletes every message for good.")] = False,
) -> None:
    """Delete every message in the DLQ, for good. Requires --yes."""
    if not yes:
        raise base.CliError("refusing to purge the DLQ without --yes: it deletes every message for good")
    pipeline = base.pipeline_of(ctx)
    count = dlq.purge(pipeline.client("sqs"), pipeline.dlq_url)
    typer.echo(f"Purged the DLQ ({count} message(s)).")
