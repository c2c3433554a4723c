"""Quotas per API key: requests a minute, model tokens and cost a day, kept by the ``limits`` library.

In this process's memory, or on Redis with ``redis_url`` (one quota across every replica and worker). A
request is admitted when the key has a request left this minute and has not used up its day's tokens or
cost. Before its models are called, an extraction (or a job's article, for the key that submitted the job)
reserves its estimate of the day: its prompts' tokens plus the completion they allow, and their price. The
reservation is one atomic increment of the day's counter (INCRBY on Redis), so concurrent requests are
ordered by the store and none sees room another has taken; a request whose prompt no longer fits in what
is left gives its increment back and is refused. Afterwards it settles: the reservation is given back and
what was really used charged, in one increment of their difference. The day's last request may reserve
more than is left (its prompt fits, its completion budget may not): the day is overspent by at most that
request's completion budget, and by nothing when the replies are shorter than what was left. Requests a
minute are a moving window; a day is 24 hours from the key's first use in it (a fixed window), cost
counted in micro-dollars.

Every answer to a key with quotas carries ``RateLimit-Policy`` and ``RateLimit`` (IETF httpapi draft):
``RateLimit-Policy: "requests";q=60;w=60, "tokens";q=100000;w=86400`` and
``RateLimit: "requests";r=59;t=60, "tokens";r=97480;t=80211`` (``r`` left, ``t`` seconds to reset).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter

from service.errors import ArticleTooLarge, ClaimServiceError, QuotaExceeded, QuotaHeld, StoreUnavailable
from service.settings import ApiKey
from service.stores.limits.estimate import MICRO_USD, Estimate, micro_usd
from service.stores.limits.rate_limits import limits_storage

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("claims.quotas")
T = TypeVar("T")
KEY_PREFIX_QUOTAS = "claims:quotas"
DAY_QUOTAS = ("tokens", "cost-microusd")
CLOCK_SLACK_S = 1.0  # Redis gives a window's time to live in whole seconds
HOLDS_TTL_S = 3600  # what a crashed process held stops counting as in flight an hour after the holds began
HELD_RETRY_S = 5  # a request refused only for what requests in flight hold may try again this soon


@dataclass(slots=True)
class Reservation:
    """What one request holds of its key's day quotas (by quota name), and when it took it."""

    key: ApiKey | None
    held: dict[str, int] = field(default_factory=dict)
    taken_at: float = field(default_factory=time.time)


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
    """Every key's quotas: a request admitted, its estimate reserved before its models are called, settled after."""

    def __init__(self, redis: Redis | None = None) -> None:
        storage = limits_storage(redis, prefix=KEY_PREFIX_QUOTAS)
        self._redis = redis
        self._counters = storage  # the day counters, reserved and settled with its atomic increments
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
                raise await self._refused(key, policy, policies, 1, spent=await self._spent(policy, key))
        for policy in policies:
            if policy.name == "requests" and not await self._guarded(policy.limiter.hit(policy.item, key.name)):
                why = f"it has used its {policy.item.amount} requests a minute"
                raise await self._exceeded(key, policy, policies, why)
        return await self.standing(key)

    async def reserve(self, key: ApiKey | None, estimate: Estimate) -> Reservation:
        """Hold ``estimate`` of ``key``'s day quotas before its models are called; 429 when its prompt does not fit.

        Each quota is taken with one atomic increment; when what the requests before it left cannot hold the
        prompt, the increments are given back and the request is refused (``QuotaExceeded``).
        """
        reservation = Reservation(key)
        if key is None:
            return reservation
        policies = self.policies(key)
        try:
            for policy in policies:
                held, least = estimate.needs(policy.name) if policy.name in DAY_QUOTAS else (0, 0)
                if held <= 0:
                    continue
                counter = policy.item.key_for(key.name)
                total = await self._guarded(self._counters.incr(counter, policy.window_s, amount=held))
                reservation.held[policy.name] = held
                in_flight = await self._hold(policy, key, held)
                if policy.item.amount - (total - held) < least:
                    await self._give_back(reservation)
                    raise await self._refused(key, policy, policies, least, spent=total - in_flight)
        except BaseException:
            await asyncio.shield(self._give_back(reservation))  # a cancelled or failed reservation leaves nothing
            raise
        return reservation

    async def settle(self, reservation: Reservation, tokens: int, cost_usd: float | None) -> None:
        """Give back what ``reservation`` held and charge what was used: one increment of the difference a quota.

        An unpriced model's cost is unknown and charges nothing to ``cost_usd_per_day``. When the day ended
        since the reservation, the new day is charged only what was used beyond what was held. StoreUnavailable
        when the quota store cannot be reached.
        """
        key = reservation.key
        if key is None:
            return
        used = {"tokens": tokens, "cost-microusd": micro_usd(cost_usd)}
        held, reservation.held = reservation.held, {}  # settled once, whatever happens next
        unreachable: StoreUnavailable | None = None
        for policy in self.policies(key):
            if policy.name not in DAY_QUOTAS:
                continue
            try:  # each quota settles on its own: one that cannot be reached leaves the others right
                await self._settle_one(policy, key, held.get(policy.name, 0), used[policy.name], reservation.taken_at)
            except StoreUnavailable as exc:
                unreachable = exc
        if unreachable is not None:
            raise unreachable

    async def _settle_one(self, policy: Policy, key: ApiKey, held: int, used: int, taken_at: float) -> None:
        """Give back what one day quota held and charge what was used of it."""
        if held:
            await self._hold(policy, key, -held)
        change = used - held
        if change < 0 and await self._day_ended(policy, key, taken_at):
            return  # what was held went with the day it was held in
        if change:
            await self._add(policy, key, change)

    async def _add(self, policy: Policy, key: ApiKey, change: int) -> None:
        """Add ``change`` (maybe negative) to a day counter, never leaving it below zero."""
        await self._nudge(policy.item.key_for(key.name), policy.window_s, change)

    async def _spent(self, policy: Policy, key: ApiKey) -> int:
        """Return what the day counter holds beyond what requests in flight hold of it: what was used."""
        counter = policy.item.key_for(key.name)
        total = await self._guarded(self._counters.get(counter))
        held = await self._guarded(self._counters.get(f"held/{counter}"))
        return max(0, total - held)

    async def _hold(self, policy: Policy, key: ApiKey, change: int) -> int:
        """Add ``change`` to what requests in flight hold of a day quota; return the new total held.

        Kept beside the day's counter (which counts holds and use together) only to tell a 429's client when
        to try again: soon when the day is held by requests that are running, at the day's end when used up.
        """
        return await self._nudge(f"held/{policy.item.key_for(key.name)}", HOLDS_TTL_S, change)

    async def _nudge(self, counter: str, expiry_s: int, change: int) -> int:
        """Add ``change`` to a counter, never leaving it below zero; return its new value."""
        total = await self._guarded(self._counters.incr(counter, expiry_s, amount=change))
        if total < 0:  # a window that began between the check and the increment: it owes nothing
            await self._guarded(self._counters.incr(counter, expiry_s, amount=-total))
        return max(0, total)

    async def _day_ended(self, policy: Policy, key: ApiKey, since: float) -> bool:
        """Say whether the day counted by ``policy`` ended (and another maybe began) after ``since``."""
        reset = await self._guarded(self._counters.get_expiry(policy.item.key_for(key.name)))
        return reset <= time.time() or reset - policy.window_s > since + CLOCK_SLACK_S

    async def _give_back(self, reservation: Reservation) -> None:
        """Give back everything ``reservation`` holds, as best it can (a counter left high expires with its day)."""
        held, reservation.held = reservation.held, {}
        if reservation.key is None:
            return
        for policy in self.policies(reservation.key):
            if held.get(policy.name):
                try:
                    await self._add(policy, reservation.key, -held[policy.name])
                    await self._hold(policy, reservation.key, -held[policy.name])
                except StoreUnavailable as exc:
                    logger.warning("key %r: could not give back a reservation: %s", reservation.key.name, exc.detail)

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

    async def _refused(
        self, key: ApiKey, policy: Policy, policies: list[Policy], least: int, *, spent: int
    ) -> ClaimServiceError:
        """Build the refusal of a reservation that did not fit: soon, at the day's reset, or never (413).

        A request whose prompts alone need more than the whole day can never fit: no Retry-After would help.
        """
        if least > policy.item.amount:
            return ArticleTooLarge(
                f"this article's prompts alone need about {least} {policy.name}, more than the API key "
                f"{key.name!r} may spend in a day ({policy.item.amount}): send it in parts, or ask for a larger quota"
            )
        if policy.item.amount - spent < least:
            return await self._exceeded(key, policy, policies, _why_refused(policy))
        why = f"its {policy.name} left for the day are held by requests in flight"
        standing = await self.standing(key)
        return QuotaHeld(
            f"the API key {key.name!r} is over its quota for now: {why}; try again in {HELD_RETRY_S} s",
            retry_after=HELD_RETRY_S,
            rate_headers=rate_limit_headers(standing),
        )

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


def _why_refused(policy: Policy) -> str:
    """Say why a reservation was refused because the day is used up."""
    return f"its {policy.name} for the day are used up"


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
