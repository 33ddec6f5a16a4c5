"""Find the pipeline the CLI talks to: a deployed stack (``--stack``) or the running local mode.

Every way this can fail raises ``DiscoveryError`` with one line that names the fix, so the CLI can
print it and exit 2 instead of showing a botocore traceback.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
import botocore.exceptions
from botocore.config import Config

from functions.core import definitions as d
from visitor_tracker.state import read_state, state_path

# An operator waits on these calls: fail fast, retry a little on throttling.
CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=15, retries={"max_attempts": 3, "mode": "standard"})
PROBE_TIMEOUT_SECONDS = 1.0
HTTP_TIMEOUT_SECONDS = 10.0
API_KEY_ENV = "VISITOR_TRACKER_API_KEY"

# Local mode's emulator accepts any credentials; these keep the CLI working with none configured.
_LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}  # noqa: S106

NO_LOCAL_MODE = "no local mode running: start it with `make run` or `visitor-tracker local`, or pass --stack NAME"


class DiscoveryError(Exception):
    """The pipeline cannot be found or reached; the message says what to do about it."""


@dataclass(frozen=True)
class Pipeline:
    """Where the tracker's API, table and queues are, and how to reach them."""

    source: str  # "local" or "stack <name>"
    region: str
    api_url: str
    status_url: str
    table_name: str
    queue_url: str
    dlq_url: str
    endpoint_url: str | None = None  # the emulator in local mode; None for real AWS
    session: Any = field(default=None, repr=False, compare=False)
    _owner: dict[str, str] = field(default_factory=dict, repr=False, compare=False)  # the token, once read

    def client(self, service: str, *, max_attempts: int | None = None) -> Any:
        """A boto3 client for this pipeline (the emulator's endpoint in local mode)."""
        config = CLIENT_CONFIG
        if max_attempts is not None:
            config = config.merge(Config(retries={"max_attempts": max_attempts, "mode": "standard"}))
        return self.session.client(service, endpoint_url=self.endpoint_url, config=config)

    @property
    def dashboard_url(self) -> str:
        return self.status_url.rsplit("/", 1)[0] + "/dashboard"

    def owner_token(self) -> str:
        """The owner's access token, read (or created the first time) with this caller's AWS credentials."""
        cached = self._owner.get("token")
        if cached is None:
            from functions.model.access import OWNER_ID
            from functions.tables import access

            cached = access.issue(
                self.table_name, OWNER_ID, "owner", replace=False, client=self.client("dynamodb")
            ).token
            self._owner["token"] = cached
        return cached

    def fetch_status(
        self, api_key: str | None = None, timeout: float = HTTP_TIMEOUT_SECONDS, site: str | None = None
    ) -> Any:
        """GET a site's /status JSON as the owner; any failure is a ``DiscoveryError`` naming the likely fix."""
        url = self.status_url + (f"?site={quote(site, safe='')}" if site else "")
        return get_json(url, api_key=api_key, token=self.owner_token(), timeout=timeout, local=self.source == "local")

    def site_scope(self, site: str | None, api_key: str | None = None) -> str | None:
        """The site whose items a table command reads or writes, as the functions key them (None: the
        default site), checked against the deployment's own list (its /status): an unknown site fails."""
        if not site:
            return None
        body = self.fetch_status(api_key, site=site)
        listed = body.get("sites") if isinstance(body, dict) else None
        name = body.get("site") if isinstance(body, dict) else None
        if not isinstance(listed, list) or not isinstance(name, str):
            raise DiscoveryError(f"{self.status_url} does not list its sites: is this tracker up to date?")
        return None if name == listed[0] else name


def find_pipeline(stack: str | None = None, *, region: str | None = None, profile: str | None = None) -> Pipeline:
    """The deployed stack's pipeline when ``stack`` is given, else the running local mode's."""
    if stack:
        return from_stack(stack, region=region, profile=profile)
    return from_local_mode()


def from_local_mode() -> Pipeline:
    """The pipeline of the local mode whose state file exists, after checking its emulator answers."""
    state = read_state()
    if state is None:
        raise DiscoveryError(NO_LOCAL_MODE)
    if not _answers(state.endpoint_url):
        raise DiscoveryError(
            f"local mode's AWS endpoint {state.endpoint_url} is not answering (stale state file {state_path()}?):"
            " restart it with `make run` or `visitor-tracker local`, or pass --stack NAME"
        )
    api_url = state.api_url.rstrip("/")
    session = boto3.Session(region_name=state.region, **_LOCAL_CREDENTIALS)
    return Pipeline(
        source="local",
        region=state.region,
        api_url=api_url,
        status_url=f"{api_url}/status",
        table_name=state.table_name,
        queue_url=state.queue_url,
        dlq_url=state.dlq_url,
        endpoint_url=state.endpoint_url,
        session=session,
    )


def from_stack(stack: str, *, region: str | None = None, profile: str | None = None) -> Pipeline:
    """The pipeline described by a deployed stack's outputs (CloudFormation DescribeStacks)."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise DiscoveryError(f"AWS profile {profile!r} not found: check --profile or ~/.aws/config") from None
    if not session.region_name:
        raise DiscoveryError("no AWS region configured: pass --region or set AWS_REGION / AWS_DEFAULT_REGION")
    if session.get_credentials() is None:
        raise DiscoveryError(
            "no AWS credentials found: run `aws configure` / `aws sso login`, set AWS_PROFILE, or pass --profile"
        )
    cloudformation = session.client("cloudformation", config=CLIENT_CONFIG)
    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except botocore.exceptions.ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if "does not exist" in message:
            raise DiscoveryError(
                f"stack {stack!r} not found in {session.region_name}: check --stack and --region"
            ) from None
        raise DiscoveryError(f"cannot read stack {stack!r}: {message}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    wanted = (d.OUTPUT_API_URL, d.OUTPUT_TABLE_NAME, d.OUTPUT_QUEUE_URL, d.OUTPUT_DLQ_URL)
    missing = [key for key in wanted if key not in outputs]
    if missing:
        raise DiscoveryError(
            f"stack {stack!r} has no output(s) {', '.join(missing)}: is it a visitor-tracker stack, fully deployed?"
        )
    api_url = outputs[d.OUTPUT_API_URL].rstrip("/")
    return Pipeline(
        source=f"stack {stack}",
        region=session.region_name,
        api_url=api_url,
        status_url=outputs.get(d.OUTPUT_STATUS_URL) or f"{api_url}/status",
        table_name=outputs[d.OUTPUT_TABLE_NAME],
        queue_url=outputs[d.OUTPUT_QUEUE_URL],
        dlq_url=outputs[d.OUTPUT_DLQ_URL],
        session=session,
    )


def get_json(
    url: str,
    *,
    api_key: str | None = None,
    token: str | None = None,
    timeout: float = HTTP_TIMEOUT_SECONDS,
    local: bool = False,
) -> Any:
    """GET a JSON document, turning every HTTP, network and decoding failure into one clear line."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DiscoveryError(f"not an http(s) URL: {url!r}")
    headers = {"Accept": "application/json", "User-Agent": "visitor-tracker-cli"}
    if api_key:
        headers["x-api-key"] = api_key
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
    hint = "is local mode still running?" if local else "check the stack's API and your network"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as exc:
        message = _error_message(exc.read()) or exc.reason
        fix = f": pass --api-key or set {API_KEY_ENV}" if exc.code in (401, 403) else ""
        raise DiscoveryError(f"GET {url} answered {exc.code}: {message}{fix}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise DiscoveryError(f"cannot reach {url} ({reason}): {hint}") from None
    try:
        return json.loads(body)
    except ValueError:
        raise DiscoveryError(f"GET {url} did not answer JSON: {hint}") from None


def _error_message(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict):
        for name in ("message", "error", "Message"):
            if isinstance(data.get(name), str):
                return str(data[name])
    return None


def _answers(url: str) -> bool:
    """Whether something accepts TCP connections at the URL's host and port (cheap liveness probe)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=PROBE_TIMEOUT_SECONDS):
            return True
    except OSError:
        return False
