"""What a provider says a call used, read defensively: a figure that cannot be true is unknown, never trusted.

Providers (and the servers that imitate them) sometimes report usage that cannot be: negative counts, counts
beyond any model's window, NaN, text. Such a figure must not reach the metrics (prometheus-client refuses a
negative increment: the request would fail), the quotas or the rate limits (a negative charge gives budget
back), nor the reply's ``usage`` as if it were spent. Each impossible token count is taken as 0 (the schema's
counts are whole numbers, never null) and the call's cost as unknown (``cost_usd: null``), since a price
computed from impossible counts is no price; the caller is told what was impossible, to warn and count it.

litellm itself refuses a reply whose usage is not a whole number ("Invalid response object"): that reply
never reaches here and is a provider failure like any other (retried, then the next alias, or a 5xx problem).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_TOKENS_A_CALL = 10_000_000  # above any model's context window and reply together
MAX_COST_USD_A_CALL = 1_000.0  # no single call of any priced model costs this much


@dataclass(frozen=True, slots=True)
class CallUsage:
    """A call's tokens and cost as far as they can be believed, and the reported figures that could not be."""

    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    faults: tuple[str, ...] = ()


def known_tokens(reported: object) -> int | None:
    """Return a reported token count when it can be true (a whole number 0..MAX); 0 when missing; else None."""
    if reported is None:
        return 0
    if isinstance(reported, bool) or not isinstance(reported, int | float):
        return None
    if not math.isfinite(reported) or reported != int(reported) or not 0 <= reported <= MAX_TOKENS_A_CALL:
        return None
    return int(reported)


def known_cost(reported: object) -> float | None:
    """Return a cost when it can be true (a finite number of USD, 0..MAX); None when unpriced or impossible."""
    if isinstance(reported, bool) or not isinstance(reported, int | float):
        return None
    if not math.isfinite(reported) or not 0 <= reported <= MAX_COST_USD_A_CALL:
        return None
    return float(reported)


def tokens_of(response: Any) -> CallUsage:
    """Return a litellm response's token counts, each impossible one as 0 and named in ``faults`` (no cost yet)."""
    usage = getattr(response, "usage", None)
    counts: dict[str, int] = {}
    faults: list[str] = []
    for field in ("prompt_tokens", "completion_tokens"):
        reported = getattr(usage, field, None)
        known = known_tokens(reported)
        counts[field] = 0 if known is None else known
        if known is None:
            faults.append(f"{field} {reported!r}")
    return CallUsage(counts["prompt_tokens"], counts["completion_tokens"], None, tuple(faults))


def with_cost(usage: CallUsage, reported_cost: float | None) -> CallUsage:
    """Return ``usage`` with its cost: unknown when any token count was impossible, or the cost itself is."""
    if usage.faults:
        return CallUsage(usage.prompt_tokens, usage.completion_tokens, None, (*usage.faults, "cost unknown"))
    cost = known_cost(reported_cost)
    if reported_cost is not None and cost is None:
        return CallUsage(usage.prompt_tokens, usage.completion_tokens, None, (f"cost_usd {reported_cost!r}",))
    return CallUsage(usage.prompt_tokens, usage.completion_tokens, cost)
