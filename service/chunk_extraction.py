"""One chunk's extraction: render its prompt, answer from the cache or the model chain, ground the claims.

The model chain is the requested alias followed by its configured fallbacks: a model that fails after its
transport retries and repair re-asks hands the chunk to the next one. A reply cut off at the token limit,
or a chunk too long for the model's window, is never truncated silently: the chunk is halved and each half
asked again. A chunk that no model could answer becomes a chunk error; it never takes the other chunks
down with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas import Notice
from service.cache import CachedReply, ReplyCache, cache_key
from service.chunking import Chunk, split_chunk
from service.errors import ClaimServiceError, ContextTooLong, InvalidModelOutput, ReplyCutOff, UpstreamError
from service.grounding import GroundedClaim, ground_claims
from service.llm import ModelAnswer, ModelClient
from service.prompts import ContextLine, PromptSentence, PromptVersion, render_prompt
from service.repair import CallTally, ValidReply, ask_with_repair
from service.replies import parse_model_reply
from service.secrets import public_params
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
    cached_answers: int = 0
    fallbacks: int = 0

    @property
    def cache_hit(self) -> bool:
        """Say whether the cache answered the whole chunk, with no model call."""
        return self.cached_answers > 0 and self.tally.model_calls == 0

    def warn(self, code: str, detail: str) -> None:
        """Record a warning about this chunk."""
        self.warnings.append(Notice(chunk=self.chunk, code=code, detail=detail))


class _NeedsSplit(Exception):
    """The chunk is too big for the model's reply or window; carries the error to report if it cannot split."""

    def __init__(self, error: ClaimServiceError) -> None:
        super().__init__(error.detail)
        self.error = error


def chunk_messages(job: ChunkJob, chunk: Chunk) -> list[dict[str, str]]:
    """Render the prompt for a chunk, with chunk-local sentence ids."""
    sentences = [
        PromptSentence(id=local_id, text=s.text, speaker=s.speaker) for local_id, s in enumerate(chunk.sentences, 1)
    ]
    context = [ContextLine(text=s.text, speaker=s.speaker) for s in chunk.context]
    return render_prompt(job.prompt, sentences=sentences, context=context, title=job.title)


def _key_for(job: ChunkJob, client: ModelClient, entry: ModelEntry, messages: list[dict[str, str]]) -> str:
    """Return the cache key of asking ``entry`` these messages."""
    return cache_key(
        model_params=public_params(entry),
        messages=messages,
        response_mode=client.mode_for(entry),
        prompt_sha256=job.prompt.sha256,
    )


def _from_cache(cache: ReplyCache, key: str) -> ValidReply | None:
    """Return a cached reply as if the model had just given it, or None on a miss."""
    stored = cache.get(key)
    if stored is None:
        return None
    answer = ModelAnswer(stored.content, "stop", stored.model, 0, 0, 0.0, 0)
    return ValidReply(reply=parse_model_reply(stored.content), answer=answer)


def _store(cache: ReplyCache, key: str, valid: ValidReply) -> None:
    """Cache a reply that validated."""
    answer = valid.answer
    cache.set(
        key, CachedReply(valid.reply.model_dump_json(), answer.model, answer.prompt_tokens, answer.completion_tokens)
    )


def _note_success(outcome: ChunkOutcome, entry: ModelEntry, answer: ModelAnswer) -> None:
    """Warn about what the caller should know of a successful answer."""
    if answer.stepped_down_from is not None:
        outcome.warn(
            "structured_output_stepped_down",
            f"model {entry.model_name!r} refused structured_output {answer.stepped_down_from}; "
            f"used {answer.structured_output} (set it in the config to skip the probe)",
        )


async def _ask_model(
    job: ChunkJob, client: ModelClient, entry: ModelEntry, messages: list[dict[str, str]], outcome: ChunkOutcome
) -> ValidReply | None:
    """Ask one model of the chain; None (with the error on ``outcome``) when it fails for good."""
    try:
        valid = await ask_with_repair(client, entry, job.prompt, messages, job.repair_attempts, outcome.tally)
    except (ReplyCutOff, ContextTooLong) as exc:
        raise _NeedsSplit(exc) from exc
    except (UpstreamError, InvalidModelOutput) as exc:
        if isinstance(exc, UpstreamError):
            outcome.tally.retries += exc.retries  # retries of a call that failed in the end
        outcome.error = exc
        return None
    _note_success(outcome, entry, valid.answer)
    return valid


async def _answer(
    job: ChunkJob, client: ModelClient, cache: ReplyCache, messages: list[dict[str, str]], outcome: ChunkOutcome
) -> ValidReply | None:
    """Answer from the cache or the first model of the chain that succeeds."""
    for position, entry in enumerate(job.models):
        key = _key_for(job, client, entry, messages)
        cached = _from_cache(cache, key) if job.use_cache else None
        if cached is not None:
            outcome.cached_answers += 1
            return cached
        valid = await _ask_model(job, client, entry, messages, outcome)
        if valid is not None:
            outcome.error = None
            if job.use_cache:
                _store(cache, key, valid)
            return valid
        remaining = job.models[position + 1 :]
        if remaining and outcome.error is not None:
            outcome.fallbacks += 1
            outcome.warn("fallback_used", f"{outcome.error.detail}; trying {remaining[0].model_name!r}")
    return None


async def _extract_into(
    job: ChunkJob, chunk: Chunk, client: ModelClient, cache: ReplyCache, outcome: ChunkOutcome
) -> None:
    """Extract and ground a chunk's claims into ``outcome``, halving the chunk when it is too big."""
    try:
        valid = await _answer(job, client, cache, chunk_messages(job, chunk), outcome)
    except _NeedsSplit as too_big:
        if len(chunk.sentences) < 2:
            outcome.error = too_big.error
            return
        outcome.warn("chunk_split", f"{too_big.error.detail}; asking again in two halves")
        await asyncio.gather(*(_extract_into(job, half, client, cache, outcome) for half in split_chunk(chunk)))
        return
    if valid is not None:
        claims, warnings = ground_claims(valid.reply.claims, chunk, job.normalized, job.original)
        outcome.claims.extend(claims)
        outcome.warnings.extend(warnings)


async def extract_chunk(job: ChunkJob, chunk: Chunk, client: ModelClient, cache: ReplyCache) -> ChunkOutcome:
    """Extract and ground the claims of one chunk."""
    outcome = ChunkOutcome(chunk=chunk.index)
    await _extract_into(job, chunk, client, cache, outcome)
    return outcome
