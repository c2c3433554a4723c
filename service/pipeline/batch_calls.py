"""The chunk calls a batch-mode article would make, as lines of a provider batch's input.

Each article is read and chunked exactly as ``Pipeline.extract`` reads it, and each chunk's prompt is
rendered the same way, so the line's ``custom_id`` is the one the article worker asks for later. A chunk
the reply cache already answers is left out (it would be answered from the cache anyway); so is an article
the pipeline refuses (its worker fails it as it would any other).

A follow-up batch (the ``n``-th) holds the re-asks the repair loop would make: each chunk's conversation is
replayed against the answers the earlier batches brought (``AnswerLookup``), turn by turn with the loop's own
``reask``, and a chunk whose ``n``-th answer is due (its answer ``n - 1`` not in the reply schema, a repair
still in its budget) sends that re-ask. Nothing but the job's requests and the stored answers is needed, so
a step redone after a crash builds the same batch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from schemas import ExtractionRequest
from service.errors import ClaimServiceError
from service.llm.batch_answers import AnswerLookup, answer_from_body
from service.llm.batch_api import batch_line, custom_id_for
from service.pipeline.chunk_answer import ChunkJob, chunk_messages, reply_key
from service.pipeline.extraction import Pipeline
from service.pipeline.repair import reask, rejection
from service.settings import ModelEntry, StructuredOutput


async def _reasked(
    job: ChunkJob,
    entry: ModelEntry,
    mode: StructuredOutput,
    messages: list[dict[str, str]],
    follow_up: int,
    lookup: AnswerLookup,
) -> list[dict[str, str]] | None:
    """Return the re-ask a chunk sends in the ``follow_up``-th follow-up batch, or None when it sends none."""
    conversation = messages
    for repairs_done in range(follow_up):
        stored = await lookup(custom_id_for(entry.model_name, mode, conversation))
        answer = None if stored is None else answer_from_body(entry, mode, json.loads(stored))
        if answer is None:  # unanswered: asked in real time by its worker, never re-sent
            return None
        next_turn = reask(job.prompt, conversation, answer, job.repair_attempts - repairs_done)
        if next_turn is None:
            return None
        conversation = next_turn
    return conversation


async def article_calls(
    pipeline: Pipeline, request: ExtractionRequest, follow_up: int = 0, lookup: AnswerLookup | None = None
) -> list[dict[str, Any]]:
    """Return the batch input lines of one article's uncached chunk calls to its first model.

    ``follow_up`` 0 is the first batch (every chunk's first ask); ``n`` the ``n``-th follow-up batch, whose
    re-asks are found by replaying the earlier batches' answers through ``lookup``.
    """
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
        if follow_up > 0:
            assert lookup is not None  # noqa: S101 -- a follow-up batch is built from the answers before it
            reasked = await _reasked(job, entry, mode, messages, follow_up, lookup)
            if reasked is None:
                continue
            messages = reasked
        lines.append(batch_line(entry, mode, messages, dict(job.prompt.spec.params)))
    return lines


async def job_calls(
    pipeline: Pipeline, requests_json: list[str], follow_up: int = 0, lookup: AnswerLookup | None = None
) -> list[dict[str, Any]]:
    """Return a job's batch input lines, one per distinct call (a repeated call is sent once)."""
    lines: dict[str, dict[str, Any]] = {}
    for request_json in requests_json:
        try:
            request = ExtractionRequest.model_validate_json(request_json)
        except ValueError:
            continue  # the article worker fails it with the reason
        for line in await article_calls(pipeline, request, follow_up, lookup):
            lines.setdefault(line["custom_id"], line)
    return list(lines.values())


def needs_reask(entry: ModelEntry, mode: StructuredOutput, answers: Mapping[str, str]) -> bool:
    """Say whether any of a batch's answers is not in the reply schema (a follow-up batch may re-ask it).

    CPU work (every answer is parsed): run it off the event loop for a large batch.
    """
    for stored in answers.values():
        answer = answer_from_body(entry, mode, json.loads(stored))
        if answer is not None and answer.finish_reason != "length" and rejection(answer.content) is not None:
            return True
    return False
