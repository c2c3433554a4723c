"""The webhook sender of the jobs runner: send the deliveries that are due, record each attempt."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from service.jobs import webhooks
from service.observability import metrics
from service.settings import Settings
from service.stores.jobs.job_store import WorkQueue

DELIVERIES_AT_ONCE = 8
LEASE_MARGIN_S = 5.0


class Deliveries:
    """This process's webhook sender."""

    def __init__(
        self, queue: WorkQueue, settings: Settings, *, owner: str, idle: Callable[[], Awaitable[None]]
    ) -> None:
        self._queue = queue
        self._settings = settings
        self._owner = owner
        self._idle = idle

    async def step(self) -> None:
        """Send the webhooks that are due; with none, wait a moment."""
        lease_s = DELIVERIES_AT_ONCE * self._settings.webhook_timeout_s + LEASE_MARGIN_S  # no second sender meanwhile
        due = await self._queue.due_deliveries(self._owner, DELIVERIES_AT_ONCE, lease_s)
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
