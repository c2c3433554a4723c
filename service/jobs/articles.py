"""The article workers of the jobs runner: take an article from the queue, extract it, record the outcome.

``job_workers`` articles run at once in a process, whatever the number of jobs (concurrency is global); the
queue hands each free worker the next article of the job served least recently, so a small job is not
starved by a large batch. A worker renews its article's lease while it works; when the lease is lost (the
job was cancelled) the extraction is stopped. An article runs through the same pipeline as a synchronous
request, reply cache included, so an article re-run after a crash pays nothing for the chunks answered
before. Each article counts against the quotas of the key that submitted its job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from cachetools import LRUCache
from pydantic import ValidationError

from schemas import ExtractionRequest, ExtractionResult, Usage
from schemas.jobs import ArticleError
from service.errors import (
    ClaimServiceError,
    ExtractionFailed,
    InvalidRequest,
    StoreUnavailable,
    Unauthorized,
    validation_summary,
)
from service.llm.batch_answers import BatchAnswers
from service.llm.client import ChatModels
from service.observability import metrics
from service.observability.extraction_log import log_extraction, log_failed_article
from service.observability.logs import KEY_NAME
from service.pipeline.extraction import Pipeline
from service.pipeline.spending import Budget
from service.settings import ApiKey, Settings
from service.stores.jobs.job_store import ArticleOutcome, WorkAndBatches, WorkItem
from service.stores.limits.key_budget import budget_for
from service.stores.limits.quotas import KeyQuotas

logger = logging.getLogger("claims.jobs")
STORE_RETRY_S = 1.0
JOBS_REMEMBERED = 4096  # jobs whose mode a process remembers


def succeeded(result: ExtractionResult) -> ArticleOutcome:
    """Describe an article that was extracted (its status may be partial)."""
    usage = result.usage
    return ArticleOutcome(
        succeeded=True, result_json=result.model_dump_json(), error=None, claims=len(result.claims),
        model_calls=usage.model_calls, cache_hits=usage.cache_hits, prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens, cost_usd=usage.cost_usd, article_id=result.article_id,
    )  # fmt: skip


def failed(index: int, article_id: str, error: ClaimServiceError, usage: Usage | None) -> ArticleOutcome:
    """Describe an article whose extraction failed, as the problem a synchronous request would have got."""
    problem = ArticleError(
        index=index, article_id=article_id, type=error.problem_type, title=error.title, status=error.status,
        detail=error.detail,
    )  # fmt: skip
    spent = usage or Usage(cost_usd=0.0)
    return ArticleOutcome(
        succeeded=False, result_json=None, error=problem, claims=0, model_calls=spent.model_calls,
        cache_hits=spent.cache_hits, prompt_tokens=spent.prompt_tokens, completion_tokens=spent.completion_tokens,
        cost_usd=spent.cost_usd,
    )  # fmt: skip


async def extract_article(
    pipeline: Pipeline, item: WorkItem, budget: Budget | None = None, client: ChatModels | None = None
) -> ArticleOutcome:
    """Run one article through the pipeline and log it; any failure becomes the article's error, not the worker's.

    With a ``budget`` (its job's key counts a day quota), the article's estimate is reserved on it before any
    model call, and what it used settled after; a refused reservation fails the article with that 429. A
    batch-mode job's article is answered by ``client`` (its batch's answers, else the model in real time).
    """
    started = time.perf_counter()
    try:
        request = stored_request(item)
    except InvalidRequest as refused:
        return failed_and_logged(item, "-", refused, None, started)
    article_id = request.article.id or "-"
    try:
        result = await pipeline.extract(request, budget, client=client)
    except ExtractionFailed as failure:
        return failed_and_logged(item, article_id, failure.cause, failure.usage, started)
    except ClaimServiceError as error:
        return failed_and_logged(item, article_id, error, None, started)
    except Exception:  # a bug of ours must cost one article, not the worker that runs them all
        logger.exception("job %s article %d failed unexpectedly", item.job_id, item.index)
        bug = ClaimServiceError(f"an unexpected error occurred; quote job {item.job_id} article {item.index}")
        return failed_and_logged(item, article_id, bug, None, started)
    log_extraction(result, time.perf_counter() - started, job=(item.job_id, item.index))
    return succeeded(result)


def failed_and_logged(
    item: WorkItem, article_id: str, error: ClaimServiceError, usage: Usage | None, started: float
) -> ArticleOutcome:
    """Describe a failed article of a job, and log it as the extraction log's line for a failure."""
    elapsed = time.perf_counter() - started
    log_failed_article((item.job_id, item.index), article_id, error.problem_type, error.status, elapsed)
    return failed(item.index, article_id, error, usage)


async def refused_article(item: WorkItem, refusal: ClaimServiceError) -> ArticleOutcome:
    """Describe an article not run because the key that submitted its job is no longer one to run for."""
    try:
        article_id = stored_request(item).article.id or "-"
    except InvalidRequest:
        article_id = "-"
    return failed_and_logged(item, article_id, refusal, None, time.perf_counter())


def stored_request(item: WorkItem) -> ExtractionRequest:
    """Read an article's stored request; one the contract now refuses (queued before a rule) is an InvalidRequest."""
    try:
        return ExtractionRequest.model_validate_json(item.request_json)
    except ValidationError as exc:  # e.g. an article.url other than http(s), accepted before it was refused
        summary = validation_summary(exc.errors(), root="request")
        raise InvalidRequest(f"the request stored for this article is no longer valid: {summary}") from exc


class ArticleWorkers:
    """What each of a process's article workers does, one article at a time."""

    def __init__(
        self,
        pipeline: Pipeline,
        queue: WorkAndBatches,
        settings: Settings,
        quotas: KeyQuotas,
        *,
        owner: str,
        idle: Callable[[], Awaitable[None]],
        wake: Callable[[], None],
    ) -> None:
        self._pipeline = pipeline
        self._queue = queue
        self._settings = settings
        self._quotas = quotas
        self._keys = {key.name: key for key in settings.api_keys}
        self._owner = owner
        self._idle = idle
        self._wake = wake
        self._batched: LRUCache[str, bool] = LRUCache(maxsize=JOBS_REMEMBERED)  # job id -> in batch mode

    async def step(self) -> None:
        """Take one article and run it; with none waiting, wait a moment."""
        item = await self._queue.claim(self._owner)
        if item is None:
            if not self._queue.claim_waits:
                await self._idle()
            return
        await self._run(item)

    async def _run(self, item: WorkItem) -> None:
        """Run one article with its log lines naming the key that submitted its job (and only its lines)."""
        named = KEY_NAME.set(item.key_name)
        try:
            await self._run_article(item)
        finally:
            KEY_NAME.reset(named)

    async def _run_article(self, item: WorkItem) -> None:
        """Extract one article while renewing its lease; record the outcome unless the lease was lost.

        The article counts against the quotas of the key that submitted its job: it reserves its estimate
        of that key's day before any model call (refused: it fails with that problem instead of running) and
        settles what it used after, even when its lease is lost or the runner stops meanwhile.
        """
        key, refusal = self._admit(item)
        budget = budget_for(self._quotas, key, patient=True)  # waits while the day is only held
        client = await self._client_for(item)
        extraction = asyncio.create_task(
            extract_article(self._pipeline, item, budget, client) if refusal is None else refused_article(item, refusal)
        )
        lease_lost = asyncio.Event()
        renewal = asyncio.create_task(self._keep_lease(item, extraction, lease_lost))
        try:
            outcome = await extraction
        except asyncio.CancelledError:
            if lease_lost.is_set():
                return  # the job was cancelled, or another worker has the article: nothing to record
            extraction.cancel()
            raise  # the runner is stopping: stop() hands the article back
        finally:
            renewal.cancel()
        if await self._record(item, outcome):
            metrics.JOB_ARTICLES.labels("succeeded" if outcome.succeeded else "failed").inc()
            self._wake()  # a finished job may have a webhook to send

    async def _client_for(self, item: WorkItem) -> ChatModels | None:
        """Return what answers a batch-mode job's article (its batch, else the model in real time); None otherwise.

        Whether a job is in batch mode never changes, so each job is looked up once in a while, not per article.
        """
        job_id = item.job_id
        batched = self._batched.get(job_id)
        if batched is None:
            batched = self._batched[job_id] = await self._queue.batch_of(job_id) is not None
        if not batched:
            return None
        return BatchAnswers(self._pipeline.client, lambda custom_id: self._queue.batch_answer(job_id, custom_id))

    def _admit(self, item: WorkItem) -> tuple[ApiKey | None, ClaimServiceError | None]:
        """Return the key that submitted the article's job, and why the article may not run (None: it may).

        A key this process does not know (a worker started without the API's ``api_keys``, or a key since
        removed) or one revoked since runs nothing. Its day quotas are the reservation's to check.
        """
        if item.key_name is None:
            return None, None
        key = self._keys.get(item.key_name)
        if key is None or key.revoked:
            why = "was revoked" if key is not None else "is not among this process's api_keys"
            return None, Unauthorized(f"the API key {item.key_name!r} that submitted this job {why}")
        return key, None

    async def _record(self, item: WorkItem, outcome: ArticleOutcome) -> bool:
        """Record an outcome, retrying a store that cannot be reached for up to a lease (the work is paid for)."""
        deadline = time.monotonic() + self._settings.job_lease_s
        while True:
            try:
                return await self._queue.finish(item, outcome)
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise  # the article runs again once its lease runs out, from the cache where it can
                await asyncio.sleep(STORE_RETRY_S)

    async def _keep_lease(self, item: WorkItem, extraction: asyncio.Task[ArticleOutcome], lost: asyncio.Event) -> None:
        """Renew the lease every third of it; stop the extraction as soon as the lease is lost."""
        while True:
            await asyncio.sleep(self._settings.job_lease_s / 3)
            try:
                still_ours = await self._queue.renew(item)
            except StoreUnavailable:
                continue  # keep working: the outcome is recorded if the store is back in time
            if not still_ours:
                lost.set()
                extraction.cancel()
                return
