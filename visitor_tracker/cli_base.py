"""The ``visitor-tracker`` app and what its commands share: options, the pipeline, errors, consoles.

The pipeline is found by ``visitor_tracker.discovery`` (``--stack NAME`` or the running local mode);
DLQ logic lives in ``visitor_tracker.dlq``. This module only parses options and renders. Every
expected failure (pipeline not found, AWS or HTTP errors, refused confirmation) ends as one line on
stderr and exit code 2, never a traceback: the root command group catches them (``_Group.invoke``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import botocore.exceptions
import typer
from rich.console import Console

from visitor_tracker.discovery import DiscoveryError, Pipeline, find_pipeline

EXIT_ERROR = 2
EXIT_CANCELLED = 1
EXIT_INTERRUPTED = 130
MAX_LIMIT = 1000
MAX_ERROR_CHARS = 400
WIDE_LAYOUT_COLUMNS = 120  # the three top-N tables side by side from this terminal width
DLQ_TABLE_COLUMNS = 140  # `dlq list` as a table from this width (ids whole), else three lines a message


class CliError(Exception):
    """An expected failure: printed as one line on stderr, exit code 2."""


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    one_line = " ".join(message.split())  # an AWS message can hold a whole HTML error page
    if len(one_line) > MAX_ERROR_CHARS:
        one_line = one_line[: MAX_ERROR_CHARS - 1] + "…"
    typer.secho(f"error: {one_line}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def aws_error(exc: Exception) -> str:
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
            fail(str(exc))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            fail(aws_error(exc))
        except KeyboardInterrupt:
            fail("interrupted", EXIT_INTERRUPTED)


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


# `--site DOMAIN` of the commands that read or write one site's data (the deployment's `sites`).
SiteOption = Annotated[
    str | None,
    typer.Option("--site", help="One of the deployment's sites (default: the first listed).", metavar="DOMAIN"),
]


def site_of(pipeline: Pipeline, site: str | None) -> str | None:
    """``--site`` as the table keys it (None: the default site); an unknown site is a CLI error."""
    try:
        return pipeline.site_scope(site)
    except DiscoveryError as exc:
        raise CliError(str(exc)) from None


def pipeline_of(ctx: typer.Context) -> Pipeline:
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


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def out() -> Console:
    # Created per command: CliRunner (and pipes) swap sys.stdout between invocations.
    return Console(highlight=False, soft_wrap=False)


def err() -> Console:
    return Console(stderr=True, highlight=False)
