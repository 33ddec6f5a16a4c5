"""SQS's JSON protocol in front of the engine: one request -> one answer (over HTTP in
``visitor_tracker.emulator``, or in process through a botocore ``before-send`` handler), and an
in-process client for the event source mapping."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from visitor_tracker.sqs.engine import SqsEngine
from visitor_tracker.sqs.model import SqsError

JSON_1_0 = "application/x-amz-json-1.0"
TARGET_PREFIX = "AmazonSQS."


def answer_json(engine: SqsEngine, target: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """One SQS JSON-protocol request (its ``X-Amz-Target`` and body): (status, headers, body) to send back."""
    try:
        request = json.loads(body or b"{}")
        if not isinstance(request, dict):
            raise ValueError("not an object")
    except ValueError:
        error = SqsError("InvalidParameterValue", "The request body is not a JSON object.")
    else:
        try:
            payload = json.dumps(engine.call(target.removeprefix(TARGET_PREFIX), request)).encode()
        except SqsError as exc:
            error = exc
        else:
            return 200, {"Content-Type": JSON_1_0}, payload
    headers = {"Content-Type": JSON_1_0, "x-amzn-query-error": error.query_code()}
    return error.status, headers, json.dumps(error.body()).encode()


class _Body:
    """The ``raw`` of a botocore AWSResponse built in process: botocore reads it through ``stream()``."""

    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._payload


def in_process_transport(engine: SqsEngine, endpoint: str) -> Callable[..., Any]:
    """A botocore ``before-send`` handler that answers SQS requests for ``endpoint`` from the engine.

    botocore still validates, serializes, signs and parses as it would over HTTP; only the socket
    and the HTTP server are skipped (about 1 ms of CPU per SendMessage here). Register it on a
    session before its clients are created: ``session.register("before-send.sqs", handler)``.
    """
    from botocore.awsrequest import AWSResponse

    prefix = endpoint.rstrip("/")

    def before_send(request: Any, **_: Any) -> Any:
        url = str(request.url)
        if url != prefix and not url.startswith((f"{prefix}/", f"{prefix}?")):
            return None  # another endpoint (``:8080`` is not ``:80``)
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else str(target)
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        status, headers, payload = answer_json(engine, target, body)
        return AWSResponse(request.url, status, headers, _Body(payload))

    return before_send


def attach_in_process(session: Any, engine: SqsEngine, endpoint: str) -> None:
    """Make a botocore session's SQS clients (created after this) reach ``engine`` in process, unsigned:
    the engine checks no signature, and SigV4 was a fifth of each in-process SendMessage's CPU."""
    import botocore

    session.register("before-send.sqs", in_process_transport(engine, endpoint))
    session.register("choose-signer.sqs", lambda **_: botocore.UNSIGNED)


class EngineClient:
    """An SQS client for in-process callers (the event source mapping): boto3's method names and shapes.

    Lambda's event source mapping is AWS's own machinery, not an SDK client; here it talks to the
    engine without HTTP, so draining the queue costs the request path nothing. Errors are raised as
    botocore's ``ClientError`` with the ``Error`` botocore parses over HTTP (``Code`` is the query
    protocol's, e.g. ``AWS.SimpleQueueService.NonExistentQueue``; ``QueryErrorCode`` SQS's).
    """

    def __init__(self, engine: SqsEngine) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        operation = "".join(part.capitalize() for part in name.split("_"))

        def call(**request: Any) -> dict[str, Any]:
            from botocore.exceptions import ClientError

            try:
                return self._engine.call(operation, request)
            except SqsError as exc:
                error = exc.client_error()
                raise ClientError(
                    {"Error": error, "ResponseMetadata": {"HTTPStatusCode": exc.status}}, operation
                ) from None

        return call
