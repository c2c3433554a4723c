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
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from schemas import ExtractionRequest, ExtractionResult, Usage
from schemas.jobs import ArticleError
from service.errors import ClaimServiceError, ExtractionFailed
from service.jobs import webhooks
from service.pipeline.extraction import Pipeline
from service.settings import Settings
from service.stores.job_store import ArticleOutcome, JobStore, WorkItem, WorkQueue

logger = logging.getLogger("claims.jobs")
IDLE_POLL_S = 0.5
PURGE_EVERY_S = 3600.0
DELIVERIES_AT_ONCE = 8


def succeeded(result: ExtractionResult) -> ArticleOutcome:
    """Describe an article that was extracted (its status may be partial)."""
    usage = result.usage
    return ArticleOutcome(
        succeeded=True, result_json=result.model_dump_json(), error=None, claims=len(result.claims),
        model_calls=usage.model_calls, cache_hits=usage.cache_hits, prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens, cost_usd=usage.cost_usd,
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


async def extract_article(pipeline: Pipeline, item: WorkItem) -> ArticleOutcome:
    """Run one article through the pipeline; any failure becomes the article's error, never the worker's."""
    request = ExtractionRequest.model_validate_json(item.request_json)
    article_id = request.article.id or "-"
    try:
        return succeeded(await pipeline.extract(request))
    except ExtractionFailed as failure:
        return failed(item.index, article_id, failure.cause, failure.usage)
    except ClaimServiceError as error:
        return failed(item.index, article_id, error, None)
    except Exception:  # a bug of ours must cost one article, not the worker that runs them all
        logger.exception("job %s article %d failed unexpectedly", item.job_id, item.index)
        bug = ClaimServiceError(f"an unexpected error occurred; quote job {item.job_id} article {item.index}")
        return failed(item.index, article_id, bug, None)


class JobRunner:
    """This process's workers, webhook sender and purger, started and stopped with the app."""

    def __init__(self, pipeline: Pipeline, store: JobStore, queue: WorkQueue, settings: Settings) -> None:
        self._pipeline = pipeline
        self._store = store
        self._queue = queue
        self._settings = settings
        self.owner = f"worker_{secrets.token_hex(6)}"
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start ``job_workers`` workers (none: an API-only process), the webhook sender and the purger."""
        loops: list[Callable[[], Coroutine[Any, Any, None]]] = [self._work] * self._settings.job_workers
        loops += [self._deliver, self._purge]
        self._tasks = [asyncio.create_task(loop(), name=f"claims-jobs-{n}") for n, loop in enumerate(loops)]

    def wake(self) -> None:
        """Tell this process's idle loops that work was queued (other processes find it within a poll)."""
        self._wake.set()
        self._wake = asyncio.Event()  # every loop waiting on the old one wakes; later waits start afresh

    async def stop(self) -> None:
        """Stop every loop and hand back the articles this process was running."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        handed_back = await self._queue.release(self.owner)
        if handed_back:
            logger.info("handed back %d running article(s) for another worker", handed_back)

    async def _idle(self) -> None:
        """Wait for a wake-up, or a poll interval."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)

    async def _work(self) -> None:
        """Take articles one at a time and run them, for as long as the runner lives."""
        while True:
            item = await self._queue.claim(self.owner)
            if item is None:
                await self._idle()
                continue
            await self._run(item)

    async def _run(self, item: WorkItem) -> None:
        """Extract one article while renewing its lease; record the outcome unless the lease was lost."""
        extraction = asyncio.create_task(extract_article(self._pipeline, item))
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
        if await self._queue.finish(item, outcome):
            self.wake()  # a finished job may have a webhook to send

    async def _keep_lease(self, item: WorkItem, extraction: asyncio.Task[ArticleOutcome], lost: asyncio.Event) -> None:
        """Renew the lease every third of it; stop the extraction as soon as the lease is lost."""
        while True:
            await asyncio.sleep(self._settings.job_lease_s / 3)
            if not await self._queue.renew(item):
                lost.set()
                extraction.cancel()
                return

    async def _deliver(self) -> None:
        """Send the webhooks that are due, for as long as the runner lives."""
        async with httpx.AsyncClient(timeout=self._settings.webhook_timeout_s, follow_redirects=False) as client:
            while True:
                due = await self._queue.due_deliveries(self.owner, DELIVERIES_AT_ONCE)
                if not due:
                    await self._idle()
                    continue
                for delivery in due:
                    status, error = await webhooks.send(client, delivery, self._settings)
                    ok = status is not None and 200 <= status < 300
                    wait = None if ok else webhooks.retry_in(delivery.attempts + 1, self._settings)
                    await self._queue.delivered(delivery, status, error, wait)

    async def _purge(self) -> None:
        """Delete the jobs whose retention ran out, now and every hour."""
        while True:
            purged = await self._store.purge()
            if purged:
                logger.info("purged %d expired job(s)", purged)
            await asyncio.sleep(PURGE_EVERY_S)
