"""Pure ASGI middleware: a request id on every request, and a cap on body size before parsing."""

from __future__ import annotations

import json
import re
import uuid

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
    """Answer 413 problem+json when a declared ``Content-Length`` exceeds the limit, before reading the body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse oversized bodies early."""
        declared = dict(scope.get("headers", [])).get(b"content-length") if scope["type"] == "http" else None
        if declared is None or not declared.isdigit() or int(declared) <= self.max_bytes:
            await self.app(scope, receive, send)
            return
        problem = BodyTooLarge(f"the body has {int(declared):,} bytes; the limit is {self.max_bytes:,}")
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
