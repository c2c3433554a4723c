"""What an extraction may spend: estimated before the models are called, reserved on the caller's budget, settled.

The estimate is the chunks' rendered prompts (tokens reckoned as the per-model ``tpm`` limits reckon them:
an ASCII token per three characters, any other character a token of its own, which over-counts English)
plus the completion each call allows (the prompt's ``max_tokens``), priced at the dearest priced model of
the chain in litellm's price map (a fallback may answer). Repair re-asks, transport retries and the halves
of a chunk cut off are not foreseen: what they use is charged when the request settles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from schemas import Usage
from service.llm.client import prices_per_token
from service.pipeline.chunk_answer import ChunkJob, chunk_messages
from service.steps.chunking import Chunk
from service.stores.limits.estimate import Estimate
from service.stores.limits.rate_limits import completion_allowance, prompt_token_estimate

SETTLE_AT_SHUTDOWN_S = 5.0
_SETTLING: set[asyncio.Task[None]] = set()  # settlements under way, kept from the garbage collector


class Budget(Protocol):
    """Where an extraction's spending is held: reserved before its model calls, settled with what they used."""

    async def reserve(self, estimate: Estimate) -> None:
        """Hold ``estimate``, or refuse the extraction (a ``ClaimServiceError``, such as a 429)."""

    async def settle(self, usage: Usage) -> None:
        """Give back what was held and charge ``usage``."""


def estimate_spend(job: ChunkJob, chunks: Sequence[Chunk]) -> Estimate:
    """Return what asking the chain once a chunk may spend: the prompts, the completions they allow, their price."""
    prompt_tokens = sum(prompt_token_estimate(chunk_messages(job, chunk)) for chunk in chunks)
    completion_tokens = completion_allowance(job.prompt.spec.params) * len(chunks)
    prices = [price for price in map(prices_per_token, job.models) if price is not None]
    if not prices:
        return Estimate(prompt_tokens, completion_tokens)
    prompt_cost, completion_cost = max(
        (
            (prompt_tokens * prompt_price, completion_tokens * completion_price)
            for prompt_price, completion_price in prices
        ),
        key=sum,
    )
    return Estimate(prompt_tokens, completion_tokens, prompt_cost, completion_cost)


async def settle_whatever_happens(budget: Budget, usage: Usage) -> None:
    """Settle ``budget`` to the end even when the request is cancelled meanwhile (the settlement is shielded)."""
    settling = asyncio.ensure_future(budget.settle(usage))
    _SETTLING.add(settling)
    settling.add_done_callback(_SETTLING.discard)
    await asyncio.shield(settling)


async def settlements_finished(limit_s: float = SETTLE_AT_SHUTDOWN_S) -> None:
    """Wait (up to ``limit_s``) for settlements under way, so that closing the quotas does not cut one off."""
    if _SETTLING:
        await asyncio.wait(set(_SETTLING), timeout=limit_s)
