"""One chunk's answer: render its prompt, answer from the cache or the model chain, ground the claims.

The model chain is the requested alias followed by its configured fallbacks: a model that fails after its
transport retries and repair re-asks hands the chunk to the next one. A reply cut off at the token limit,
or a chunk too long for the model's window, is never truncated silently: the chunk is halved and each half
asked again, and the cache remembers that the whole was too big, so a re-POST goes straight to the halves.
A single sentence too big for a model goes on down the chain like any other failure. Each half keeps its
own claims and its own error: a part that no model could answer becomes a chunk error naming its sentences,
and never takes the other parts, or the other chunks, down with it.

Asking the chain returns one tagged outcome: ``Answered`` (by a model or the cache), ``TooBig`` (halve it)
or ``Failed`` (the last model's error). A cache hit never writes to the cache. What grounding and the
faithfulness gate made of a reply is remembered (``service.pipeline.checked``): a hit whose check is
remembered is neither parsed nor checked again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from schemas import ModelClaim, Notice
from service.errors import ClaimServiceError, ContextTooLong, InvalidModelOutput, ReplyCutOff, UpstreamError
from service.llm.client import ChatModels
from service.llm.secrets import public_params
from service.observability import metrics, tracing
from service.pipeline.checked import CHECKED, Checked, checked_key
from service.pipeline.repair import CallTally, ValidReply, ask_with_repair
from service.pipeline.replies import parse_model_reply
from service.prompts.rendering import ContextLine, PromptSentence, render_prompt
from service.prompts.spec import PromptVersion
from service.settings import ModelEntry, StructuredOutput
from service.steps.chunking import Chunk, split_chunk
from service.steps.cpu import CHARS_A_CLAIM, off_the_loop
from service.steps.faithfulness import FaithfulnessMode, check_faithfulness, chunk_support
from service.steps.grounding import GroundedClaim, Producer, ground_claims
from service.steps.text import NormalizedText
from service.stores.cache.reply_cache import CachedReply, ReplyCache, cache_key

REMEMBERED = " (remembered from an earlier request)"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkJob:
    """What is shared by every chunk of one request."""

    prompt: PromptVersion
    models: Sequence[ModelEntry]
    title: str | None
    normalized: NormalizedText
    original: str
    read_cache: bool  # options.cache; replies are stored either way, so cache: false refreshes an entry
    repair_attempts: int
    faithfulness: FaithfulnessMode
    language: str = "en"  # the article's, which the prompt names
    claim_language: str | None = None  # the claims' text's, when the prompt is asked to translate them
    language_warning: Notice | None = None  # why the article is read in the default language (reported once)
    original_sha256: str = field(init=False)  # of ``original``, which every claim's offsets map back to

    def __post_init__(self) -> None:
        """Hash the original text once for the request (what was checked is remembered per article)."""
        object.__setattr__(self, "original_sha256", hashlib.sha256(self.original.encode("utf-8")).hexdigest())


@dataclass(frozen=True, slots=True)
class Answered:
    """A valid reply for the chunk: asked of ``entry`` now (``asked``), or the cache's memory of asking it.

    ``content`` is the reply's JSON as the cache holds it under ``key``; a remembered reply is parsed only
    when what was checked of it is not remembered as well.
    """

    entry: ModelEntry
    key: str
    content: str
    asked: ValidReply | None = None

    @property
    def from_cache(self) -> bool:
        """Say whether the cache answered (no model was asked now)."""
        return self.asked is None

    @property
    def producer(self) -> Producer:
        """Return the model whose reply this is."""
        return Producer(alias=self.entry.model_name, model=self.entry.model)

    def claims(self) -> list[ModelClaim]:
        """Return the reply's claims, parsing a remembered reply's JSON."""
        return (self.asked.reply if self.asked is not None else parse_model_reply(self.content)).claims


@dataclass(frozen=True, slots=True)
class TooBig:
    """The chunk is too big for a model's reply or window and has two sentences or more to halve."""

    detail: str
    remembered: bool


@dataclass(frozen=True, slots=True)
class Failed:
    """No model of the chain answered; ``error`` is the last one's."""

    error: ClaimServiceError


ChunkAnswer = Answered | TooBig | Failed


@dataclass(frozen=True, slots=True)
class ChunkFailure:
    """A chunk, or the part of one that ``part`` names ("sentences S3–S5: "), that no model could answer."""

    part: str
    error: ClaimServiceError

    def notice(self, chunk: int) -> Notice:
        """Describe the failure as a chunk error of the reply."""
        return Notice(chunk=chunk, code=self.error.slug, detail=f"{self.part}{self.error.detail}")


@dataclass
class ChunkOutcome:
    """What one chunk produced: grounded claims, warnings, the parts no model answered, and the cost."""

    chunk: int
    claims: list[GroundedClaim] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    failures: list[ChunkFailure] = field(default_factory=list)
    answered: int = 0
    tally: CallTally = field(default_factory=CallTally)
    cached_answers: int = 0
    fallbacks: int = 0
    answered_by: Counter[Producer] = field(default_factory=Counter)

    @property
    def failed(self) -> bool:
        """Say whether no part of the chunk was answered (some part failed, none succeeded)."""
        return bool(self.failures) and self.answered == 0

    @property
    def cache_hit(self) -> bool:
        """Say whether the cache answered the whole chunk, with no model call."""
        return self.cached_answers > 0 and self.tally.model_calls == 0

    def warn(self, code: str, detail: str) -> None:
        """Record a warning about this chunk."""
        self.warnings.append(Notice(chunk=self.chunk, code=code, detail=detail))


def chunk_messages(job: ChunkJob, chunk: Chunk) -> list[dict[str, str]]:
    """Render the prompt for a chunk, with chunk-local sentence ids."""
    sentences = [
        PromptSentence(id=local_id, text=s.text, speaker=s.speaker) for local_id, s in enumerate(chunk.sentences, 1)
    ]
    context = [ContextLine(text=s.text, speaker=s.speaker) for s in chunk.context]
    return render_prompt(
        job.prompt,
        sentences=sentences,
        context=context,
        title=job.title,
        language=job.language,
        claim_language=job.claim_language,
    )


def reply_key(job: ChunkJob, entry: ModelEntry, messages: list[dict[str, str]], mode: StructuredOutput) -> str:
    """Return the cache key of asking ``entry`` these messages in structured-output ``mode``."""
    return cache_key(
        model_params=public_params(entry), messages=messages, response_mode=mode, prompt_sha256=job.prompt.sha256
    )


def _remembered(stored: CachedReply, entry: ModelEntry, key: str) -> ChunkAnswer:
    """Return what the cache remembers of asking ``entry``: its valid reply, or that the chunk was too big."""
    if stored.too_big:
        return TooBig(stored.content, remembered=True)
    return Answered(entry, key, stored.content)


async def _ask_entry(
    job: ChunkJob,
    client: ChatModels,
    cache: ReplyCache,
    entry: ModelEntry,
    messages: list[dict[str, str]],
    can_halve: bool,
    tally: CallTally,
) -> ChunkAnswer:
    """Answer with one model of the chain: from the cache, else by asking it (and caching what it says)."""
    key = reply_key(job, entry, messages, client.mode_for(entry))
    stored = await cache.get(key) if job.read_cache else None
    if job.read_cache:
        metrics.CACHE_LOOKUPS.labels("hit" if stored is not None else "miss").inc()
    if stored is not None and (can_halve or not stored.too_big):
        return _remembered(stored, entry, key)
    try:
        valid = await ask_with_repair(client, entry, job.prompt, messages, job.repair_attempts, tally)
    except (ReplyCutOff, ContextTooLong) as exc:
        if not can_halve:  # nothing to halve: this model failed, the next may not
            return Failed(exc)
        await cache.set(key, CachedReply.too_big_marker(exc.detail, entry.model))  # a re-POST goes to the halves
        return TooBig(exc.detail, remembered=False)
    except (UpstreamError, InvalidModelOutput) as exc:
        return Failed(exc)
    answer = valid.answer  # stored under the mode that answered, which a step-down may have changed
    key = reply_key(job, entry, messages, answer.structured_output)
    reply = valid.reply.model_dump_json()
    await cache.set(key, CachedReply.reply(reply, answer.model, answer.prompt_tokens, answer.completion_tokens))
    return Answered(entry, key, reply, asked=valid)


async def _answer(
    job: ChunkJob, client: ChatModels, cache: ReplyCache, chunk: Chunk, outcome: ChunkOutcome
) -> ChunkAnswer:
    """Answer the chunk with the first model of the chain that can; else the last model's failure."""
    messages = chunk_messages(job, chunk)
    can_halve = len(chunk.sentences) >= 2
    answer: ChunkAnswer | None = None
    previous: ModelEntry | None = None
    for entry in job.models:
        if isinstance(answer, Failed) and previous is not None:
            outcome.fallbacks += 1
            outcome.warn("fallback_used", f"{answer.error.detail}; trying {entry.model_name!r}")
            metrics.record_model_event(previous.model_name, previous.model, "fell_back")
        answer = await _ask_entry(job, client, cache, entry, messages, can_halve, outcome.tally)
        previous = entry
        if not isinstance(answer, Failed):
            return answer
    assert answer is not None  # noqa: S101 -- the chain has at least one model
    return answer


def _note_answer(outcome: ChunkOutcome, answered: Answered) -> None:
    """Count an answer and who gave it, and warn about what the caller should know of it."""
    outcome.answered += 1
    outcome.answered_by[answered.producer] += 1
    if answered.asked is None:
        outcome.cached_answers += 1
        return
    answer = answered.asked.answer
    if answer.stepped_down_from is not None:
        outcome.warn(
            "structured_output_stepped_down",
            f"model {answered.entry.model_name!r} refused structured_output {answer.stepped_down_from}; "
            f"used {answer.structured_output} (set it in the config to skip the probe)",
        )


async def _extract_into(
    job: ChunkJob, chunk: Chunk, client: ChatModels, cache: ReplyCache, outcome: ChunkOutcome, part: str = ""
) -> None:
    """Extract and ground a chunk's claims (or a part's, ``part`` naming it) into ``outcome``, halving when too big."""
    answer = await _answer(job, client, cache, chunk, outcome)
    if isinstance(answer, TooBig):
        remembered = REMEMBERED if answer.remembered else ""
        outcome.warn("chunk_split", f"{part}{answer.detail}{remembered}; asking again in two halves")
        halves = split_chunk(chunk)
        await asyncio.gather(*(_extract_into(job, half, client, cache, outcome, _part_name(half)) for half in halves))
    elif isinstance(answer, Failed):
        outcome.failures.append(ChunkFailure(part, answer.error))
    else:
        _note_answer(outcome, answer)
        checked = await _checked(job, chunk, answer)
        outcome.claims.extend(checked.claims)
        outcome.warnings.extend(checked.notices)


async def _checked(job: ChunkJob, chunk: Chunk, answer: Answered) -> Checked:
    """Return what grounding and the faithfulness gate make of the reply: remembered, else checked now."""
    key = checked_key(
        reply_key=answer.key,
        content=answer.content,
        producer=answer.producer,
        chunk=chunk,
        article_sha256=job.original_sha256,
        title=job.title,
        faithfulness=job.faithfulness,
    )
    checked = CHECKED.get(key)
    if checked is None:
        claims = answer.claims()
        check = partial(_check_claims, job, chunk, answer.producer, claims)
        kept, notices = await off_the_loop(check, size=len(claims) * CHARS_A_CLAIM)
        checked = Checked(tuple(kept), tuple(notices), weight=len(answer.content))
        CHECKED.put(key, checked)
    return checked


def _check_claims(
    job: ChunkJob, chunk: Chunk, producer: Producer, claims: Sequence[ModelClaim]
) -> tuple[list[GroundedClaim], list[Notice]]:
    """Ground a reply's claims in the chunk, then keep the faithful ones; a warning for each claim dropped."""
    grounded, dropped = ground_claims(claims, chunk, job.normalized, job.original, producer)
    support = chunk_support(chunk, job.title)
    translated = job.claim_language is not None  # set only when the prompt asks for claims in that language
    faithful, unfaithful = check_faithfulness(grounded, support, job.faithfulness, chunk.index, names=not translated)
    return faithful, [*dropped, *unfaithful]


def _part_name(part: Chunk) -> str:
    """Name a part of a split chunk by its sentences, as a prefix for its notices."""
    first, last = part.sentences[0].id, part.sentences[-1].id
    return f"sentence S{first}: " if first == last else f"sentences S{first}–S{last}: "


async def extract_chunk(
    job: ChunkJob, chunk: Chunk, client: ChatModels, cache: ReplyCache, outcome: ChunkOutcome | None = None
) -> ChunkOutcome:
    """Extract and ground the claims of one chunk into ``outcome`` (new when none is given), counting as it goes."""
    outcome = ChunkOutcome(chunk=chunk.index) if outcome is None else outcome
    with tracing.chunk_span(chunk.index, len(chunk.sentences)) as span:
        await _extract_into(job, chunk, client, cache, outcome)
        for fault in outcome.tally.usage_faults:
            outcome.warn("usage_unknown", fault)
        span.set_attributes({"claims.chunk.claims": len(outcome.claims), "claims.chunk.cached": outcome.cache_hit})
        if outcome.failed:
            tracing.record_error(span, outcome.failures[0].error)
    return outcome
