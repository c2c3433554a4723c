"""The offline model through litellm's real call path: routing, reply, usage, cost and registration."""

from __future__ import annotations

import math
import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before anything imports litellm

import litellm
import pytest
from litellm.llms.custom_llm import CustomLLM
from pydantic import BaseModel

from schemas.model_reply import ModelReply
from service.offline.provider import OFFLINE_MODEL, register_offline_provider

# litellm 1.106.2 builds a pydantic schema for a TypedDict with `ReadOnly` items when it first makes a response;
# pydantic 2.14 warns about it, and the project turns warnings into errors. Not ours to fix; ignore just that one.

SYSTEM = {"role": "system", "content": "You are a fact-checking assistant. Reply with JSON only."}
USER = {
    "role": "user",
    "content": (
        "Title: Crime figures\nSentences:\n"
        "[S1] The FBI’s 2024 report indicates violent crime is down 15.2%.\n"
        "[S2] Is that good news?\n"
        "[S3] The stream began after a 42-minute delay.\n"
    ),
}


@pytest.fixture(autouse=True)
def registered() -> None:
    """Register the offline provider before each test."""
    register_offline_provider()


async def ask(messages: list[dict[str, Any]], **params: Any) -> Any:
    """Call the offline model through litellm.acompletion with ``params``."""
    return await litellm.acompletion(model=OFFLINE_MODEL, messages=messages, **params)


async def test_reply_validates_as_a_model_reply() -> None:
    """The reply content is ModelReply JSON citing the checkable sentences, with finish reason stop."""
    response = await ask([SYSTEM, USER])
    reply = ModelReply.model_validate_json(response.choices[0].message.content)
    assert [claim.sentence_ids for claim in reply.claims] == [[1], [3]]
    assert response.choices[0].finish_reason == "stop"
    assert response.model == OFFLINE_MODEL


async def test_usage_estimates_tokens_from_characters() -> None:
    """Usage reports ceil(chars / 4) prompt and completion tokens, both above zero."""
    response = await ask([SYSTEM, USER])
    prompt_chars = len(SYSTEM["content"]) + len(USER["content"])
    assert response.usage.prompt_tokens == math.ceil(prompt_chars / 4) > 0
    assert response.usage.completion_tokens == math.ceil(len(response.choices[0].message.content) / 4) > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


async def test_completion_cost_is_zero() -> None:
    """The offline model is priced by litellm at exactly 0.0 instead of raising."""
    response = await ask([SYSTEM, USER])
    assert litellm.completion_cost(completion_response=response) == 0.0


def test_registration_is_idempotent_and_keeps_other_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registering again adds no second offline entry and leaves other custom providers in place."""
    other = {"provider": "someone-else", "custom_handler": CustomLLM()}
    monkeypatch.setattr(litellm, "custom_provider_map", [other])
    register_offline_provider()
    register_offline_provider()
    providers = [entry["provider"] for entry in litellm.custom_provider_map]
    assert providers == ["someone-else", "offline"]
    assert litellm.custom_provider_map[0] is other


async def test_repair_message_without_sentence_lines_answers_from_the_earlier_message() -> None:
    """A repair re-ask appended after the prompt is answered from the last message that has [S<n>] lines."""
    repair = {"role": "user", "content": "Your reply could not be used: invalid JSON. Reply again with JSON only."}
    response = await ask([SYSTEM, USER, {"role": "assistant", "content": "not json"}, repair])
    reply = ModelReply.model_validate_json(response.choices[0].message.content)
    assert [claim.sentence_ids for claim in reply.claims] == [[1], [3]]


async def test_messages_without_sentence_lines_give_an_empty_reply() -> None:
    """Without any [S<n>] line the reply is the empty claim list."""
    response = await ask([SYSTEM, {"role": "user", "content": "Hello there."}])
    assert ModelReply.model_validate_json(response.choices[0].message.content).claims == []


class _Reply(BaseModel):
    """A stand-in response model for the pydantic response_format path."""

    claims: list[dict[str, Any]]


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_object"},
        _Reply,
        {"type": "json_schema", "json_schema": {"name": "reply", "schema": ModelReply.model_json_schema()}},
    ],
    ids=["json_object", "pydantic", "json_schema"],
)
async def test_response_format_and_sampling_params_are_accepted(response_format: Any) -> None:
    """response_format, temperature, max_tokens, timeout and num_retries=0 are accepted and ignored."""
    response = await ask(
        [SYSTEM, USER], response_format=response_format, temperature=0, max_tokens=512, timeout=5, num_retries=0
    )
    assert len(ModelReply.model_validate_json(response.choices[0].message.content).claims) == 2


def test_sync_completion_answers_too() -> None:
    """litellm.completion (sync) routes to the same rules."""
    response = litellm.completion(model=OFFLINE_MODEL, messages=[SYSTEM, USER])
    assert len(ModelReply.model_validate_json(response.choices[0].message.content).claims) == 2
