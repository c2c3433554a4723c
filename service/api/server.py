"""How the service is served: uvicorn's options, and an HTTP protocol that times out slow request headers.

uvicorn bounds idle keep-alive connections but not a client that trickles its request headers a byte at a
time (slowloris): such a connection would be held open for ever. ``HeaderTimeoutProtocol`` is uvicorn's
own h11 protocol with one addition: from the moment a connection opens, or finishes a response, the
client has ``header_timeout`` seconds to complete the next request's headers, else it is answered 408
problem+json and closed. A slow body is timed out by ``BodyTimeoutMiddleware``; in-flight requests at
shutdown get ``shutdown_grace_s`` (uvicorn's ``timeout_graceful_shutdown``) and then a 503 problem.
"""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.errors import PROBLEM_CONTENT_TYPE, RequestTimeout
from service.observability.logs import log_config
from service.settings import Settings


def raw_problem(error: RequestTimeout) -> bytes:
    """Return a whole HTTP/1.1 response carrying ``error`` as problem+json, closing the connection."""
    body = json.dumps(error.document(instance="", request_id="-")).encode()
    head = (
        f"HTTP/1.1 {error.status} {error.title}\r\ncontent-type: {PROBLEM_CONTENT_TYPE}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers do not arrive in time."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        """Stop the clock once the request's headers are in (h11 has left its IDLE state)."""
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_header_timer()

    def on_response_complete(self) -> None:
        """Start the clock again for the next request on this keep-alive connection."""
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        """Give the client ``header_timeout`` seconds to send a whole request head."""
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self._header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        """Cancel the header clock, if it runs."""
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        """Answer 408 problem+json and close, when the headers have not all come (silent idle keep-alive aside)."""
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:  # a request had begun: tell the client why it is cut off
            error = RequestTimeout(f"the request headers did not arrive within {self._header_timeout:g} s")
            self.transport.write(raw_problem(error))
        self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Return the uvicorn options that apply the settings' timeouts and shutdown grace period."""
    return {
        "http": partial(HeaderTimeoutProtocol, header_timeout=settings.request_header_timeout_s),
        "timeout_graceful_shutdown": settings.shutdown_grace_s,
        "log_level": settings.log_level.lower(),
        "log_config": log_config(settings.log_level, settings.log_format),  # uvicorn's lines like ours
    }
