"""`visitor-tracker status`: the /status document as tables, or as JSON, once or every few seconds."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.json import JSON
from rich.live import Live
from rich.table import Table
from rich.text import Text

from visitor_tracker import cli_base as base
from visitor_tracker.discovery import API_KEY_ENV, DiscoveryError, Pipeline

# -----------------------------------------------------------------------------------


@base.app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the /status JSON as it is.")] = False,
    watch: Annotated[
        float | None, typer.Option(min=0.5, help="Refresh every SECONDS until Ctrl-C.", metavar="SECONDS")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar=API_KEY_ENV, help="API key sent as x-api-key.", show_envvar=True)
    ] = None,
    site: base.SiteOption = None,
) -> None:
    """A site's visitor count, recent traffic, top pages/referrers/browsers, bots, queue and DLQ depth."""
    pipeline = base.pipeline_of(ctx)
    if watch is None:
        data = pipeline.fetch_status(api_key, site=site)
        if as_json:
            base.print_json(data)
        else:
            console = base.out()
            console.print(render_status(data, pipeline.source, console.width))
        return
    try:
        if as_json:
            while True:
                typer.echo(json.dumps(pipeline.fetch_status(api_key, site=site), default=str))
                _pause(watch)
        console = base.out()
        first = _watched(pipeline, api_key, watch, console.width, site)
        # "visible": a summary taller than the terminal scrolls instead of losing its last lines.
        with Live(first, console=console, auto_refresh=False, vertical_overflow="visible") as live:
            while True:
                _pause(watch)
                live.update(_watched(pipeline, api_key, watch, console.width, site), refresh=True)
    except KeyboardInterrupt:
        return


def _pause(seconds: float) -> None:
    """The wait between two refreshes of ``status --watch`` (a seam for tests)."""
    time.sleep(seconds)


def _watched(
    pipeline: Pipeline, api_key: str | None, every: float, width: int, site: str | None = None
) -> RenderableType:
    """One refresh of ``status --watch``: a failed fetch is shown, and the watch goes on."""
    stamp = datetime.now(UTC).strftime("%H:%M:%S UTC")
    footer = Text(f"refreshed {stamp}, every {every:g}s; Ctrl-C to stop", style="dim")
    try:
        return Group(render_status(pipeline.fetch_status(api_key, site=site), pipeline.source, width), footer)
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


def _top_table(title: str, rows: Any, label: str, count: str = "visits") -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, expand=False)
    table.add_column(label, overflow="fold", max_width=40)
    table.add_column(count, justify="right")
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, Mapping):
            name = next((str(v) for k, v in row.items() if k != count), "?")
            table.add_row(Text(name), _num(row.get(count)))  # a recorded name: never rich markup
    if not table.row_count:
        table.add_row("(none yet)", "")
    return table


def _goals_table(rows: Any) -> Table | None:
    """Each declared goal today: completions, unique converters, conversion rate (None: no goals declared)."""
    goals = [g for g in rows if isinstance(g, Mapping)] if isinstance(rows, list) else []
    if not goals:
        return None
    table = Table(title="goals today", title_justify="left", show_edge=False, expand=False)
    table.add_column("goal", overflow="fold", max_width=40)
    for name in ("completions", "unique converters", "conversion rate"):
        table.add_column(name, justify="right")
    for goal in goals:
        rate = goal.get("conversion_rate")
        rate_text = f"{rate:.1%}" if isinstance(rate, int | float) and not isinstance(rate, bool) else "-"
        # a declared name, but shown as text like every recorded one: never rich markup
        table.add_row(
            Text(str(goal.get("goal"))), _num(goal.get("completions")), _num(goal.get("unique_converters")), rate_text
        )
    return table


def _automated_tables(data: Mapping[str, Any]) -> list[Table]:
    """Today's automated visits by class, top automated agents (a false positive shows here), AI crawlers by page."""
    classes = data.get("bots_by_class")
    by_class = [{"class": c, "visits": v} for c, v in classes.items()] if isinstance(classes, Mapping) else []
    tables = [
        _top_table("by class", by_class, "class"),
        _top_table("top agents", data.get("top_bots"), "agent"),
    ]
    ai_pages = data.get("ai_pages")
    if isinstance(ai_pages, list) and ai_pages:  # imported access logs (import-logs) or AI agents running JS
        reads = [{"page": f"{r.get('page')} ({r.get('agent')})", "visits": r.get("visits")} for r in ai_pages[:10]]
        tables.append(_top_table("AI crawlers by page", reads, "page (crawler)"))
    return tables


def _side_by_side(tables: list[Table], width: int) -> list[RenderableType]:
    """The tables in one row on a wide terminal, one under another otherwise."""
    if width < base.WIDE_LAYOUT_COLUMNS:
        return list(tables)
    grid = Table.grid(padding=(0, 3))
    grid.add_row(*tables)
    return [grid]


def render_status(data: Any, source: str, width: int = 80) -> RenderableType:
    """The /status JSON as rich tables; fields it does not have are shown as '-'."""
    if not isinstance(data, Mapping):
        return JSON(json.dumps(data, default=str))
    sites = data.get("sites")
    of_site = f", site {data.get('site')}" if isinstance(sites, list) and len(sites) > 1 else ""
    title = f"visitor tracker ({source}{of_site})"
    summary = Table(title=title, title_justify="left", show_header=False, show_edge=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    summary.add_row("visitor count", _num(data.get("visitor_count")))
    summary.add_row("visits, last hour", _num(data.get("visits_last_hour")))
    summary.add_row("visits, last 24 h", _num(data.get("visits_last_24h")))
    summary.add_row("visits, last 7 days", _num(data.get("visits_last_7d")))
    summary.add_row("unique visitors today", _num(data.get("unique_visitors_today")))
    summary.add_row("custom events today", _num(data.get("events_today")))
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
    parts.extend(_side_by_side(tops, width))
    site = [  # issue 21: what the site script adds (entrances by channel, screen classes, custom events)
        _top_table("channels today", data.get("channels"), "channel"),
        _top_table("screens today", data.get("screens"), "screen"),
        _top_table("events today", data.get("top_events"), "event", count="count"),
    ]
    parts.extend(_side_by_side(site, width))
    goals = _goals_table(data.get("goals"))
    if goals is not None:
        parts.append(goals)
    parts.append(Text("\nautomated traffic today", style="bold"))
    parts.append(
        Text(
            "Not a browser (crawlers, monitors, link previews, HTTP clients, headless browsers, scanners): "
            "logged, not in the visitor count unless COUNT_BOTS=true. A browser listed here is a false positive.",
            style="dim",
        )
    )
    parts.extend(_side_by_side(_automated_tables(data), width))
    return Group(*parts)
