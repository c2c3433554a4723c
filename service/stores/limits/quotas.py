"""Quotas per API key: requests a minute, model tokens and cost a day, kept by the ``limits`` library.

In this process's memory, or on Redis with ``redis_url`` (one quota across every replica and worker). A
request is admitted when the key has a request left this minute and has not used up its day's tokens or
cost; what an extraction used is charged after it (a job's articles are charged to the key that submitted
the job, as each finishes). Requests a minute are a moving window; a day is 24 hours from the key's first
use in it (a fixed window), cost counted in micro-dollars.

Every answer to a key with quotas carries ``RateLimit-Policy`` and ``RateLimit`` (IETF httpapi draft):
``RateLimit-Policy: "requests";q=60;w=60, "tokens";q=100000;w=86400`` and
``RateLimit: "requests";r=59;t=60, "tokens";r=97480;t=80211`` (``r`` left, ``t`` seconds to reset).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter

from service.errors import QuotaExceeded, StoreUnavailable
from service.settings import ApiKey
from service.stores.limits.rate_limits import limits_storage

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("claims.quotas")
MICRO_USD = 1_000_000
T = TypeVar("T")
KEY_PREFIX_QUOTAS = "claims:quotas"


@dataclass(frozen=True, slots=True)
class Policy:
    """One quota of a key: its name in the headers, its window, and the limiter that keeps it."""

    name: str
    item: RateLimitItem
    limiter: RateLimiter

    @property
    def window_s(self) -> int:
        """Return the window in seconds."""
        return int(self.item.get_expiry())


@dataclass(frozen=True, slots=True)
class Standing:
    """What is left of a policy: remaining and seconds until its window resets."""

    policy: Policy
    remaining: int
    reset_s: int


class KeyQuotas:
    """Every key's quotas, admitted before a request and charged after it."""

    def __init__(self, redis: Redis | None = None) -> None:
        storage = limits_storage(redis, prefix=KEY_PREFIX_QUOTAS)
        self._redis = redis
        self._moving = MovingWindowRateLimiter(storage)
        self._fixed = FixedWindowRateLimiter(storage)

    def policies(self, key: ApiKey) -> list[Policy]:
        """Return the quotas ``key`` has (none configured: none)."""
        policies = []
        if key.rpm:
            policies.append(Policy("requests", RateLimitItemPerMinute(key.rpm), self._moving))
        if key.tokens_per_day:
            policies.append(Policy("tokens", RateLimitItemPerDay(key.tokens_per_day), self._fixed))
        if key.cost_usd_per_day:
            micros = max(1, round(key.cost_usd_per_day * MICRO_USD))
            policies.append(Policy("cost-microusd", RateLimitItemPerDay(micros), self._fixed))
        return policies

    async def admit(self, key: ApiKey | None, *, spends: bool) -> list[Standing]:
        """Take one request from ``key``'s minute (and, when it ``spends``, check its day is not used up).

        429 ``QuotaExceeded`` otherwise, with ``Retry-After`` and the key's ``RateLimit`` headers.
        """
        if key is None:
            return []
        policies = self.policies(key)
        for policy in policies if spends else []:
            if policy.name != "requests" and not await self._guarded(policy.limiter.test(policy.item, key.name)):
                raise await self._exceeded(key, policy, policies, f"its {policy.name} for the day are used up")
        for policy in policies:
            if policy.name == "requests" and not await self._guarded(policy.limiter.hit(policy.item, key.name)):
                why = f"it has used its {policy.item.amount} requests a minute"
                raise await self._exceeded(key, policy, policies, why)
        return await self.standing(key)

    async def day_spent(self, key: ApiKey | None) -> QuotaExceeded | None:
        """Return the error to fail an article with when ``key``'s tokens or cost for the day are used up."""
        if key is None:
            return None
        policies = self.policies(key)
        for policy in policies:
            if policy.name != "requests" and not await self._guarded(policy.limiter.test(policy.item, key.name)):
                return await self._exceeded(key, policy, policies, f"its {policy.name} for the day are used up")
        return None

    async def charge(self, key: ApiKey | None, tokens: int, cost_usd: float | None) -> None:
        """Charge what an extraction used to ``key``'s day (tokens, and cost when known), as best it can.

        The work is done and paid for: a quota store that cannot be reached costs the charge (logged), never
        the result. An unpriced model's cost is unknown and charges nothing to ``cost_usd_per_day``.
        """
        if key is None:
            return
        try:
            for policy in self.policies(key):
                amount = tokens if policy.name == "tokens" else math.ceil((cost_usd or 0.0) * MICRO_USD)
                if policy.name != "requests" and amount > 0:
                    await self._guarded(policy.limiter.hit(policy.item, key.name, cost=amount))
        except StoreUnavailable as exc:
            logger.warning("could not charge key %r %d tokens: %s", key.name, tokens, exc.detail)

    async def standing(self, key: ApiKey | None) -> list[Standing]:
        """Return what is left of each of ``key``'s quotas."""
        if key is None:
            return []
        found = []
        for policy in self.policies(key):
            stats = await self._guarded(policy.limiter.get_window_stats(policy.item, key.name))
            reset = max(0, math.ceil(stats.reset_time - time.time())) if stats.remaining < policy.item.amount else 0
            found.append(Standing(policy, int(stats.remaining), reset or policy.window_s))
        return found

    async def _exceeded(self, key: ApiKey, policy: Policy, policies: list[Policy], why: str) -> QuotaExceeded:
        """Build the 429 for ``key``: why, when the exhausted policy resets, and every policy's headers."""
        standing = await self.standing(key)
        reset = next((s.reset_s for s in standing if s.policy.name == policy.name), policy.window_s)
        return QuotaExceeded(
            f"the API key {key.name!r} is over its quota: {why}; it resets in {reset} s",
            retry_after=reset,
            rate_headers=rate_limit_headers(standing),
        )

    async def _guarded(self, operation: Awaitable[T]) -> T:
        """Await a limiter operation; a quota store that cannot be reached is a 503."""
        try:
            return await operation
        except Exception as exc:  # limits wraps every storage failure in StorageError
            raise StoreUnavailable(f"the shared quotas cannot be reached ({type(exc).__name__})") from exc

    async def close(self) -> None:
        """Close the Redis connections, if the quotas live there."""
        if self._redis is not None:
            await self._redis.aclose()


def rate_limit_headers(standing: list[Standing]) -> dict[str, str]:
    """Return ``RateLimit-Policy`` and ``RateLimit`` for a key's quotas (nothing for a key without any)."""
    if not standing:
        return {}
    policy = ", ".join(
        f'"{s.policy.name}";q={s.policy.item.amount};w={s.policy.window_s}'
        + ("" if s.policy.name == "requests" else f';qu="{s.policy.name}"')  # the draft's default unit is requests
        for s in standing
    )
    left = ", ".join(f'"{s.policy.name}";r={s.remaining};t={s.reset_s}' for s in standing)
    return {"RateLimit-Policy": policy, "RateLimit": left}
