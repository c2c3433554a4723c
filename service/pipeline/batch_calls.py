"""The chunk calls a batch-mode article would make, as lines of a provider batch's input.

Each article is read and chunked exactly as ``Pipeline.extract`` reads it, and each chunk's prompt is
rendered the same way, so the line's ``custom_id`` is the one the article worker asks for later. A chunk
the reply cache already answers is left out (it would be answered from the cache anyway); so is an article
the pipeline refuses (its worker fails it as it would any other).
"""

from __future__ import annotations

from typing import Any

from schemas import ExtractionRequest
from service.errors import ClaimServiceError
from service.llm.batch_api import batch_line
from service.pipeline.chunk_answer import chunk_messages, reply_key
from service.pipeline.extraction import Pipeline


async def article_calls(pipeline: Pipeline, request: ExtractionRequest) -> list[dict[str, Any]]:
    """Return the batch input lines of one article's uncached chunk calls to its first model."""
    try:
        _, _, job, _, chunks = await pipeline.chunked(request)
    except ClaimServiceError:
        return []
    entry = job.models[0]
    mode = pipeline.client.mode_for(entry)
    lines = []
    for chunk in chunks:
        messages = chunk_messages(job, chunk)
        if job.read_cache and await pipeline.cache.get(reply_key(job, entry, messages, mode)) is not None:
            continue
        lines.append(batch_line(entry, mode, messages, dict(job.prompt.spec.params)))
    return lines


async def job_calls(pipeline: Pipeline, requests_json: list[str]) -> list[dict[str, Any]]:
    """Return a job's batch input lines, one per distinct uncached chunk call (a repeated call is sent once)."""
    lines: dict[str, dict[str, Any]] = {}
    for request_json in requests_json:
        try:
            request = ExtractionRequest.model_validate_json(request_json)
        except ValueError:
            continue  # the article worker fails it with the reason
        for line in await article_calls(pipeline, request):
            lines.setdefault(line["custom_id"], line)
    return list(lines.values())
