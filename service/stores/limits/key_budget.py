"""One request's budget on its key's day quotas: its estimate reserved before the models, the real use settled after.

The pipeline calls ``reserve`` once the article is chunked and before any model call, and ``settle`` when
the calls are over, however they ended (answered, failed, cancelled). A quota store that cannot be reached
keeps the service working as it would without a reservation: the request runs, what it used is charged as
best it can, and both are logged.
"""

from __future__ import annotations

import asyncio
import logging

from schemas import Usage
from service.errors import QuotaHeld, StoreUnavailable
from service.settings import ApiKey
from service.stores.limits.estimate import Estimate
from service.stores.limits.quotas import KeyQuotas, Reservation

logger = logging.getLogger("claims.quotas")


def budget_for(quotas: KeyQuotas, key: ApiKey | None, *, patient: bool = False) -> KeyBudget | None:
    """Return a new budget for one request of ``key`` (None when the key counts no day quota: nothing to hold).

    A ``patient`` budget (a job's article, which has no client to tell "retry in 5 s") waits while what is left
    of the day is held by requests in flight, instead of being refused; a day used up is refused all the same.
    """
    if key is None or not (key.tokens_per_day or key.cost_usd_per_day):
        return None
    return KeyBudget(quotas, key, patient=patient)


class KeyBudget:
    """What one request (or one job article) holds of its key's day, from its reservation to its settlement."""

    def __init__(self, quotas: KeyQuotas, key: ApiKey | None, *, patient: bool = False) -> None:
        self._quotas = quotas
        self._reservation = Reservation(key)
        self._patient = patient

    async def reserve(self, estimate: Estimate) -> None:
        """Reserve ``estimate`` of the key's day; 429 ``QuotaExceeded`` when it does not fit (store down: logged)."""
        key = self._reservation.key
        try:
            self._reservation = await self._reserve_when_free(key, estimate)
        except StoreUnavailable as exc:
            logger.warning("key %r: nothing reserved, the quotas cannot be reached (%s)", key and key.name, exc.detail)

    async def _reserve_when_free(self, key: ApiKey | None, estimate: Estimate) -> Reservation:
        """Reserve; a patient budget waits out refusals for what requests in flight hold (they settle soon)."""
        while True:
            try:
                return await self._quotas.reserve(key, estimate)
            except QuotaHeld as held:
                if not self._patient:
                    raise
                await asyncio.sleep(held.retry_after)

    async def settle(self, usage: Usage) -> None:
        """Give back the reservation and charge ``usage``, as best it can (the work is done and paid for)."""
        reservation, self._reservation = self._reservation, Reservation(self._reservation.key)
        tokens = usage.prompt_tokens + usage.completion_tokens
        try:
            await self._quotas.settle(reservation, tokens, usage.cost_usd)
        except StoreUnavailable as exc:
            name = reservation.key and reservation.key.name
            logger.warning("could not charge key %r %d tokens: %s", name, tokens, exc.detail)
