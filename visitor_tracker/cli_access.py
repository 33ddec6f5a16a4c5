"""`visitor-tracker token ...` and `share ...`: who may open the dashboard and /status.

The owner's token and the shared links are ``ACCESS`` items of the table (``functions.tables.access``),
written here with the caller's own AWS credentials; the status function only reads them.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from visitor_tracker import cli_base as base
from visitor_tracker.discovery import Pipeline

token_app = typer.Typer(help="The owner's access token for /status, the dashboard and the CLI.", no_args_is_help=True)
share_app = typer.Typer(help="Shared read-only links to the dashboard (revocable).", no_args_is_help=True)
base.app.add_typer(token_app, name="token")
base.app.add_typer(share_app, name="share")


def _link(pipeline: Pipeline, token: str) -> str:
    # The token rides in the fragment: browsers never send it to a server or write it in a log.
    return f"{pipeline.dashboard_url}#token={token}"


def _print_owner(pipeline: Pipeline, token: str, headline: str) -> None:
    # Plain echo, never wrapped: a token or a link split over two lines cannot be copied.
    typer.echo(headline)
    typer.echo(f"  token      {token}")
    typer.echo(f"  dashboard  {_link(pipeline, token)}")
    typer.echo("Keep it private: anyone with it reads your analytics. `visitor-tracker token rotate` replaces it.")


@token_app.command("show")
def token_show(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the token alone (for scripts).")] = False,
) -> None:
    """Print the owner's token and the dashboard link (created the first time)."""
    pipeline = base.pipeline_of(ctx)
    token = pipeline.owner_token()
    if quiet:
        typer.echo(token)
        return
    _print_owner(pipeline, token, f"Owner token of {pipeline.source}:")


@token_app.command("ensure")
def token_ensure(ctx: typer.Context) -> None:
    """Create the owner's token if there is none (what `make deploy` runs), and print it."""
    pipeline = base.pipeline_of(ctx)
    _print_owner(pipeline, pipeline.owner_token(), f"The dashboard of {pipeline.source} is private. Open it with:")


@token_app.command("rotate")
def token_rotate(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask first.")] = False,
) -> None:
    """Replace the owner's token: the old one stops working at once (browsers must sign in again)."""
    from functions.model.access import OWNER_ID
    from functions.tables import access

    pipeline = base.pipeline_of(ctx)
    if not yes and not typer.confirm("Replace the owner token? Browsers using it will have to sign in again."):
        raise typer.Exit(base.EXIT_CANCELLED)
    issued = access.issue(pipeline.table_name, OWNER_ID, "owner", client=pipeline.client("dynamodb"))
    _print_owner(pipeline, issued.token, "New owner token (the old one no longer works):")


@share_app.command("create")
def share_create(
    ctx: typer.Context,
    label: Annotated[str, typer.Option(help="Who the link is for (shown by `share list`).", show_default=False)],
) -> None:
    """Create a read-only link to the dashboard; `share revoke ID` ends it."""
    from functions.model import access as model
    from functions.tables import access

    if not label.strip() or len(label) > model.MAX_LABEL_LENGTH:
        raise base.CliError(f"--label must be 1 to {model.MAX_LABEL_LENGTH} characters")
    pipeline = base.pipeline_of(ctx)
    issued = access.issue(pipeline.table_name, model.new_share_id(), label.strip(), client=pipeline.client("dynamodb"))
    typer.echo(f"Shared link {issued.token_id} ({issued.label}):")
    typer.echo(f"  {_link(pipeline, issued.token)}")


@share_app.command("list")
def share_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON: id, label, created, link.")] = False,
) -> None:
    """The shared links that work now."""
    from functions.tables import access

    pipeline = base.pipeline_of(ctx)
    links = [t for t in access.all_tokens(pipeline.table_name, client=pipeline.client("dynamodb")) if not t.is_owner]
    if as_json:
        base.print_json(
            [
                {"id": t.token_id, "label": t.label, "created": t.created, "link": _link(pipeline, t.token)}
                for t in links
            ]
        )
        return
    if not links:
        base.out().print("No shared links. Create one with `visitor-tracker share create --label NAME`.")
        return
    table = Table(title="Shared links")
    for column in ("id", "label", "created", "link"):
        table.add_column(column, overflow="fold")
    for t in links:
        table.add_row(t.token_id, t.label, t.created, _link(pipeline, t.token))
    base.out().print(table)


@share_app.command("revoke")
def share_revoke(
    ctx: typer.Context, link_id: Annotated[str, typer.Argument(help="The link's id (`share list`).")]
) -> None:
    """End a shared link at once."""
    from functions.model import access as model
    from functions.tables import access

    if not model.valid_share_id(link_id):
        raise base.CliError(f"{link_id!r} is not a shared link id (see `visitor-tracker share list`)")
    pipeline = base.pipeline_of(ctx)
    if not access.revoke(pipeline.table_name, link_id, client=pipeline.client("dynamodb")):
        raise base.CliError(f"no shared link {link_id!r} (see `visitor-tracker share list`)")
    base.out().print(f"Shared link {link_id} revoked: it no longer opens the dashboard.")
