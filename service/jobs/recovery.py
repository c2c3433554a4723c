"""The recovery loop of the jobs runner: hand out again what dead workers held."""

from __future__ import annotations

import asyncio

from service.settings import Settings
from service.stores.jobs.job_store import WorkQueue


class Recovery:
    """Every third of a lease, hand out again the articles whose workers died (on Redis; embedded, claims do it)."""

    def __init__(self, queue: WorkQueue, settings: Settings) -> None:
        self._queue = queue
        self._settings = settings

    async def step(self) -> None:
        """Hand out again what dead workers held, then wait a third of a lease."""
        await self._queue.recover()
        await asyncio.sleep(self._settings.job_lease_s / 3)
