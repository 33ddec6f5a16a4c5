"""Every way of not finding or not reaching the pipeline: one line on stderr naming the fix, exit 2."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from typer.testing import CliRunner, Result

from functions.core import definitions as d
from tests.cli.conftest import REGION, Env, make_visit, write_local_state
from visitor_tracker import dlq
from visitor_tracker.cli import app
from visitor_tracker.resources import create_resources
from visitor_tracker.state import STATE_ENV

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def no_local_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "local.json"
    monkeypatch.setenv(STATE_ENV, str(path))
    return path


@pytest.mark.parametrize(
    "command", [["status"], ["visits", "recent"], ["dlq", "list"], ["dlq", "show", "x"], ["dlq", "redrive", "--yes"]]
)
def test_no_local_mode_running(no_local_mode: Path, command: list[str]) -> None:
    assert_one_line_error(invoke(*command), "no local mode running", "make run", "visitor-tracker local", "--stack")


def test_state_file_of_a_process_that_is_gone_means_no_local_mode(no_local_mode: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    no_local_mode.write_text(
        json.dumps(
            {
                "pid": int(finished.stdout),
                "api_url": "http://127.0.0.1:1",
                "endpoint_url": "http://127.0.0.1:1",
                "region": REGION,
                "table_name": "t",
                "queue_url": "q",
                "dlq_url": "d",
                "started_at": "2026-11-26T13:00:00+00:00",
            }
        )
    )

    assert_one_line_error(invoke("dlq", "list"), "no local mode running")


def test_local_mode_state_present_but_endpoint_dead(no_local_mode: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    no_local_mode.write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "api_url": dead,
                "endpoint_url": dead,
                "region": REGION,
                "table_name": "t",
                "queue_url": f"{dead}/123456789012/q",
                "dlq_url": f"{dead}/123456789012/d",
                "started_at": "2026-11-26T13:00:00+00:00",
            }
        )
    )

    assert_one_line_error(invoke("dlq", "list"), f"local mode's AWS endpoint {dead} is not answering", "make run")


def test_status_api_not_answering(env: Env) -> None:
    # The emulator answers, but nothing listens on the API port.
    port = free_port()
    write_local_state(env.state_file, env.endpoint, env.resources, api_url=f"http://127.0.0.1:{port}")

    assert_one_line_error(invoke("status"), f"cannot reach http://127.0.0.1:{port}/status", "local mode")


def test_aws_endpoint_failing_mid_command(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(*_args: Any, **_kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url=env.endpoint)

    monkeypatch.setattr(dlq, "peek", unreachable)

    assert_one_line_error(invoke("dlq", "list"), "cannot reach AWS", env.endpoint)


def test_an_aws_error_page_is_still_one_line(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    page = "<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n" * 20

    def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "500", "Message": page}}, "ReceiveMessage")

    monkeypatch.setattr(dlq, "peek", failing)

    assert_one_line_error(invoke("dlq", "list"), "AWS ReceiveMessage failed (500): <!doctype html> <title>500")


@pytest.mark.parametrize(
    "args", [["dlq", "list", "--limit", "0"], ["visits", "recent", "--limit", "-1"], ["status", "--watch", "0"]]
)
def test_bad_options_are_usage_errors(no_local_mode: Path, args: list[str]) -> None:
    result = invoke(*args)

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "Invalid value" in result.output


def test_purge_without_yes_is_refused_before_looking_for_the_pipeline(no_local_mode: Path) -> None:
    assert_one_line_error(invoke("dlq", "purge"), "refusing to purge the DLQ without --yes")


# --- --stack ------------------------------------------------------------------------------------


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Belt and braces: should anything still try to call AWS, it hits a dead local port.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")


def test_stack_without_credentials(no_credentials: None, no_local_mode: Path) -> None:
    assert_one_line_error(invoke("--stack", "visitor-tracker", "status"), "no AWS credentials found", "--profile")


def test_stack_with_an_unknown_profile(no_credentials: None, no_local_mode: Path) -> None:
    assert_one_line_error(invoke("--stack", "s", "--profile", "nope", "dlq", "list"), "AWS profile 'nope' not found")


def test_unknown_stack(aws: None) -> None:
    assert_one_line_error(
        invoke("--stack", "no-such-stack", "--region", REGION, "dlq", "list"),
        "stack 'no-such-stack' not found in us-east-1",
        "--region",
    )


def outputs_template(outputs: dict[str, str]) -> str:
    return json.dumps(
        {
            "Resources": {"Marker": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
    )


def test_stack_outputs_lead_the_cli_to_the_deployed_pipeline(aws: None) -> None:
    # GIVEN a deployed stack (moto CloudFormation) whose outputs name the table and queues
    resources = create_resources(boto3.client("dynamodb"), boto3.client("sqs"), prefix="deployed")
    boto3.client("cloudformation").create_stack(
        StackName="visitor-tracker",
        TemplateBody=outputs_template(
            {
                d.OUTPUT_API_URL: "https://abc.execute-api.us-east-1.amazonaws.com/prod/",
                d.OUTPUT_STATUS_URL: "https://abc.execute-api.us-east-1.amazonaws.com/prod/status",
                d.OUTPUT_TABLE_NAME: resources.table_name,
                d.OUTPUT_QUEUE_URL: resources.queue_url,
                d.OUTPUT_DLQ_URL: resources.dlq_url,
            }
        ),
    )
    message_id = boto3.client("sqs").send_message(QueueUrl=resources.dlq_url, MessageBody=make_visit().to_json())[
        "MessageId"
    ]

    # WHEN the CLI is pointed at the stack
    result = invoke("--stack", "visitor-tracker", "--region", REGION, "dlq", "list", "--json")

    # THEN it lists that stack's DLQ
    assert result.exit_code == 0, result.output
    assert [m["message_id"] for m in json.loads(result.stdout)] == [message_id]


def test_stack_without_the_tracker_outputs(aws: None) -> None:
    boto3.client("cloudformation").create_stack(
        StackName="other", TemplateBody=outputs_template({d.OUTPUT_API_URL: "https://x"})
    )

    assert_one_line_error(
        invoke("--stack", "other", "--region", REGION, "dlq", "list"),
        "stack 'other' has no output(s) TableName, QueueUrl, DlqUrl",
    )
