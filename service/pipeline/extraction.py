"""Orchestration, as DESIGN §4 reads: article → normalise → segment → chunk → call → ground → dedupe → result."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from schemas import (
    Article,
    Claim,
    ClaimSource,
    ExtractionOptions,
    ExtractionRequest,
    ExtractionResult,
    ModelProvenance,
    Notice,
    PromptProvenance,
    Provenance,
    Usage,
)
from schemas.extraction import TITLE_CHARS, ReadArticle
from schemas.streaming import ChunkClaims
from service import __version__
from service.errors import ArticleTooLarge, ExtractionFailed, UnknownModelAlias
from service.factchecks.archive import FactCheckArchive
from service.llm.client import ChatModels, ModelClient
from service.observability import metrics
from service.offline import OFFLINE_MODEL
from service.offline.checkworthiness import article_language, is_english, multilingual_checkworthiness
from service.pipeline.checked_before import with_fact_checks
from service.pipeline.chunk_answer import ChunkJob, ChunkOutcome, extract_chunk
from service.pipeline.progress import Progress
from service.pipeline.reads import RememberedReads
from service.pipeline.spending import Budget, estimate_spend, settle_whatever_happens
from service.prompts.languages import language_name, primary
from service.prompts.registry import PromptRegistry
from service.prompts.rendering import uses_claim_language
from service.prompts.spec import PromptVersion
from service.settings import ModelEntry, Settings
from service.steps.chunking import Chunk, chunk_sentences
from service.steps.cpu import CHARS_A_CLAIM, off_the_loop
from service.steps.dedupe import claim_id, dedupe_claims
from service.steps.grounding import GroundedClaim, Producer
from service.steps.html import is_html, read_html
from service.steps.language import DETECTED_CHARS, detect_language
from service.steps.reading import read_sentences
from service.steps.standalone import is_standalone
from service.steps.text import NormalizedText, Sentence, normalize_text
from service.steps.transcript import attribute_to_speakers
from service.stores.cache.reply_cache import ReplyCache

DROPPED = "_claim_dropped"  # the code of every warning that drops a claim: ungrounded_claim_dropped, …
DROP_REASONS = {"claim_outside_chunk_dropped": "citing sentences outside their chunk"}  # else the code's first word
COST_UNKNOWN = (
    "a model that answered has no price (or, for a batch, no batch price) in litellm's bundled cost map, "
    "so cost_usd is null"
)
COST_OF_IMPOSSIBLE_USAGE = "a model reported usage that cannot be true (usage_unknown), so cost_usd is null"
ENGLISH_CHECKWORTHINESS = "checkworthiness_english_model"
ENGLISH_CHECKWORTHINESS_DETAIL = (
    "the article's language is {language}, but the offline model's check-worthiness comes from a model trained "
    "on English; install the multilingual extra (pip install 'claim-extractor[multilingual]'), with "
    "multilingual_checkworthiness left on, to score it in {language}"
)


@dataclass(frozen=True)
class Pipeline:
    """Everything an extraction needs, built once at start-up."""

    settings: Settings
    prompts: PromptRegistry
    cache: ReplyCache
    client: ModelClient
    archive: FactCheckArchive | None = None
    reads: RememberedReads = field(default_factory=RememberedReads)

    async def close(self) -> None:
        """Close the reply cache, the model client's connections and the fact-check archive."""
        await self.cache.close()
        await self.client.close()
        if self.archive is not None:
            await self.archive.close()

    def matches_factchecks(self, request: ExtractionRequest) -> bool:
        """Say whether the request's claims are matched against the archive (its option, else the setting)."""
        asked = request.options.match_factchecks
        return self.archive is not None and (self.settings.match_factchecks if asked is None else asked)

    def model_chain(self, alias: str | None) -> list[ModelEntry]:
        """Return the requested alias (or the default) followed by its fallbacks; 422 when unknown."""
        alias = alias or self.settings.default_model
        names = [alias, *self.settings.fallbacks.get(alias, [])]
        entries = [self.settings.model_entry(name) for name in names]
        if entries[0] is None:
            known = ", ".join(entry.model_name for entry in self.settings.models)
            raise UnknownModelAlias(f"unknown model {alias!r}; configured aliases: {known}")
        return [entry for entry in entries if entry is not None]

    def check(self, request: ExtractionRequest) -> str:
        """Refuse (4xx) what ``extract`` would refuse before calling a model; return the article's id."""
        article = request.article
        limit, what = (
            (self.settings.max_html_chars, "HTML article")
            if is_html(article)
            else (self.settings.max_article_chars, "article")
        )
        if len(article.text) > limit:
            raise ArticleTooLarge(f"{what} has {len(article.text):,} characters; the limit is {limit:,}")
        self.model_chain(request.options.model)
        self.prompts.get(request.options.prompt or self.settings.prompt)
        return article.id or article_fingerprint(article.text)

    async def extract(
        self,
        request: ExtractionRequest,
        budget: Budget | None = None,
        *,
        client: ChatModels | None = None,
        progress: Progress | None = None,
    ) -> ExtractionResult:
        """Extract grounded, de-duplicated claims from an article (an HTML page's main text, for a page).

        Before any model is called, the extraction's estimate is reserved on ``budget`` (which may refuse it);
        when the calls are over, however they ended, what they used is settled on it. ``client`` answers the
        chunk calls in place of the model client (a batch-mode job's answers). ``progress`` hears when the models
        are about to be asked and each chunk's provisional claims as it is answered.
        """
        article, read, job, sentences, chunks = await self.chunked(request)
        models = list(job.models)
        prompt = job.prompt
        as_read = request.model_copy(update={"article": article})  # an HTML page's id: its text's, not its markup's
        report = None if progress is None else partial(_report, progress, as_read, sentences, len(chunks))
        with article_language(job.language):  # the offline model scores check-worthiness by language
            outcomes = await self._ask(job, chunks, budget, client or self.client, progress, report)
        _count(outcomes)
        _raise_if_all_failed(outcomes)
        size = sum(len(outcome.claims) for outcome in outcomes) * CHARS_A_CLAIM
        finish = partial(self._finish, as_read, prompt, models, outcomes, sentences)
        result = await off_the_loop(finish, size=size)
        metrics.EXTRACTIONS.labels(result.status).inc()
        if self.matches_factchecks(request) and self.archive is not None:
            result = await with_fact_checks(result, self.archive, self.settings.factcheck_match_threshold)
        echo = ReadArticle(
            text=read,
            title=article.title,
            url=article.url,
            published_at=article.published_at,
            language=article.language or self.settings.default_language,
            claim_language=job.claim_language,
        )
        asked = _claim_language(request.options.claim_language, article.language)
        notes = [note for note in (job.language_warning, _translation_note(asked, job, prompt)) if note]
        warnings = [*notes, *result.warnings]
        return result.model_copy(update={"article": echo, "warnings": warnings})

    async def chunked(
        self, request: ExtractionRequest
    ) -> tuple[Article, str | None, ChunkJob, list[Sentence], list[Chunk]]:
        """Check the request, read its article and chunk it: the article read, an HTML page's text, the chunks' job."""
        options = request.options
        self.check(request)
        article, read = await self._text_of(request.article)
        article, language_warning = await off_the_loop(partial(self._in_language, article), size=DETECTED_CHARS)
        prompt = self.prompts.get(options.prompt or self.settings.prompt)
        asked = _claim_language(options.claim_language, article.language)
        normalized, sentences, chunks = await off_the_loop(partial(self._read, article), size=len(article.text))
        job = ChunkJob(
            prompt=prompt,
            models=self.model_chain(options.model),
            title=article.title,
            normalized=normalized,
            original=article.text,
            read_cache=options.cache,
            repair_attempts=self.settings.repair_attempts,
            faithfulness=self.settings.faithfulness,
            language=article.language or self.settings.default_language,
            claim_language=asked if asked and uses_claim_language(prompt) else None,
            language_warning=language_warning,
        )
        return article, read, job, sentences, chunks

    async def _ask(
        self,
        job: ChunkJob,
        chunks: list[Chunk],
        budget: Budget | None,
        client: ChatModels,
        progress: Progress | None = None,
        report: Callable[[ChunkOutcome], None] | None = None,
    ) -> list[ChunkOutcome]:
        """Ask for the chunks' claims; with a ``budget``, reserve their estimate first and settle what was used after.

        The settlement happens however the calls end (answered, failed, cancelled), counting the calls that
        answered: the outcomes fill as the chunks go. ``progress`` hears that the models are about to be asked
        once the estimate is held, and ``report`` is given each chunk's outcome as it comes.
        """
        outcomes = [ChunkOutcome(chunk=chunk.index) for chunk in chunks]
        calls = [
            partial(extract_chunk, job, chunk, client, self.cache, outcome)
            for chunk, outcome in zip(chunks, outcomes, strict=True)
        ]
        if budget is not None:
            await budget.reserve(await off_the_loop(partial(estimate_spend, job, chunks), size=len(job.original)))
        if progress is not None:
            progress.started(len(chunks))
        if budget is None:
            return await _bounded_gather(calls, self.settings.max_concurrency, report)
        try:
            return await _bounded_gather(calls, self.settings.max_concurrency, report)
        finally:
            await settle_whatever_happens(budget, _usage(outcomes))

    async def _text_of(self, article: Article) -> tuple[Article, str | None]:
        """Return the article to extract from: itself, or an HTML page's main text (and that text)."""
        if not is_html(article):
            return article, None
        page = await off_the_loop(partial(read_html, article.text), size=len(article.text))
        if len(page.text) > self.settings.max_article_chars:
            raise ArticleTooLarge(
                f"the article read from the HTML has {len(page.text):,} characters; "
                f"the limit is {self.settings.max_article_chars:,}"
            )
        update = {
            "text": page.text, "title": article.title or (page.title or "")[:TITLE_CHARS] or None,
            "published_at": article.published_at or page.published_at, "format": "auto",
        }  # fmt: skip
        return article.model_copy(update=update), page.text

    def _in_language(self, article: Article) -> tuple[Article, Notice | None]:
        """Return the article with its language: as the request named it, else detected (else the default, warned)."""
        if article.language:
            return article, None
        detected = detect_language(article.text, self.settings.default_language)
        return article.model_copy(update={"language": detected.tag}), detected.warning

    def _read(self, article: Article) -> tuple[NormalizedText, list[Sentence], list[Chunk]]:
        """Normalise the article, read its sentences by format and chunk them (CPU only, in time linear in it).

        A text read lately is not read again (``service.pipeline.reads``).
        """
        tokens, context = self.settings.chunk_tokens, self.settings.context_sentences
        key = (article.text, article.format, article.language, tokens, context)
        return self.reads.read(key, partial(_read_article, article, tokens, context))

    def _finish(
        self,
        request: ExtractionRequest,
        prompt: PromptVersion,
        models: list[ModelEntry],
        outcomes: list[ChunkOutcome],
        sentences: list[Sentence],
    ) -> ExtractionResult:
        """Give speakers their claims, de-duplicate across chunks and assemble the reply (CPU only)."""
        grounded = [claim for outcome in outcomes for claim in outcome.claims]
        if any(sentence.speaker for sentence in sentences):
            grounded = attribute_to_speakers(grounded, sentences)
        return self._result(request, prompt, models, outcomes, dedupe_claims(grounded))

    @staticmethod
    def _wanted(options: ExtractionOptions, grounded: list[GroundedClaim]) -> list[GroundedClaim]:
        """Keep the claims the request asks for (``min_checkworthiness``, ``claim_types``)."""
        return [
            claim
            for claim in grounded
            if claim.claim.checkworthiness >= options.min_checkworthiness
            and (options.claim_types is None or claim.claim.type in options.claim_types)
        ]

    def _result(
        self,
        request: ExtractionRequest,
        prompt: PromptVersion,
        models: list[ModelEntry],
        outcomes: list[ChunkOutcome],
        grounded: list[GroundedClaim],
    ) -> ExtractionResult:
        """Assemble the reply from the chunk outcomes and the de-duplicated claims."""
        article_key = request.article.id or article_fingerprint(request.article.text)
        wanted = self._wanted(request.options, grounded)
        errors = [failure.notice(outcome.chunk) for outcome in outcomes for failure in outcome.failures]
        usage = _usage(outcomes)
        warnings = [warning for outcome in outcomes for warning in outcome.warnings]
        if not grounded and (dropped := _all_dropped(warnings)) is not None:
            warnings.append(dropped)
        if (
            english_only := _english_checkworthiness(
                request.article.language or self.settings.default_language, outcomes
            )
        ) is not None:
            warnings.append(english_only)
        if usage.cost_usd is None:
            impossible = any(warning.code == "usage_unknown" for warning in warnings)
            why = COST_OF_IMPOSSIBLE_USAGE if impossible else COST_UNKNOWN
            warnings.append(Notice(code="cost_unknown", detail=why))
        return ExtractionResult(
            article_id=article_key,
            status="partial" if errors else "complete",
            claims=[_to_claim(article_key, claim) for claim in wanted],
            provenance=_provenance(prompt, models, outcomes),
            usage=usage,
            warnings=warnings,
            errors=errors,
        )


def _english_checkworthiness(language: str, outcomes: list[ChunkOutcome]) -> Notice | None:
    """Warn when the offline model scored a non-English article with its English model (no multilingual extra)."""
    if is_english(language) or multilingual_checkworthiness():
        return None
    if not any(producer.model == OFFLINE_MODEL for outcome in outcomes for producer in outcome.answered_by):
        return None
    return Notice(code=ENGLISH_CHECKWORTHINESS, detail=ENGLISH_CHECKWORTHINESS_DETAIL.format(language=language))


def _read_article(
    article: Article, chunk_tokens: int, context_sentences: int
) -> tuple[NormalizedText, list[Sentence], list[Chunk]]:
    """Normalise an article, read its sentences by format and chunk them."""
    normalized = normalize_text(article.text)
    sentences = read_sentences(normalized.text, article)
    return normalized, sentences, chunk_sentences(sentences, chunk_tokens, context_sentences)


def _claim_language(wanted: str | None, language: str | None) -> str | None:
    """Return the language to translate the claims into: the one asked for, unless it is the article's own."""
    if wanted is None or (language and primary(wanted) == primary(language)):
        return None
    return wanted


def _translation_note(asked: str | None, job: ChunkJob, prompt: PromptVersion) -> Notice | None:
    """Say what became of ``claim_language``: ignored by a prompt that cannot translate, or names left unchecked."""
    if asked is None:
        return None
    if job.claim_language is None:
        return Notice(
            code="claim_language_ignored",
            detail=f"{prompt.ref} does not ask for claims in another language, so claim_language {asked!r} was "
            "ignored; use extract_claims@3 or later",
        )
    return Notice(
        code="claims_translated",
        detail=f"claims were asked for in {language_name(job.claim_language)} ({job.claim_language}), their quotes "
        f"in the article's {language_name(job.language)}: their numbers were checked against the article, "
        "their names could not be",
    )


def _all_dropped(warnings: list[Notice]) -> Notice | None:
    """Say, with the reasons counted, that every claim the model returned was dropped; None when it returned none."""
    reasons = Counter(
        DROP_REASONS.get(notice.code, notice.code.removesuffix(DROPPED))
        for notice in warnings
        if notice.code.endswith(DROPPED)
    )
    total = sum(reasons.values())
    if not total:
        return None
    counted = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
    said = (
        f"all {total} claims the model returned were dropped"
        if total > 1
        else "the one claim the model returned was dropped"
    )
    return Notice(code="all_claims_dropped", detail=f"{said}: {counted}")


def article_fingerprint(text: str) -> str:
    """Return the id of an article that came without one: a hash of its text."""
    return "art_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _report(
    progress: Progress, request: ExtractionRequest, sentences: list[Sentence], chunks: int, outcome: ChunkOutcome
) -> None:
    """Tell ``progress`` one chunk's claims as the reply would show them, but before the cross-chunk de-duplication."""
    article_key = request.article.id or article_fingerprint(request.article.text)
    grounded = outcome.claims
    if any(sentence.speaker for sentence in sentences):
        grounded = attribute_to_speakers(grounded, sentences)
    claims = [_to_claim(article_key, claim) for claim in Pipeline._wanted(request.options, grounded)]
    progress.answered(
        ChunkClaims(
            chunk=outcome.chunk,
            chunks=chunks,
            claims=claims,
            warnings=list(outcome.warnings),
            errors=[failure.notice(outcome.chunk) for failure in outcome.failures],
            cached=outcome.cache_hit,
        )
    )


async def _bounded_gather(
    jobs: Iterable[Callable[[], Awaitable[ChunkOutcome]]],
    limit: int,
    report: Callable[[ChunkOutcome], None] | None = None,
) -> list[ChunkOutcome]:
    """Run chunk jobs concurrently, at most ``limit`` at a time, keeping their order; ``report`` each as it ends.

    A job is started only once it passes the gate, so one cancelled while it waits was never begun.
    """
    gate = asyncio.Semaphore(limit)

    async def bounded(job: Callable[[], Awaitable[ChunkOutcome]]) -> ChunkOutcome:
        async with gate:
            outcome = await job()
        if report is not None:
            report(outcome)
        return outcome

    return list(await asyncio.gather(*(bounded(job) for job in jobs)))


def _count(outcomes: list[ChunkOutcome]) -> None:
    """Count the chunks by outcome and, when every chunk failed, the extraction as failed (metrics)."""
    for outcome in outcomes:
        metrics.CHUNKS.labels("failed" if outcome.failed else "cached" if outcome.cache_hit else "answered").inc()
    if all(outcome.failed for outcome in outcomes):
        metrics.EXTRACTIONS.labels("failed").inc()


def _raise_if_all_failed(outcomes: list[ChunkOutcome]) -> None:
    """Raise the first chunk's error with what every chunk spent, when no part of any chunk succeeded (a 5xx)."""
    if outcomes and all(outcome.failed for outcome in outcomes):
        raise ExtractionFailed(outcomes[0].failures[0].error, _usage(outcomes))


def _provenance(prompt: PromptVersion, models: list[ModelEntry], outcomes: list[ChunkOutcome]) -> Provenance:
    """Say what answered: the alias asked for, every model that answered (in chain order, with counts), the prompt."""
    answered: Counter[Producer] = Counter()
    for outcome in outcomes:
        answered.update(outcome.answered_by)
    answering = [
        ModelProvenance(alias=entry.model_name, model=entry.model, chunks=answered[producer], fallback=position > 0)
        for position, entry in enumerate(models)
        if answered[producer := Producer(alias=entry.model_name, model=entry.model)]
    ]
    return Provenance(
        requested_model=models[0].model_name,
        models=answering,
        fallback_used=any(model.fallback for model in answering),
        prompt=PromptProvenance(name=prompt.spec.name, version=prompt.spec.version, sha256=prompt.sha256),
        service_version=__version__,
    )


def _to_claim(article_key: str, grounded: GroundedClaim) -> Claim:
    """Turn a grounded claim into the API's claim."""
    claim = grounded.claim
    return Claim(
        id=claim_id(article_key, grounded),
        text=claim.text,
        type=claim.type,
        claimant=claim.claimant,
        attribution=claim.attribution,
        standalone=is_standalone(claim.text, claim.claimant),
        checkworthiness=claim.checkworthiness,
        source=ClaimSource(
            quote=grounded.quote, start=grounded.start, end=grounded.end, sentence_ids=list(grounded.sentence_ids)
        ),
        chunk=grounded.chunk,
        model_alias=grounded.producer.alias,
        model=grounded.producer.model,
    )


def _usage(outcomes: list[ChunkOutcome]) -> Usage:
    """Sum what the chunks cost; unknown cost anywhere makes the total unknown."""
    costs = [outcome.tally.cost_usd for outcome in outcomes]
    return Usage(
        chunks=len(outcomes),
        model_calls=sum(outcome.tally.model_calls for outcome in outcomes),
        cache_hits=sum(outcome.cache_hit for outcome in outcomes),
        repairs=sum(outcome.tally.repairs for outcome in outcomes),
        retries=sum(outcome.tally.retries for outcome in outcomes),
        fallbacks=sum(outcome.fallbacks for outcome in outcomes),
        prompt_tokens=sum(outcome.tally.prompt_tokens for outcome in outcomes),
        completion_tokens=sum(outcome.tally.completion_tokens for outcome in outcomes),
        cost_usd=None if any(cost is None for cost in costs) else round(sum(c for c in costs if c is not None), 8),
    )
