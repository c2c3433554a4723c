"""What an extraction may spend, reckoned before any model is called: the unit quotas are reserved in.

The pipeline makes it (``service.pipeline.spending``); the key quotas hold it (``quotas.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MICRO_USD = 1_000_000


def micro_usd(cost_usd: float | None) -> int:
    """Return a cost in whole micro-dollars, rounded up (unknown: nothing)."""
    return math.ceil((cost_usd or 0.0) * MICRO_USD)


@dataclass(frozen=True, slots=True)
class Estimate:
    """What an extraction may spend, reckoned before any model is called: its prompts and the replies they allow.

    The costs are None when no model the request may reach is in litellm's price map.
    """

    prompt_tokens: int
    completion_tokens: int
    prompt_cost_usd: float | None = None
    completion_cost_usd: float | None = None

    def needs(self, quota: str) -> tuple[int, int]:
        """Return what a day quota must hold for this estimate, and the least that must be left to admit it.

        The least is the prompt (certain to be sent once a model is called); the whole is prompt and completion.
        """
        if quota == "tokens":
            return self.prompt_tokens + self.completion_tokens, max(1, self.prompt_tokens)
        if self.prompt_cost_usd is None or self.completion_cost_usd is None:
            return 0, 0
        whole = micro_usd(self.prompt_cost_usd + self.completion_cost_usd)
        return whole, max(1, micro_usd(self.prompt_cost_usd)) if whole else 0
