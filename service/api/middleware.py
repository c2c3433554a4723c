"""Pure ASGI middleware: a request id on every request, and a cap on body size, declared or streamed."""

from __future__ import annotations

import json
import re
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PROBLEM_CONTENT_TYPE, BodyTooLarge

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Take the caller's ``X-Request-ID`` (when sane) or make one; expose it on state and on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tag the request and its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodySizeLimitMiddleware:
    """Refuse a body over the limit with 413 problem+json, without reading it.

    A declared ``Content-Length`` over the limit is answered at once. A body without one (chunked) is counted
    as it streams in, and cut off as soon as it passes the limit: the count raises an HTTP 413 into FastAPI's
    body reading, which hands it to the problem handlers. FastAPI's own ``max_body_size`` counts too, but it
    answers a declared oversize in plain text, outside the problem+json contract.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse oversized bodies early; count the others as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send, f"the body has {int(declared):,} bytes; the limit is {self.max_bytes:,}")
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        """Return ``receive`` that raises a 413 once the body received so far passes the limit."""
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, detail=f"the body is over the limit of {self.max_bytes:,} bytes")
            return message

        return receive_within_limit

    @staticmethod
    async def _refuse(scope: Scope, send: Send, detail: str) -> None:
        """Answer 413 problem+json before the app sees the request."""
        problem = BodyTooLarge(detail)
        body = json.dumps(
            {
                "type": problem.problem_type,
                "title": problem.title,
                "status": problem.status,
                "detail": problem.detail,
                "instance": scope.get("path", ""),
                "request_id": scope.get("state", {}).get("request_id", "-"),
            }
        ).encode()
        headers = [(b"content-type", PROBLEM_CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": problem.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
