"""The purge loop of the jobs runner: delete the jobs whose retention ran out."""

from __future__ import annotations

import asyncio
import logging

from service.stores.jobs.job_store import JobStore

logger = logging.getLogger("claims.jobs")
PURGE_EVERY_S = 3600.0


class Purge:
    """Every hour, delete the finished jobs whose retention ran out."""

    def __init__(self, store: JobStore) -> None:
        self._store = store

    async def step(self) -> None:
        """Delete the jobs whose retention ran out, then wait an hour."""
        purged = await self._store.purge()
        if purged:
            logger.info("purged %d expired job(s)", purged)
        await asyncio.sleep(PURGE_EVERY_S)
