"""One chunk's extraction: render its prompt, answer from the cache or the model chain, ground the claims.

The model chain is the requested alias followed by its configured fallbacks: a model that fails after its
transport retries and repair re-asks hands the chunk to the next one. A chunk that no model could answer
becomes a chunk error; it never takes the other chunks down with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas import Notice
from service.cache import CachedReply, ReplyCache, cache_key
from service.chunking import Chunk
from service.errors import ClaimServiceError, InvalidModelOutput, UpstreamError
from service.grounding import GroundedClaim, ground_claims
from service.llm import ModelAnswer, ModelClient, choose_structured_output, public_params
from service.prompts import PromptSentence, PromptVersion, render_prompt
from service.repair import CallTally, ValidReply, ask_with_repair
from service.replies import parse_model_reply
from service.settings import ModelEntry
from service.text import NormalizedText


@dataclass(frozen=True, slots=True)
class ChunkJob:
    """What is shared by every chunk of one request."""

    prompt: PromptVersion
    models: Sequence[ModelEntry]
    title: str | None
    normalized: NormalizedText
    original: str
    use_cache: bool
    repair_attempts: int


@dataclass
class ChunkOutcome:
    """What one chunk produced: grounded claims, warnings, or an error, and what it cost."""

    chunk: int
    claims: list[GroundedClaim] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    error: ClaimServiceError | None = None
    tally: CallTally = field(default_factory=CallTally)
    cache_hit: bool = False
    fallbacks: int = 0


def chunk_messages(job: ChunkJob, chunk: Chunk) -> list[dict[str, str]]:
    """Render the prompt for a chunk, with chunk-local sentence ids."""
    sentences = [PromptSentence(id=local_id, text=s.text) for local_id, s in enumerate(chunk.sentences, start=1)]
    return render_prompt(job.prompt, sentences=sentences, context=[s.text for s in chunk.context], title=job.title)


def _key_for(job: ChunkJob, entry: ModelEntry, messages: list[dict[str, str]]) -> str:
    """Return the cache key of asking ``entry`` these messages."""
    return cache_key(
        model_params=public_params(entry),
        messages=messages,
        response_mode=choose_structured_output(entry),
        prompt_sha256=job.prompt.sha256,
    )


def _from_cache(cache: ReplyCache, key: str) -> ValidReply | None:
    """Return a cached reply as if the model had just given it, or None on a miss."""
    stored = cache.get(key)
    if stored is None:
        return None
    answer = ModelAnswer(stored.content, "stop", stored.model, 0, 0, 0.0, 0)
    return ValidReply(reply=parse_model_reply(stored.content), answer=answer)


async def _answer(
    job: ChunkJob, client: ModelClient, cache: ReplyCache, messages: list[dict[str, str]], outcome: ChunkOutcome
) -> ValidReply | None:
    """Answer from the cache or the first model of the chain that succeeds; record errors on ``outcome``."""
    for position, entry in enumerate(job.models):
        key = _key_for(job, entry, messages)
        cached = _from_cache(cache, key) if job.use_cache else None
        if cached is not None:
            outcome.cache_hit = True
            return cached
        try:
            valid = await ask_with_repair(client, entry, job.prompt, messages, job.repair_attempts, outcome.tally)
        except (UpstreamError, InvalidModelOutput) as exc:
            if isinstance(exc, UpstreamError):
                outcome.tally.retries += exc.retries  # retries of a call that failed in the end
            outcome.error = exc
            _note_fallback(outcome, exc, job.models[position + 1 :])
            continue
        outcome.error = None
        if job.use_cache:
            answer = valid.answer
            cache.set(
                key,
                CachedReply(
                    valid.reply.model_dump_json(), answer.model, answer.prompt_tokens, answer.completion_tokens
                ),
            )
        return valid
    return None


def _note_fallback(outcome: ChunkOutcome, exc: ClaimServiceError, remaining: Sequence[ModelEntry]) -> None:
    """Warn that a model failed and the chunk moves on to the next in the chain, if there is one."""
    if remaining:
        outcome.fallbacks += 1
        outcome.warnings.append(
            Notice(
                chunk=outcome.chunk, code="fallback_used", detail=f"{exc.detail}; trying {remaining[0].model_name!r}"
            )
        )


async def extract_chunk(job: ChunkJob, chunk: Chunk, client: ModelClient, cache: ReplyCache) -> ChunkOutcome:
    """Extract and ground the claims of one chunk."""
    outcome = ChunkOutcome(chunk=chunk.index)
    valid = await _answer(job, client, cache, chunk_messages(job, chunk), outcome)
    if valid is not None:
        outcome.claims, warnings = ground_claims(valid.reply.claims, chunk, job.normalized, job.original)
        outcome.warnings.extend(warnings)
    return outcome
