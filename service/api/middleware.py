"""Pure ASGI middleware: a request id, a cap on body size, a deadline on the body, a 503 when shutdown cuts in."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PROBLEM_CONTENT_TYPE, BodyTooLarge, ClaimServiceError, ShuttingDown
from service.observability import metrics
from service.observability.logs import REQUEST_ID

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
        REQUEST_ID.set(request_id)  # for every log line of this request (the task's own context)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Count each HTTP request by route template, method and status, and time it (Prometheus)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; record it once its answer has started."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees when nothing else was sent

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"  # a template: bounded, never an id
            method = scope["method"] if scope["method"] in HTTP_METHODS else "_OTHER"  # any token parses
            metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
            metrics.HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)


class RateLimitHeadersMiddleware:
    """Add the caller's ``RateLimit-Policy`` and ``RateLimit`` headers, left on the request by its key's quotas."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to its answer when the route set them."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_limits(message: Message) -> None:
            rate_headers: dict[str, str] = state.get("rate_headers") or {}
            if message["type"] == "http.response.start" and rate_headers:
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [
                    (k.lower().encode(), v.encode())
                    for k, v in rate_headers.items()
                    if k.lower().encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_limits)


class BodySizeLimitMiddleware:
    """Refuse a body over the limit with 413 problem+json, without reading it.

    A declared ``Content-Length`` over the limit is answered at once. A body without one (chunked) is counted
    as it streams in, and cut off as soon as it passes the limit: the count raises an HTTP 413 into FastAPI's
    body reading, which hands it to the problem handlers. FastAPI's own ``max_body_size`` counts too, but it
    answers a declared oversize in plain text, outside the problem+json contract.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, max_bytes_under: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_bytes_under = max_bytes_under or {}  # path prefix -> its own limit (a job's batch is larger)

    def _limit(self, scope: Scope) -> int:
        """Return the body limit of the request's path."""
        path = route_path(scope)
        return next(
            (limit for prefix, limit in self.max_bytes_under.items() if path.startswith(prefix)), self.max_bytes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse oversized bodies early; count the others as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, f"the body has {int(declared):,} bytes; the limit is {limit:,}")
            return
        await self.app(scope, self._counting(receive, limit), send)

    @staticmethod
    def _counting(receive: Receive, limit: int) -> Receive:
        """Return ``receive`` that raises a 413 once the body received so far passes the limit."""
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, detail=f"the body is over the limit of {limit:,} bytes")
            return message

        return receive_within_limit

    @staticmethod
    async def _refuse(scope: Scope, send: Send, detail: str) -> None:
        """Answer 413 problem+json before the app sees the request."""
        await send_problem(scope, send, BodyTooLarge(detail))


def route_path(scope: Scope) -> str:
    """Return the request's path within the app: a ``root_path`` a proxy set (uvicorn puts it in front) taken off."""
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


async def send_problem(scope: Scope, send: Send, problem: ClaimServiceError) -> None:
    """Send ``problem`` as a whole problem+json response, from outside the app's own handlers."""
    body = json.dumps(problem.document(scope.get("path", ""), scope.get("state", {}).get("request_id", "-"))).encode()
    headers = [(b"content-type", PROBLEM_CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in problem.headers().items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyTimeoutMiddleware:
    """Give a request body ``timeout`` seconds to arrive whole, else a 408 problem (raised into FastAPI's reading).

    The deadline only runs while the body is incomplete: once its last part is in, ``receive`` is the
    server's own again (a streamed reply still hears the client disconnect).
    """

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with a ``receive`` that enforces the body's deadline."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, self._with_deadline(receive), send)

    def _with_deadline(self, receive: Receive) -> Receive:
        """Return ``receive`` that raises a 408 when the body is not all in by the deadline."""
        deadline = time.monotonic() + self.timeout
        complete = False

        async def receive_in_time() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise HTTPException(408, detail=f"the request body did not arrive within {self.timeout:g} s") from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        return receive_in_time


class InFlight:
    """The requests being answered now, so that shutdown can wait for the last 503s to go out."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        """Count a request in."""
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        """Count a request out."""
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def drained(self, limit_s: float) -> bool:
        """Wait at most ``limit_s`` seconds for no request to be in flight; say whether none is."""
        try:
            await asyncio.wait_for(self._idle.wait(), limit_s)
        except TimeoutError:
            return False
        return True


class ShutdownMiddleware:
    """When shutdown's grace period runs out and the server cancels a request, answer it 503, never half a reply.

    uvicorn cancels what is still running once ``timeout_graceful_shutdown`` has passed, then goes straight
    on to the lifespan's shutdown; ``in_flight`` lets that wait for these last answers to be written.
    """

    def __init__(self, app: ASGIApp, in_flight: InFlight) -> None:
        self.app = app
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; if it is cancelled before its response began, send a 503 problem instead."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.in_flight.enter()
        try:
            await self._answer(scope, receive, send)
        finally:
            self.in_flight.leave()

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, answering 503 when it is cancelled before its response began."""
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except asyncio.CancelledError:
            if started:
                raise
            # the server cancels each request once, at the end of its grace period: answer and let it close
            await send_problem(scope, send, ShuttingDown("the service stopped before this request finished"))
