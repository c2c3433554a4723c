"""Tests of ``service/llm/batch_answers.py``: a batch's answer where it has one, the model in real time otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import respx

from service.llm.batch_answers import BatchAnswers, answer_from_body
from service.llm.batch_api import custom_id_for
from service.llm.client import ModelClient
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import openai_chat_completion, scripted_openai_reply

MESSAGES = [{"role": "user", "content": "[S1] Prices rose 3% in May."}]


async def test_a_call_the_batch_answered_is_read_from_it_at_the_batch_price(
    tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """No HTTP call: the stored body's content, tokens, and cost at gpt-4o-mini's batch price."""
    settings = hosted_settings(tmp_path)
    gpt = settings.model_entry("gpt")
    assert gpt is not None
    client = ModelClient(settings)
    stored = {
        custom_id_for("gpt", client.mode_for(gpt), MESSAGES): json.dumps(
            openai_chat_completion('{"claims": []}', prompt_tokens=1000, completion_tokens=100)
        )
    }

    async def lookup(custom_id: str) -> str | None:
        return stored.get(custom_id)

    answers = BatchAnswers(client, lookup)
    answer = await answers.complete(gpt, MESSAGES, {})
    assert answer.content == '{"claims": []}'
    assert (answer.prompt_tokens, answer.completion_tokens) == (1000, 100)
    assert answer.cost_usd == pytest.approx(1000 * 7.5e-08 + 100 * 3e-07)
    assert (answers.from_batch, answers.realtime_calls) == (1, 0)
    await client.close()


async def test_a_call_the_batch_did_not_answer_is_asked_in_real_time(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """A question not in the batch (a repair re-ask, a half chunk) goes to the model, at its realtime price."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    settings = hosted_settings(tmp_path)
    gpt = settings.model_entry("gpt")
    assert gpt is not None
    client = ModelClient(settings)

    async def nothing(custom_id: str) -> str | None:
        return None

    answers = BatchAnswers(client, nothing)
    answer = await answers.complete(gpt, MESSAGES, {})
    assert route.call_count == 1
    assert json.loads(answer.content)["claims"][0]["quote"] == "Prices rose 3% in May."
    assert answer.cost_usd == pytest.approx(120 * 1.5e-07 + 40 * 6e-07)
    assert (answers.from_batch, answers.realtime_calls) == (0, 1)
    await client.close()


def test_a_tool_mode_answer_is_its_forced_calls_arguments(tmp_path: Path) -> None:
    """In tool mode the reply's JSON is the report_claims call's arguments; a body without choices is no answer."""
    gpt = hosted_settings(tmp_path).model_entry("gpt")
    assert gpt is not None
    message = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "report_claims", "arguments": '{"claims": []}'}}
    ]}  # fmt: skip
    body = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": {}}
    answer = answer_from_body(gpt, "tool", body)
    assert answer is not None
    assert answer.content == '{"claims": []}'
    assert answer_from_body(gpt, "tool", {"choices": []}) is None
