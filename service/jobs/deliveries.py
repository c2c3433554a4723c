"""The webhook sender of the jobs runner: the deliveries that are due are sent side by side, each on its own.

Up to ``DELIVERIES_AT_ONCE`` attempts are in flight at once, each its own task: a slow receiver holds one
slot for at most ``webhook_timeout_s`` (the attempt's whole deadline) and never delays another's webhook.
No receiver has more than ``RECEIVER_AT_ONCE`` of them: a delivery claimed for a receiver at its share is
given back unsent (no attempt counted), due again a moment later, behind what is due now, so a tenant whose
many jobs call one slow or unreachable receiver cannot fill every slot while other webhooks wait.
A delivery is claimed for the time of one attempt and a margin (``webhook_timeout_s`` + ``LEASE_MARGIN_S``),
under an owner token of this claim; the attempt is cut before that lease runs out, so it is never handed to a
second sender while in flight, and only the claim's owner records it. Whatever goes wrong in one delivery (an
unreachable receiver, a URL planted in the store, a bug of ours) is that delivery's failed attempt, retried
or given up like any other, never the loop's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from service.errors import StoreUnavailable
from service.jobs import webhooks
from service.observability import metrics
from service.settings import Settings
from service.stores.jobs.job_store import Delivery, WorkQueue, wall_clock

logger = logging.getLogger("claims.jobs")
DELIVERIES_AT_ONCE = 8
RECEIVER_AT_ONCE = 2  # attempts in flight to one receiver (scheme, host and port): one tenant's never fill every slot
RECEIVER_BUSY_WAIT_S = 1.0  # at least: a delivery to a receiver at its share goes back, due after what is due now
LEASE_MARGIN_S = 10.0  # a delivery's lease outlasts its attempt's deadline by this much: time to sign and record


def receiver_of(url: str) -> str:
    """Return who a callback URL calls: its scheme, host and port (a URL that cannot be read is its own)."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{parts.port}"
    except ValueError:
        return url


class Deliveries:
    """This process's webhook sender: claims what is due and sends each delivery in a task of its own."""

    def __init__(
        self, queue: WorkQueue, settings: Settings, *, owner: str, idle: Callable[[], Awaitable[None]]
    ) -> None:
        self._queue = queue
        self._settings = settings
        self._owner = owner
        self._idle = idle
        self._sending: set[asyncio.Task[None]] = set()
        self._per_receiver: Counter[str] = Counter()
        self._client: httpx.AsyncClient | None = None

    async def step(self) -> None:
        """Claim as many due deliveries as there are free slots and start sending them; or wait for a slot or work."""
        free = DELIVERIES_AT_ONCE - len(self._sending)
        if free <= 0:
            await asyncio.wait(self._sending, return_when=asyncio.FIRST_COMPLETED)
            return
        claim = f"{self._owner}/{secrets.token_hex(4)}"  # this claim's own token: a later claim is another owner
        lease_s = self._settings.webhook_timeout_s + LEASE_MARGIN_S
        due = await self._queue.due_deliveries(claim, free, lease_s)
        if not due:
            await self._idle()
            return
        for delivery in due:  # what was given back is due later: the next claim reaches what is due behind it
            receiver = receiver_of(delivery.callback_url)
            if self._per_receiver[receiver] >= RECEIVER_AT_ONCE:
                await self._queue.postpone(delivery, self._busy_wait_s())
            else:
                self._start(delivery, receiver)

    def _busy_wait_s(self) -> float:
        """Return how long a delivery to a receiver at its share waits: about until one of its attempts ends."""
        return max(RECEIVER_BUSY_WAIT_S, self._settings.webhook_timeout_s / RECEIVER_AT_ONCE)

    def _start(self, delivery: Delivery, receiver: str) -> None:
        """Send one delivery in a task of its own, counted against its receiver's share while it runs."""
        self._per_receiver[receiver] += 1
        task = asyncio.create_task(self._attempt(delivery), name=f"claims-webhook-{delivery.id}")
        self._sending.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._sending.discard(done)
            self._per_receiver[receiver] -= 1
            if self._per_receiver[receiver] <= 0:
                del self._per_receiver[receiver]

        task.add_done_callback(finished)

    async def close(self) -> None:
        """Stop the attempts in flight (their leases run out and they are tried again) and close the client."""
        for task in list(self._sending):
            task.cancel()
        for task in list(self._sending):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _attempt(self, delivery: Delivery) -> None:
        """Make one attempt and record it; any failure of this delivery is its failed attempt."""
        try:
            status, error = await self._send(delivery)
        except Exception as exc:  # a bug in one delivery must cost that delivery an attempt, never block the others
            logger.exception("webhook %s of job %s failed unexpectedly", delivery.id, delivery.job_id)
            status, error = None, f"internal error: {type(exc).__name__}"
        ok = status is not None and 200 <= status < 300
        wait = None if ok else webhooks.retry_in(delivery.attempts + 1, self._settings)
        try:
            recorded = await self._queue.delivered(delivery, status, error, wait)
        except StoreUnavailable as exc:
            logger.warning("webhook %s: its attempt could not be recorded (%s); it is tried again", delivery.id, exc)
            return
        except Exception:  # a bug, or a stored row the store cannot read: this task must not die unheard
            logger.exception("webhook %s: its attempt could not be recorded; it is tried again", delivery.id)
            return
        if not recorded:
            logger.warning("webhook %s: attempt not recorded: another claim holds it, or it expired", delivery.id)
            return
        outcome = "delivered" if ok else "retrying" if wait is not None else "failed"
        metrics.WEBHOOKS.labels(delivery.event, outcome).inc()

    async def _send(self, delivery: Delivery) -> tuple[int | None, str | None]:
        """Send one attempt, cut at ``webhook_timeout_s`` and well before the delivery's lease runs out."""
        left_s = delivery.lease_until - wall_clock() - LEASE_MARGIN_S / 2
        deadline_s = min(self._settings.webhook_timeout_s, left_s)
        if deadline_s <= 0:
            return None, "not sent: the delivery's lease ran out before its attempt could start"
        return await webhooks.send(self._http(), delivery, self._settings, deadline_s)

    def _http(self) -> httpx.AsyncClient:
        """Return the sender's HTTP client (redirects are never followed: only allowed hosts are called)."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._settings.webhook_timeout_s, follow_redirects=False)
        return self._client
