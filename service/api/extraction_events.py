"""An extraction answered as server-sent events (``Accept: text/event-stream``), beside the one JSON reply.

The pipeline runs exactly as for JSON, in a task of its own, telling a queue what it does (``Progress``).
Nothing is sent until its estimate is held on the key's budget: whatever goes wrong before that (the
article's size, the model, the quota) stays an ordinary 4xx response. Then the stream carries::

    event: chunk   one chunk's provisional claims (``ChunkClaims``), as each is answered
    event: done    the final result, exactly the JSON reply (de-duplicated and filtered)
    event: error   the problem document, when every chunk failed or the extraction broke

with a comment (``: ping``) every ``HEARTBEAT_S`` of silence, so that proxies keep the connection. A client
that goes away cancels the task: the chunks not yet answered are never asked, and the key's budget is
settled with what the chunks already answered used (``Pipeline._ask`` settles however it ends).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import Enum
from typing import Any

from fastapi import Request
from fastapi.sse import KEEPALIVE_COMMENT, EventSourceResponse, format_sse_event

from schemas import ExtractionResult
from schemas.streaming import ChunkClaims
from service.api.problems import request_id_of
from service.api.representations import JSON, preferred
from service.errors import ClaimServiceError, ExtractionFailed
from service.pipeline.progress import Progress

EVENT_STREAM = "text/event-stream"
HEARTBEAT_S = 15.0
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Vary": "Accept"}
logger = logging.getLogger("claims.api")
Extraction = Callable[[Progress], Awaitable[ExtractionResult]]

EVENTS_DESCRIPTION = (
    "With `Accept: text/event-stream`, server-sent events: `event: chunk` as each chunk is answered (its claims, "
    "provisional: grounded, checked and filtered, not yet de-duplicated across chunks; a `ChunkClaims`), then "
    "`event: done` with the final result, the JSON reply exactly; or `event: error` with the problem document "
    "when the extraction fails once streaming has begun. Errors found before it begins (the body, the key, the "
    "quota, the article's size) are ordinary problem+json responses. `: ping` comments keep the connection."
)


def sse_content(events: dict[str, str]) -> dict[str, Any]:
    """Return the OpenAPI media type of an event stream whose ``events`` (name: schema) carry JSON data."""
    return {
        "itemSchema": {
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"type": "string", "enum": list(events)},
                "id": {"type": "string"},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in events.values()]},
                },
            },
        }
    }


EXTRACTION_EVENTS = sse_content({"chunk": "ChunkClaims", "done": "ExtractionResult", "error": "Problem"})


class _Silence(Enum):
    """Nothing came for ``HEARTBEAT_S``: time for a ping."""

    PING = "ping"


def wants_events(request: Request) -> bool:
    """Say whether the client asks for server-sent events rather than JSON."""
    return preferred(request, (JSON, EVENT_STREAM)) == EVENT_STREAM


class _Queued:
    """Progress kept for the stream: ``opened`` once the models are about to be asked, then the chunks in a queue."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.chunks: asyncio.Queue[ChunkClaims | None] = asyncio.Queue()  # None: the extraction is over

    def started(self, chunks: int) -> None:
        """Let the stream begin: the estimate is held and the models are about to be asked."""
        self.opened.set()

    def answered(self, chunk: ChunkClaims) -> None:
        """Queue a chunk's claims for the stream."""
        self.chunks.put_nowait(chunk)


async def stream_extraction(request: Request, extraction: Extraction) -> EventSourceResponse:
    """Start ``extraction`` and answer with its events once its models are about to be asked (raise before that)."""
    progress = _Queued()
    task = asyncio.ensure_future(_run(extraction, progress))
    opened = asyncio.ensure_future(progress.opened.wait())
    try:
        await asyncio.wait({task, opened}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        opened.cancel()
    if task.done() and not progress.opened.is_set():
        task.result()  # refused before any model was asked: raise it, an ordinary problem+json response
    events = _events(task, progress, request.url.path, request_id_of(request))
    return EventSourceResponse(events, headers=STREAM_HEADERS)


async def _run(extraction: Extraction, progress: _Queued) -> ExtractionResult:
    """Run the extraction, closing the queue however it ends."""
    try:
        return await extraction(progress)
    finally:
        progress.chunks.put_nowait(None)


async def _events(
    task: asyncio.Future[ExtractionResult], progress: _Queued, path: str, request_id: str
) -> AsyncIterator[bytes]:
    """Yield each chunk's event as it comes, a ping in silences, then ``done`` or ``error``; cancel on disconnect."""
    try:
        while (chunk := await _next(progress.chunks)) is not None:
            yield KEEPALIVE_COMMENT if chunk is _Silence.PING else _event("chunk", chunk.model_dump_json())
        yield _final(task, path, request_id)
    finally:
        if not task.done():  # the client went away: stop asking the models (the budget settles as it ends)
            task.cancel()
            await asyncio.wait({task})


async def _next(chunks: asyncio.Queue[ChunkClaims | None]) -> ChunkClaims | _Silence | None:
    """Return the next queued chunk (None at the end), or a ping after ``HEARTBEAT_S`` of silence."""
    try:
        return await asyncio.wait_for(chunks.get(), HEARTBEAT_S)
    except TimeoutError:
        return _Silence.PING


def _final(task: asyncio.Future[ExtractionResult], path: str, request_id: str) -> bytes:
    """Return the ``done`` event with the result, or the ``error`` event with the problem the JSON reply would be."""
    try:
        result = task.result()
    except ExtractionFailed as exc:
        return _event("error", _problem(exc.cause, path, request_id))
    except ClaimServiceError as exc:
        return _event("error", _problem(exc, path, request_id))
    except Exception as exc:
        logger.exception("request %s failed unexpectedly while streaming", request_id, exc_info=exc)
        detail = f"an unexpected error occurred; quote request id {request_id} when reporting it"
        return _event("error", _problem(ClaimServiceError(detail), path, request_id))
    return _event("done", result.model_dump_json())


def _problem(error: ClaimServiceError, path: str, request_id: str) -> str:
    """Return ``error``'s problem document as JSON text."""
    document: dict[str, Any] = error.document(path, request_id)
    return json.dumps(document)


def _event(name: str, data: str) -> bytes:
    """Return one event in the wire format."""
    return format_sse_event(event=name, data_str=data)
