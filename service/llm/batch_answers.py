"""A chat client for a batch-mode job's articles: a chunk call the batch answered is read from its answer.

The article workers run a batch-mode article through the same pipeline as any other (reply cache, repair,
grounding, faithfulness); only the client differs. Asked a question the batch answered (the same alias,
structured-output mode and messages: the same ``custom_id``), it returns the batch's answer, priced at the
batch price where litellm's map has one (else unknown). A repair re-ask is answered the same way when a
follow-up batch sent it (its conversation is the repair loop's own: the same ``custom_id``); asked anything
else (a re-ask of a job whose re-asks are made in real time, or of a batch that failed, a half of a chunk
cut off at the token limit, a call the batch failed or did not reach), it asks the model in real time.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from service.llm.batch_api import batch_prices, custom_id_for
from service.llm.client import ModelAnswer, ModelClient, no_retry_note
from service.llm.structured_output import TOOL_NAME
from service.llm.usage import CallUsage, known_tokens, with_cost
from service.observability import metrics
from service.settings import ModelEntry, StructuredOutput

AnswerLookup = Callable[[str], Awaitable[str | None]]


def _reply_text(message: Mapping[str, Any], mode: StructuredOutput) -> str:
    """Return the reply's JSON text from a chat completion body's message (a forced tool call's, in tool mode)."""
    if mode == "tool":
        for call in message.get("tool_calls") or []:
            if call.get("function", {}).get("name") == TOOL_NAME:
                return str(call["function"].get("arguments") or "")
    return str(message.get("content") or "")


def batch_usage(entry: ModelEntry, usage: Mapping[str, Any]) -> CallUsage:
    """Return a batch answer's tokens and its cost at the batch price (unknown when the map has none)."""
    counts = {field: known_tokens(usage.get(field)) for field in ("prompt_tokens", "completion_tokens")}
    faults = tuple(f"{field} {usage.get(field)!r}" for field, known in counts.items() if known is None)
    prompt, completion = counts["prompt_tokens"] or 0, counts["completion_tokens"] or 0
    prices = batch_prices(entry)
    cost = None if prices is None else prompt * prices[0] + completion * prices[1]
    return with_cost(CallUsage(prompt, completion, None, faults), cost)


def answer_from_body(entry: ModelEntry, mode: StructuredOutput, body: Mapping[str, Any]) -> ModelAnswer | None:
    """Return a batch line's chat completion as a model answer (None when it holds no choice); nothing is counted."""
    choices = body.get("choices") or []
    if not choices:
        return None
    usage = batch_usage(entry, body.get("usage") or {})
    return ModelAnswer(
        content=_reply_text(choices[0].get("message") or {}, mode), finish_reason=choices[0].get("finish_reason"),
        model=entry.model, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd, structured_output=mode, usage_faults=usage.faults,
    )  # fmt: skip


class BatchAnswers:
    """Answers from a job's batch where it has them, and from the realtime client otherwise."""

    def __init__(self, realtime: ModelClient, lookup: AnswerLookup) -> None:
        self._realtime = realtime
        self._lookup = lookup
        self.from_batch = 0  # calls the batch answered
        self.realtime_calls = 0  # calls asked in real time (re-asks, and what the batch did not answer)

    def mode_for(self, entry: ModelEntry) -> StructuredOutput:
        """Return how ``entry`` is asked for JSON (the realtime client's choice, as when the batch was made)."""
        return self._realtime.mode_for(entry)

    async def complete(
        self,
        entry: ModelEntry,
        messages: list[dict[str, str]],
        prompt_params: Mapping[str, Any],
        *,
        on_retry: Callable[[], None] = no_retry_note,
    ) -> ModelAnswer:
        """Return the batch's answer to this call if it has one; else ask the model now."""
        mode = self.mode_for(entry)
        stored = await self._lookup(custom_id_for(entry.model_name, mode, messages))
        if stored is not None:
            answer = answer_from_body(entry, mode, json.loads(stored))
            if answer is not None:
                self.from_batch += 1
                metrics.record_model_call(
                    entry.model_name, entry.model, answer.prompt_tokens, answer.completion_tokens, answer.cost_usd
                )
                return answer
        self.realtime_calls += 1
        return await self._realtime.complete(entry, messages, prompt_params, on_retry=on_retry)
