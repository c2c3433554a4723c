"""The jobs runner: workers that take articles from the queue and extract them, webhooks sent, results purged.

``job_workers`` articles run at once in this process, whatever the number of jobs (concurrency is global);
the queue hands each free worker the next article of the job served least recently, so a small job is not
starved by a large batch. A worker renews its article's lease while it works; when the lease is lost (the
job was cancelled) the extraction is stopped. An article runs through the same pipeline as a synchronous
request, reply cache included, so an article re-run after a crash pays nothing for the chunks answered
before. On shutdown the articles still running are handed back for another worker (or the next start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from schemas import ExtractionRequest, ExtractionResult, Usage
from schemas.jobs import ArticleError
from service.errors import ClaimServiceError, ExtractionFailed, StoreUnavailable, Unauthorized
from service.jobs import webhooks
from service.observability import metrics
from service.observability.extraction_log import log_extraction, log_failed_article
from service.observability.logs import KEY_NAME
from service.pipeline.extraction import Pipeline
from service.pipeline.spending import Budget
from service.settings import ApiKey, Settings
from service.stores.jobs.job_store import ArticleOutcome, JobStore, WorkItem, WorkQueue
from service.stores.limits.key_budget import budget_for
from service.stores.limits.quotas import KeyQuotas

logger = logging.getLogger("claims.jobs")
IDLE_POLL_S = 0.5  # the poll interval right after work was queued here
IDLE_POLL_MAX_S = 4.0  # and after a long quiet: an idle service polls its store a few times a minute, not 10 a second


def idle_poll_s(quiet_s: float) -> float:
    """Return how long an idle loop waits between polls, ``quiet_s`` after work was last queued in this process.

    Work queued here wakes the loops at once; polling finds what only time brings (another process's work, a
    lease run out, a webhook retry due), so it may slow down while nothing happens.
    """
    return min(IDLE_POLL_MAX_S, max(IDLE_POLL_S, quiet_s / 4))


PURGE_EVERY_S = 3600.0
DELIVERIES_AT_ONCE = 8
STORE_RETRY_S = 1.0
LEASE_MARGIN_S = 5.0


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


async def extract_article(pipeline: Pipeline, item: WorkItem, budget: Budget | None = None) -> ArticleOutcome:
    """Run one article through the pipeline and log it; any failure becomes the article's error, not the worker's.

    With a ``budget`` (its job's key counts a day quota), the article's estimate is reserved on it before any
    model call, and what it used settled after; a refused reservation fails the article with that 429.
    """
    request = ExtractionRequest.model_validate_json(item.request_json)
    article_id = request.article.id or "-"
    started = time.perf_counter()
    try:
        result = await pipeline.extract(request, budget)
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
    request = ExtractionRequest.model_validate_json(item.request_json)
    return failed_and_logged(item, request.article.id or "-", refusal, None, time.perf_counter())


class JobRunner:
    """This process's workers, webhook sender, recovery and purger, started and stopped with the app."""

    def __init__(
        self, pipeline: Pipeline, store: JobStore, queue: WorkQueue, settings: Settings, quotas: KeyQuotas | None = None
    ) -> None:
        self._pipeline = pipeline
        self._store = store
        self._queue = queue
        self._settings = settings
        self._quotas = quotas or KeyQuotas()
        self._keys = {key.name: key for key in settings.api_keys}
        self.owner = f"worker_{secrets.token_hex(6)}"
        self._wake = asyncio.Event()
        self._woken_at = time.monotonic()
        self._stopping = False
        self._workers: list[asyncio.Task[None]] = []
        self._helpers: list[asyncio.Task[None]] = []
        self._troubled: set[str] = set()

    def start(self) -> None:
        """Start ``job_workers`` workers (none: an API-only process), the webhook sender, recovery and the purger."""
        self._workers = [
            asyncio.create_task(self._forever("work", self._work_once), name=f"claims-worker-{n}")
            for n in range(self._settings.job_workers)
        ]
        helpers = {"deliver": self._deliver_once, "recover": self._recover_once, "purge": self._purge_once}
        self._helpers = [
            asyncio.create_task(self._forever(name, step), name=f"claims-{name}") for name, step in helpers.items()
        ]

    def wake(self) -> None:
        """Tell this process's idle loops that work was queued (other processes find it within a poll)."""
        self._wake.set()
        self._wake = asyncio.Event()  # every loop waiting on the old one wakes; later waits start afresh
        self._woken_at = time.monotonic()

    async def stop(self, grace_s: float = 0.0) -> None:
        """Take no more articles, let running ones finish for up to ``grace_s``, then stop and hand back the rest."""
        self._stopping = True
        self.wake()
        running = [task for task in self._workers if not task.done()]
        if running and grace_s > 0:
            _, unfinished = await asyncio.wait(running, timeout=grace_s)
            if unfinished:
                logger.info("%d article(s) still running after %.0f s; handing them back", len(unfinished), grace_s)
        for task in [*self._workers, *self._helpers]:
            task.cancel()
        for task in [*self._workers, *self._helpers]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            handed_back = await self._queue.release(self.owner)
        except StoreUnavailable as exc:
            logger.warning("could not hand back running articles (%s); they run again once their lease expires", exc)
            return
        if handed_back:
            logger.info("handed back %d running article(s) for another worker", handed_back)

    async def _forever(self, name: str, step: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``step`` until the runner stops; a store outage or a bug pauses the loop, never ends it."""
        while not self._stopping:
            try:
                await step()
            except StoreUnavailable as exc:
                self._trouble(name, "%s", exc.detail)
                await asyncio.sleep(STORE_RETRY_S)
                continue
            except Exception:  # a bug must not silently stop this process's workers or webhooks
                logger.exception("the jobs %s loop failed; it goes on in %.0f s", name, STORE_RETRY_S)
                await asyncio.sleep(STORE_RETRY_S)
                continue
            if name in self._troubled:
                self._troubled.discard(name)
                logger.warning("the jobs %s loop works again", name)

    def _trouble(self, name: str, message: str, *args: object) -> None:
        """Log a loop's trouble once until it works again."""
        if name not in self._troubled:
            self._troubled.add(name)
            logger.warning("the jobs %s loop paused: " + message, name, *args)

    async def _idle(self) -> None:
        """Wait for a wake-up, or a poll interval."""
        with contextlib.suppress(TimeoutError):  # asyncio.timeout: 3.11's wait_for can swallow a cancellation
            async with asyncio.timeout(idle_poll_s(time.monotonic() - self._woken_at)):
                await self._wake.wait()

    async def _work_once(self) -> None:
        """Take one article and run it; with none waiting, wait a moment."""
        item = await self._queue.claim(self.owner)
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
        budget = budget_for(self._quotas, key)
        extraction = asyncio.create_task(
            extract_article(self._pipeline, item, budget) if refusal is None else refused_article(item, refusal)
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
            self.wake()  # a finished job may have a webhook to send

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

    async def _deliver_once(self) -> None:
        """Send the webhooks that are due; with none, wait a moment."""
        lease_s = DELIVERIES_AT_ONCE * self._settings.webhook_timeout_s + LEASE_MARGIN_S  # no second sender meanwhile
        due = await self._queue.due_deliveries(self.owner, DELIVERIES_AT_ONCE, lease_s)
        if not due:
            await self._idle()
            return
        async with httpx.AsyncClient(timeout=self._settings.webhook_timeout_s, follow_redirects=False) as client:
            for delivery in due:
                status, error = await webhooks.send(client, delivery, self._settings)
                ok = status is not None and 200 <= status < 300
                wait = None if ok else webhooks.retry_in(delivery.attempts + 1, self._settings)
                await self._queue.delivered(delivery, status, error, wait)
                outcome = "delivered" if ok else "retrying" if wait is not None else "failed"
                metrics.WEBHOOKS.labels(delivery.event, outcome).inc()

    async def _recover_once(self) -> None:
        """Hand out again what dead workers held (on Redis; embedded, claims do it), every third of a lease."""
        await self._queue.recover()
        await asyncio.sleep(self._settings.job_lease_s / 3)

    async def _purge_once(self) -> None:
        """Delete the jobs whose retention ran out, then wait an hour."""
        purged = await self._store.purge()
        if purged:
            logger.info("purged %d expired job(s)", purged)
        await asyncio.sleep(PURGE_EVERY_S)
