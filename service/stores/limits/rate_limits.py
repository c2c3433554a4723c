"""Per-model rate limits: ``rpm`` and ``tpm``, each a moving window kept by the ``limits`` library.

Embedded, the windows live in this process's memory; with ``redis_url`` they live on Redis, so every API
replica and worker draws on one budget per model. A moving window never lets more than the limit through
in any minute, wherever the calls come from.

``tpm`` is reserved before a call, the way providers count it: the prompt's tokens (estimated at three
characters a token, which over-counts English) plus the completion the call allows (``max_tokens``). A
reply that used more than was reserved is charged the difference afterwards. Tokens are counted in units of
``tpm / 1000`` rounded up, so a window holds at most a thousand entries whatever the limit.

Each window is 63 seconds, not 60: a call reaches the provider a moment after it takes its slot, and the
provider counts its own minute; the margin keeps the provider's count within the limit too.

A call over budget waits for the window to free up, up to ``rate_limit_wait_s``; past that (or at once,
with 0) it fails with ``ModelBudgetExhausted`` (503, ``Retry-After``), and the model's fallbacks are tried.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from service.errors import ModelBudgetExhausted, StoreUnavailable
from service.settings import ModelEntry

if TYPE_CHECKING:
    from redis.asyncio import Redis

CHARS_A_TOKEN = 3  # an over-estimate of tokens for English and most European languages (about four chars a token)
DEFAULT_COMPLETION_ALLOWANCE = 1024  # tokens reserved for a reply when the call sets no max_tokens
WINDOW_ENTRIES = 1000
KEY_PREFIX = "claims:limits"
logger = logging.getLogger("claims.llm")
# A call takes its slot a moment before the provider sees it (building the request, a first connection, a
# busy CPU), and the provider counts its own minute: with a 60 s window, three workers sharing rpm 120 put
# 130 calls into the fake provider's first minute (benchmarks/scale.py). So the window is 63 s.
WINDOW_S = 63


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """One model's windows: requests and token units a minute, and how many tokens a unit stands for."""

    requests: RateLimitItem | None
    token_units: RateLimitItem | None
    tokens_a_unit: int


def prompt_token_estimate(messages: Sequence[Mapping[str, str]]) -> int:
    """Return the tokens a call's prompt may take: an ASCII token per three characters, any other character one.

    English runs about four characters a token; Chinese, Japanese and Korean about one to two characters.
    """
    text = "".join(message.get("content", "") for message in messages)
    ascii_chars = len(text) if text.isascii() else len(text.encode("ascii", "ignore"))  # C speed, not a char a loop
    return math.ceil(ascii_chars / CHARS_A_TOKEN) + (len(text) - ascii_chars)


def completion_allowance(params: Mapping[str, Any]) -> int:
    """Return the completion tokens a call allows (``max_tokens``, or a default when it sets none)."""
    return int(params.get("max_completion_tokens") or params.get("max_tokens") or DEFAULT_COMPLETION_ALLOWANCE)


def token_estimate(messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> int:
    """Return the tokens a call may use, as providers reserve them: its prompt's, plus the completion it allows."""
    return prompt_token_estimate(messages) + completion_allowance(params)


def limits_storage(redis: Redis | None, prefix: str = KEY_PREFIX) -> Storage:
    """Return where the windows live: this process's memory, or the Redis ``redis`` speaks to (shared)."""
    if redis is None:
        return MemoryStorage()
    from limits.aio.storage import RedisStorage  # loads redis: only for a shared budget

    # the URI only names the implementation's scheme: connections come from our client's pool
    return RedisStorage(
        "async+redis://", implementation="redispy", key_prefix=prefix, wrap_exceptions=True,
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # limits pops it before its typed options
    )  # fmt: skip


def _per_window(amount: int) -> RateLimitItem:
    """Return ``amount`` per window: a minute plus the margin for a call's way from its slot to the provider."""
    return RateLimitItemPerSecond(amount, WINDOW_S)


def _model_limits(entry: ModelEntry) -> ModelLimits:
    """Return the windows ``entry``'s ``rpm`` and ``tpm`` ask for."""
    rpm, tpm = entry.litellm_params.get("rpm"), entry.litellm_params.get("tpm")
    tokens_a_unit = max(1, math.ceil(int(tpm) / WINDOW_ENTRIES)) if tpm else 1
    return ModelLimits(
        requests=_per_window(int(rpm)) if rpm else None,
        token_units=_per_window(math.ceil(int(tpm) / tokens_a_unit)) if tpm else None,
        tokens_a_unit=tokens_a_unit,
    )


class RateLimits:
    """Every configured model's rpm and tpm windows, drawn on before each call."""

    def __init__(self, models: Sequence[ModelEntry], max_wait_s: float, redis: Redis | None = None) -> None:
        self._redis = redis
        self._limiter = MovingWindowRateLimiter(limits_storage(redis))
        self._max_wait_s = max_wait_s
        self._limits = {entry.model_name: _model_limits(entry) for entry in models}

    def units(self, entry: ModelEntry, tokens: int) -> int:
        """Return how many token units ``tokens`` take from ``entry``'s tpm window (rounded up)."""
        return math.ceil(tokens / self._limits[entry.model_name].tokens_a_unit)

    async def acquire(self, entry: ModelEntry, tokens: int) -> None:
        """Take one request and ``tokens`` from ``entry``'s windows, waiting for room up to ``rate_limit_wait_s``."""
        limits = self._limits.get(entry.model_name)
        if limits is None:
            return
        needs = [(limits.requests, 1, "rpm"), (limits.token_units, self.units(entry, tokens), "tpm")]
        await self._take(entry, [(item, cost, name) for item, cost, name in needs if item is not None])

    async def charge(self, entry: ModelEntry, reserved_tokens: int, used_tokens: int) -> None:
        """Charge ``entry``'s tpm window for tokens a reply used beyond what was reserved (never waits)."""
        limits = self._limits.get(entry.model_name)
        if limits is None or limits.token_units is None:
            return
        extra = self.units(entry, used_tokens) - self.units(entry, reserved_tokens)
        if extra <= 0:
            return
        try:
            charged = await self._hit(limits.token_units, entry, min(extra, limits.token_units.amount))
        except StoreUnavailable as exc:  # the reply is paid for: keep it, say what was not counted
            charged, why = False, exc.detail
        else:
            why = "its window was full"
        if not charged:
            logger.warning(
                "model %r: a reply used %d tokens more than reserved and could not be charged (%s)",
                entry.model_name, used_tokens - reserved_tokens, why,
            )  # fmt: skip

    async def _take(self, entry: ModelEntry, needs: list[tuple[RateLimitItem, int, str]]) -> None:
        """Take every window's cost at once, as soon as all have room; fail once waiting would pass the limit.

        Windows are first checked, then hit one after another, so a slot is taken only when the call can go
        at once: a slot taken long before its call would let the provider see more than the limit.
        """
        for item, cost, name in needs:
            if cost > item.amount:
                raise ModelBudgetExhausted(
                    f"model {entry.model_name!r}: one call needs about {cost} of its {item.amount} {name} units, "
                    "more than a whole minute allows; raise the limit or lower chunk_tokens",
                    model_alias=entry.model_name,
                    retry_after=None,
                )
        deadline = time.monotonic() + self._max_wait_s
        while True:
            full = [(item, name) for item, cost, name in needs if not await self._has_room(item, entry, cost)]
            if not full and await self._hit_all(entry, needs):
                return
            waits = [(await self._time_to_room(item, entry), name) for item, name in full] or [(0.01, "rate")]
            wait, name = max(waits)
            if time.monotonic() + wait > deadline:
                raise ModelBudgetExhausted(
                    f"model {entry.model_name!r} has used its {name} budget (shared by every process on this limit); "
                    f"room again in {wait:.0f} s, past rate_limit_wait_s",
                    model_alias=entry.model_name,
                    retry_after=wait,
                )
            await asyncio.sleep(wait + random.uniform(0, 0.05))  # noqa: S311 -- jitter, not a secret

    async def _hit_all(self, entry: ModelEntry, needs: list[tuple[RateLimitItem, int, str]]) -> bool:
        """Hit every window; False when another process took the room first (what was taken stays taken)."""
        for item, cost, _ in needs:
            if not await self._hit(item, entry, cost):
                return False
        return True

    async def _has_room(self, item: RateLimitItem, entry: ModelEntry, cost: int) -> bool:
        """Say whether ``item``'s window has room for ``cost`` now, without taking it."""
        try:
            return await self._limiter.test(item, "model", entry.model_name, cost=cost)
        except Exception as exc:  # limits wraps every storage failure in StorageError
            raise StoreUnavailable(f"the shared rate limits cannot be reached ({type(exc).__name__})") from exc

    async def _hit(self, item: RateLimitItem, entry: ModelEntry, cost: int) -> bool:
        """Take ``cost`` from ``item``'s window if it has room; a storage that cannot be reached is a 503."""
        try:
            return await self._limiter.hit(item, "model", entry.model_name, cost=cost)
        except Exception as exc:  # limits wraps every storage failure in StorageError
            raise StoreUnavailable(f"the shared rate limits cannot be reached ({type(exc).__name__})") from exc

    async def _time_to_room(self, item: RateLimitItem, entry: ModelEntry) -> float:
        """Return the seconds until ``item``'s window frees its oldest entry."""
        try:
            stats = await self._limiter.get_window_stats(item, "model", entry.model_name)
        except Exception as exc:
            raise StoreUnavailable(f"the shared rate limits cannot be reached ({type(exc).__name__})") from exc
        return max(0.01, stats.reset_time - time.time())

    async def close(self) -> None:
        """Close the Redis connections the windows use, if they live there."""
        if self._redis is not None:
            await self._redis.aclose()
