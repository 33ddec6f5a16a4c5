"""Fault injection through botocore's documented ``before-send`` event: a client's request answered by
the test instead of the network (after being applied by the real endpoint, or not at all)."""

from __future__ import annotations

import io
from typing import Any

import urllib3
from botocore.awsrequest import AWSResponse


def _target(request: Any) -> str:
    value = request.headers.get("X-Amz-Target", b"")
    return value.decode() if isinstance(value, bytes) else str(value)


class ServerErrors:
    """Answer an operation of one client with HTTP 500s, as a failing or unreachable AWS would.

    ``applied=True`` sends each attempt to the real endpoint first and loses its answer (a timeout
    after the server acted); ``applied=False`` never reaches it. ``attempts`` counts what the SDK sent.
    """

    def __init__(self, client: Any, target: str, *, applied: bool) -> None:
        self.client, self.target, self.applied = client, target, applied
        self.attempts = 0
        self._http = urllib3.PoolManager()
        client.meta.events.register("before-send", self._answer)

    def _answer(self, request: Any, **_: Any) -> AWSResponse | None:
        if _target(request) != self.target:
            return None
        self.attempts += 1
        if self.applied:
            self._http.request("POST", request.url, body=request.body, headers=dict(request.headers))
        body = b'{"__type":"InternalError","message":"injected: answer lost"}'
        raw = urllib3.HTTPResponse(body=io.BytesIO(body), status=500, preload_content=False)
        return AWSResponse(request.url, 500, {"Content-Type": "application/x-amz-json-1.0"}, raw)

    def stop(self) -> None:
        self.client.meta.events.unregister("before-send", self._answer)
