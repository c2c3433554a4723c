"""Ask one model for a reply that validates, re-asking with the validation error when it does not.

This is the repair loop, with its own budget (``repair_attempts``); transport retries live in
``service.llm.client`` and never spend a repair. ``reask`` is the loop's one turn as a function: whether an
answer needs a re-ask, and the conversation that re-asks it; a batch-mode job builds its follow-up batches
with it, so a re-ask sent in a batch is exactly the one the loop would send (and is found by it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas import ModelReply
from service.errors import InvalidModelOutput, ReplyCutOff
from service.llm.client import ChatModels, ModelAnswer
from service.observability import metrics
from service.pipeline.replies import ReplyRejected, parse_model_reply
from service.prompts.rendering import render_repair
from service.prompts.spec import PromptVersion
from service.settings import ModelEntry


@dataclass
class CallTally:
    """Running totals of the model calls made for one chunk."""

    model_calls: int = 0
    retries: int = 0
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    usage_faults: list[str] = field(default_factory=list)  # one line per call whose usage could not be true

    def add(self, answer: ModelAnswer, alias: str) -> None:
        """Count one answered call of ``alias``, noting usage its provider reported that could not be true."""
        self.model_calls += 1
        if answer.usage_faults:
            faults = ", ".join(answer.usage_faults)
            self.usage_faults.append(f"model {alias!r} reported impossible usage ({faults}); counted as unknown")
        self.prompt_tokens += answer.prompt_tokens
        self.completion_tokens += answer.completion_tokens
        self.cost_usd = None if self.cost_usd is None or answer.cost_usd is None else self.cost_usd + answer.cost_usd

    def count_retry(self) -> None:
        """Count one transport retry (of a call that succeeded in the end or not)."""
        self.retries += 1


@dataclass(frozen=True, slots=True)
class ValidReply:
    """A reply that passed the schema, with the model that gave it."""

    reply: ModelReply
    answer: ModelAnswer


def rejection(content: str) -> str | None:
    """Return why a reply's text is not in the reply schema (the error a re-ask carries), or None when it is."""
    try:
        parse_model_reply(content)
    except ReplyRejected as exc:
        return str(exc)
    return None


def repaired(
    prompt: PromptVersion, conversation: list[dict[str, str]], content: str, error: str
) -> list[dict[str, str]]:
    """Return the conversation that re-asks a reply: it, then the repair message with the validation error."""
    return [
        *conversation,
        {"role": "assistant", "content": content},
        {"role": "user", "content": render_repair(prompt, error)},
    ]


def reask(
    prompt: PromptVersion, conversation: list[dict[str, str]], answer: ModelAnswer, repairs_left: int
) -> list[dict[str, str]] | None:
    """Return the conversation re-asking ``answer``, or None: it is valid, cut off, or no repair is left."""
    if answer.finish_reason == "length" or repairs_left <= 0:
        return None
    error = rejection(answer.content)
    return None if error is None else repaired(prompt, conversation, answer.content, error)


async def ask_with_repair(
    client: ChatModels,
    entry: ModelEntry,
    prompt: PromptVersion,
    messages: list[dict[str, str]],
    repair_attempts: int,
    tally: CallTally,
) -> ValidReply:
    """Call ``entry`` until its reply validates, re-asking at most ``repair_attempts`` times."""
    conversation = list(messages)
    for attempt in range(repair_attempts + 1):
        answer = await client.complete(entry, conversation, prompt.spec.params, on_retry=tally.count_retry)
        tally.add(answer, entry.model_name)
        if answer.finish_reason == "length":
            raise ReplyCutOff(
                f"model {entry.model_name!r} stopped at its token limit (max_tokens)",
                model_alias=entry.model_name,
                attempts=attempt + 1,
                last_output=answer.content,
            )
        try:
            return ValidReply(reply=parse_model_reply(answer.content), answer=answer)
        except ReplyRejected as exc:
            error = str(exc)
        if attempt < repair_attempts:
            tally.repairs += 1
            metrics.record_model_event(entry.model_name, entry.model, "repaired")
            conversation = repaired(prompt, conversation, answer.content, error)
    raise InvalidModelOutput(
        f"model {entry.model_name!r} gave no valid reply after {repair_attempts} repair(s): {error}",
        model_alias=entry.model_name,
        attempts=repair_attempts + 1,
        last_output=answer.content,
    )
