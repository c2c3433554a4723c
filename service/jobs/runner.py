"""The jobs runner: composes and runs its loops (article workers, webhook sender, recovery, purge, batches).

Each loop is a part of its own (``articles``, ``deliveries``, ``recovery``, ``purge``, ``batches``) with a ``step``; the
runner starts ``job_workers`` article workers and one of each other loop, keeps each going through store
outages and bugs, wakes the idle ones when work is queued here, and stops them. On shutdown the articles
still running are handed back for another worker (or the next start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from typing import Any

from service.errors import StoreUnavailable
from service.jobs.articles import ArticleWorkers
from service.jobs.batches import Batches
from service.jobs.deliveries import Deliveries
from service.jobs.purge import Purge
from service.jobs.recovery import Recovery
from service.pipeline.extraction import Pipeline
from service.settings import Settings
from service.stores.jobs.job_store import JobStore, WorkAndBatches
from service.stores.limits.quotas import KeyQuotas

logger = logging.getLogger("claims.jobs")
IDLE_POLL_S = 0.5  # the poll interval right after work was queued here
IDLE_POLL_MAX_S = 4.0  # and after a long quiet: an idle service polls its store a few times a minute, not 10 a second
STORE_RETRY_S = 1.0


def idle_poll_s(quiet_s: float) -> float:
    """Return how long an idle loop waits between polls, ``quiet_s`` after work was last queued in this process.

    Work queued here wakes the loops at once; polling finds what only time brings (another process's work, a
    lease run out, a webhook retry due), so it may slow down while nothing happens.
    """
    return min(IDLE_POLL_MAX_S, max(IDLE_POLL_S, quiet_s / 4))


class JobRunner:
    """This process's workers, webhook sender, recovery and purger, started and stopped with the app."""

    def __init__(
        self,
        pipeline: Pipeline,
        store: JobStore,
        queue: WorkAndBatches,
        settings: Settings,
        quotas: KeyQuotas | None = None,
    ) -> None:
        self._queue = queue
        self._settings = settings
        self.owner = f"worker_{secrets.token_hex(6)}"
        self._wake = asyncio.Event()
        self._woken_at = time.monotonic()
        self._stopping = False
        self._workers: list[asyncio.Task[None]] = []
        self._helpers: list[asyncio.Task[None]] = []
        self._troubled: set[str] = set()
        self._articles = ArticleWorkers(
            pipeline, queue, settings, quotas or KeyQuotas(), owner=self.owner, idle=self._idle, wake=self.wake
        )
        self._deliveries = Deliveries(queue, settings, owner=self.owner, idle=self._idle)
        self._batches = Batches(pipeline, queue, owner=self.owner, idle=self._idle)
        self._recovery = Recovery(queue, settings)
        self._purge = Purge(store)

    def start(self) -> None:
        """Start ``job_workers`` workers (none: an API-only process), the webhook sender, recovery and the purger.

        A process with workers also runs the batch loop (sending and polling batch-mode jobs' provider batches);
        an API-only one leaves that work, which reads and chunks every article of a job, to the workers.
        """
        self._workers = [
            asyncio.create_task(self._forever("work", self._articles.step), name=f"claims-worker-{n}")
            for n in range(self._settings.job_workers)
        ]
        helpers = {"deliver": self._deliveries.step, "recover": self._recovery.step, "purge": self._purge.step}
        if self._settings.job_workers:
            helpers["batch"] = self._batches.step
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
        await self._deliveries.close()
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
