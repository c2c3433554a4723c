"""One chunk's extraction: render its prompt, answer from the cache or the model chain, ground the claims.

The model chain is the requested alias followed by its configured fallbacks: a model that fails after its
transport retries and repair re-asks hands the chunk to the next one. A reply cut off at the token limit,
or a chunk too long for the model's window, is never truncated silently: the chunk is halved and each half
asked again, and the cache remembers that the whole was too big, so a re-POST goes straight to the halves.
A single sentence too big for a model goes on down the chain like any other failure. Each half keeps its
own claims and its own error: a part that no model could answer becomes a chunk error naming its sentences,
and never takes the other parts, or the other chunks, down with it.
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
from service.settings import ModelEntry, StructuredOutput
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
    """What one chunk produced: grounded claims, warnings, errors of the parts no model answered, and the cost."""

    chunk: int
    claims: list[GroundedClaim] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    errors: list[ClaimServiceError] = field(default_factory=list)
    answered: int = 0
    tally: CallTally = field(default_factory=CallTally)
    cached_answers: int = 0
    fallbacks: int = 0

    @property
    def failed(self) -> bool:
        """Say whether no part of the chunk was answered (some part failed, none succeeded)."""
        return bool(self.errors) and self.answered == 0

    @property
    def cache_hit(self) -> bool:
        """Say whether the cache answered the whole chunk, with no model call."""
        return self.cached_answers > 0 and self.tally.model_calls == 0

    def warn(self, code: str, detail: str) -> None:
        """Record a warning about this chunk."""
        self.warnings.append(Notice(chunk=self.chunk, code=code, detail=detail))


class _NeedsSplit(Exception):
    """The chunk is too big for the model's reply or window: ``detail`` says how, ``error`` is the model's."""

    def __init__(self, detail: str, error: ClaimServiceError | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error = error


def chunk_messages(job: ChunkJob, chunk: Chunk) -> list[dict[str, str]]:
    """Render the prompt for a chunk, with chunk-local sentence ids."""
    sentences = [
        PromptSentence(id=local_id, text=s.text, speaker=s.speaker) for local_id, s in enumerate(chunk.sentences, 1)
    ]
    context = [ContextLine(text=s.text, speaker=s.speaker) for s in chunk.context]
    return render_prompt(job.prompt, sentences=sentences, context=context, title=job.title)


def _key_for(job: ChunkJob, entry: ModelEntry, messages: list[dict[str, str]], mode: StructuredOutput) -> str:
    """Return the cache key of asking ``entry`` these messages in structured-output ``mode``."""
    return cache_key(
        model_params=public_params(entry), messages=messages, response_mode=mode, prompt_sha256=job.prompt.sha256
    )


def _from_cache(cache: ReplyCache, key: str) -> ValidReply | None:
    """Return a cached reply as if the model had just given it, or None on a miss; raise when it was too big."""
    stored = cache.get(key)
    if stored is None:
        return None
    if stored.too_big:
        raise _NeedsSplit(f"{stored.content} (remembered from an earlier request)")
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
    job: ChunkJob, client: ModelClient, entry: ModelEntry, messages: list[dict[str, str]], tally: CallTally
) -> ValidReply:
    """Ask one model of the chain; raise ``_NeedsSplit`` when the chunk is too big for it."""
    try:
        return await ask_with_repair(client, entry, job.prompt, messages, job.repair_attempts, tally)
    except (ReplyCutOff, ContextTooLong) as exc:
        raise _NeedsSplit(exc.detail, exc) from exc
    except UpstreamError as exc:
        tally.retries += exc.retries  # retries of a call that failed in the end
        raise


async def _answer(
    job: ChunkJob, client: ModelClient, cache: ReplyCache, chunk: Chunk, outcome: ChunkOutcome
) -> ValidReply | ClaimServiceError:
    """Answer from the cache or the first model of the chain that succeeds; else the last model's error.

    Raises ``_NeedsSplit`` when a model finds the chunk too big and it has two sentences or more to halve.
    """
    messages = chunk_messages(job, chunk)
    error: ClaimServiceError | None = None
    for entry in job.models:
        if error is not None:
            outcome.fallbacks += 1
            outcome.warn("fallback_used", f"{error.detail}; trying {entry.model_name!r}")
        key = _key_for(job, entry, messages, client.mode_for(entry))
        try:
            cached = _from_cache(cache, key) if job.use_cache else None
            if cached is not None:
                outcome.cached_answers += 1
                return cached
            valid = await _ask_model(job, client, entry, messages, outcome.tally)
        except _NeedsSplit as too_big:
            error = _split_or_fail(too_big, job, cache, key, chunk, entry)
            continue
        except (UpstreamError, InvalidModelOutput) as exc:
            error = exc
            continue
        _note_success(outcome, entry, valid.answer)
        if job.use_cache:  # under the mode that answered, which a step-down may have changed
            _store(cache, _key_for(job, entry, messages, valid.answer.structured_output), valid)
        return valid
    assert error is not None  # noqa: S101 -- the chain has at least one model
    return error


def _split_or_fail(
    too_big: _NeedsSplit, job: ChunkJob, cache: ReplyCache, key: str, chunk: Chunk, entry: ModelEntry
) -> ClaimServiceError:
    """Remember and re-raise ``too_big`` when the chunk can be halved; else return it as this model's failure."""
    if len(chunk.sentences) < 2:  # nothing to halve: this model failed, the next may not
        return too_big.error or ReplyCutOff(too_big.detail, model_alias=entry.model_name, attempts=1, last_output="")
    if job.use_cache:  # so that the next request goes straight to the halves
        cache.set(key, CachedReply(too_big.detail, entry.model, 0, 0, too_big=True))
    raise too_big


async def _extract_into(
    job: ChunkJob, chunk: Chunk, client: ModelClient, cache: ReplyCache, outcome: ChunkOutcome, part: str = ""
) -> None:
    """Extract and ground a chunk's claims (or a part's, ``part`` naming it) into ``outcome``, halving when too big."""
    try:
        answer = await _answer(job, client, cache, chunk, outcome)
    except _NeedsSplit as too_big:
        outcome.warn("chunk_split", f"{part}{too_big.detail}; asking again in two halves")
        await asyncio.gather(
            *(_extract_into(job, half, client, cache, outcome, _part_name(half)) for half in split_chunk(chunk))
        )
        return
    if isinstance(answer, ClaimServiceError):
        if part:
            answer.detail = f"{part}{answer.detail}"
        outcome.errors.append(answer)
        return
    outcome.answered += 1
    claims, warnings = ground_claims(answer.reply.claims, chunk, job.normalized, job.original)
    outcome.claims.extend(claims)
    outcome.warnings.extend(warnings)


def _part_name(part: Chunk) -> str:
    """Name a part of a split chunk by its sentences, as a prefix for its notices."""
    first, last = part.sentences[0].id, part.sentences[-1].id
    return f"sentence S{first}: " if first == last else f"sentences S{first}–S{last}: "


async def extract_chunk(job: ChunkJob, chunk: Chunk, client: ModelClient, cache: ReplyCache) -> ChunkOutcome:
    """Extract and ground the claims of one chunk."""
    outcome = ChunkOutcome(chunk=chunk.index)
    await _extract_into(job, chunk, client, cache, outcome)
    return outcome
