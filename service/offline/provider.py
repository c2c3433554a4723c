"""The built-in offline model, plugged into litellm as the custom provider ``offline`` (model ``offline/rules``).

litellm routes a model string ``offline/<anything>`` to the handler registered under the provider name
``offline`` in ``litellm.custom_provider_map``; the handler answers from the rules in
``service.offline.rules``, without network or weights. The model is also registered in litellm's price
map at zero cost, so ``litellm.completion_cost`` returns 0.0 for it instead of raising.

The handler reads the sentences from the last user message holding ``[S<n>]`` lines (a repair re-ask
appends messages without them) and ignores every sampling and format parameter: its reply is always the
JSON of a ``ModelReply``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import litellm
from litellm import ModelResponse, Usage
from litellm.llms.custom_llm import CustomLLM

from service.offline import OFFLINE_MODEL, OFFLINE_PROVIDER
from service.offline.checkworthiness import ARTICLE_LANGUAGE
from service.offline.rules import extract_offline_reply
from service.prompts.sentence_lines import last_sentence_lines
from service.steps.cpu import on_the_cpu_thread

CHARS_PER_TOKEN = 4
OFFLINE_MODEL_INFO: dict[str, Any] = {
    "input_cost_per_token": 0.0,
    "output_cost_per_token": 0.0,
    # explicit zeros: without them register_model logs a warning about cache pricing
    "cache_creation_input_token_cost": 0.0,
    "cache_read_input_token_cost": 0.0,
    "litellm_provider": OFFLINE_PROVIDER,
    "mode": "chat",
    "max_tokens": 8192,
    "max_input_tokens": 131072,
    "max_output_tokens": 8192,
}


def message_text(message: Mapping[str, Any]) -> str:
    """Return a chat message's text, whether its content is a string or a list of text parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def sentences_from_messages(messages: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """Return the ``[S<n>]`` sentences of the last user message that has any; empty when none has."""
    return last_sentence_lines([message_text(message) for message in messages if message.get("role") == "user"])


def estimate_tokens(text_length: int) -> int:
    """Estimate a token count as one token per four characters, rounded up."""
    return math.ceil(text_length / CHARS_PER_TOKEN)


def offline_response(
    messages: Sequence[Mapping[str, Any]], model_response: Any = None, language: str | None = None
) -> ModelResponse:
    """Answer ``messages`` with the rules (for an article in ``language``), filling ``model_response`` or a new one."""
    content = extract_offline_reply(sentences_from_messages(messages), language).model_dump_json()
    response = model_response if isinstance(model_response, ModelResponse) else ModelResponse()
    response.choices[0].message.content = content
    response.choices[0].finish_reason = "stop"
    response.model = OFFLINE_MODEL
    prompt_tokens = estimate_tokens(sum(len(message_text(message)) for message in messages))
    completion_tokens = estimate_tokens(len(content))
    usage = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )
    setattr(response, "usage", usage)  # noqa: B010 - `usage` is not a declared field of ModelResponse
    return response


class OfflineRulesLLM(CustomLLM):
    """litellm handler of the ``offline`` provider: rules instead of a model, same reply contract."""

    def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> ModelResponse:
        """Answer a chat completion synchronously; sampling and format parameters are ignored."""
        return offline_response(messages, kwargs.get("model_response"), ARTICLE_LANGUAGE.get())

    async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> ModelResponse:
        """Answer a chat completion in a worker thread, so that a long article never stalls the event loop."""
        response = kwargs.get("model_response")  # the article's language is read here, in the caller's context
        return await on_the_cpu_thread(partial(offline_response, messages, response, ARTICLE_LANGUAGE.get()))


_HANDLER = OfflineRulesLLM()


def register_offline_provider() -> None:
    """Register the ``offline`` provider and the zero-priced ``offline/rules`` model with litellm; idempotent."""
    providers = list(litellm.custom_provider_map or [])
    if not any(entry.get("provider") == OFFLINE_PROVIDER for entry in providers):
        litellm.custom_provider_map = [*providers, {"provider": OFFLINE_PROVIDER, "custom_handler": _HANDLER}]
    registered = litellm.model_cost.get(OFFLINE_MODEL, {})
    if any(registered.get(key) != value for key, value in OFFLINE_MODEL_INFO.items()):
        litellm.register_model({OFFLINE_MODEL: dict(OFFLINE_MODEL_INFO)})
