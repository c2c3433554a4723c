"""Tests of ``service/stores/limits/rate_limits.py``: rpm and tpm windows, in memory and shared on a real Redis."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import respx
from fastapi.testclient import TestClient
from redis.asyncio import Redis

from service.api.app import create_app
from service.errors import ModelBudgetExhausted, StoreUnavailable
from service.llm.client import ModelClient
from service.settings import ModelEntry
from service.stores.limits.rate_limits import RateLimits, token_estimate
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import scripted_openai_reply

MESSAGES = [{"role": "user", "content": "[S1] Prices rose 3% in June."}]


def limited(rpm: int | None = None, tpm: int | None = None) -> ModelEntry:
    """Return an OpenAI alias with the given limits."""
    params: dict[str, object] = {"model": "openai/gpt-4o-mini", "api_key": "os.environ/OPENAI_API_KEY"}
    params |= {"rpm": rpm} if rpm else {}
    params |= {"tpm": tpm} if tpm else {}
    return ModelEntry(model_name="gpt", litellm_params=params)


def test_a_call_reserves_its_prompt_and_the_completion_it_allows() -> None:
    """The estimate is the prompt at three characters a token, rounded up, plus max_tokens (or 1,024)."""
    messages = [{"role": "system", "content": "x" * 300}, {"role": "user", "content": "y" * 301}]
    assert token_estimate(messages, {"max_tokens": 2048}) == 201 + 2048
    assert token_estimate(messages, {}) == 201 + 1024
    chinese = [{"role": "user", "content": "物价上涨了百分之三"}]
    assert token_estimate(chinese, {"max_tokens": 10}) == 9 + 10  # a token a character


def test_mixed_scripts_count_ascii_by_threes_and_every_other_character_alone() -> None:
    """Counting ASCII in C (not a character at a time) gives the same estimate for mixed text."""
    text = "Prices rose 3% — 物价上涨 😀 in Zürich, said Ms. Ødegaard. " * 50
    ascii_chars = sum(1 for char in text if char.isascii())
    expected = -(-ascii_chars // 3) + (len(text) - ascii_chars) + 7
    assert token_estimate([{"role": "user", "content": text}], {"max_tokens": 7}) == expected


async def test_over_budget_with_no_wait_fails_fast_with_retry_after() -> None:
    """Rpm 2 and rate_limit_wait_s 0: the third call in the minute is refused at once, saying when there is room."""
    entry = limited(rpm=2)
    limits = RateLimits([entry], max_wait_s=0)
    await limits.acquire(entry, 10)
    await limits.acquire(entry, 10)
    with pytest.raises(ModelBudgetExhausted) as refused:
        await limits.acquire(entry, 10)
    assert refused.value.status == 503
    assert 55 <= float(refused.value.headers()["Retry-After"]) <= 63  # the window: a minute and 3 s of margin
    assert "rpm" in refused.value.detail


async def test_tokens_count_against_tpm_and_a_reply_over_its_reservation_is_charged() -> None:
    """Tpm 1,000: two calls reserving 400 fit, a third does not; a reply using more than reserved is charged."""
    entry = limited(tpm=1000)
    limits = RateLimits([entry], max_wait_s=0)
    await limits.acquire(entry, 400)
    await limits.charge(entry, reserved_tokens=400, used_tokens=500)  # 100 more than reserved
    await limits.acquire(entry, 400)
    with pytest.raises(ModelBudgetExhausted, match="tpm"):
        await limits.acquire(entry, 200)  # 900 used: 200 more would pass 1,000


async def test_a_call_larger_than_a_whole_minute_says_so() -> None:
    """A call needing more tokens than tpm allows in a minute can never run: the error says what to change."""
    entry = limited(tpm=1000)
    with pytest.raises(ModelBudgetExhausted, match="raise the limit or lower chunk_tokens"):
        await RateLimits([entry], max_wait_s=60).acquire(entry, 5000)


async def test_a_call_over_budget_waits_for_room_when_allowed() -> None:
    """With time to wait, a call over budget waits for the window instead of failing (here: cut off at 0.3 s)."""
    entry = limited(rpm=1)
    limits = RateLimits([entry], max_wait_s=90)
    await limits.acquire(entry, 1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(limits.acquire(entry, 1), timeout=0.3)


async def test_the_budget_is_shared_by_every_process_on_redis(redis_url: str) -> None:
    """Two limiters on one Redis (two processes) draw on one rpm budget: 3 calls pass in all, not 3 each."""
    entry = limited(rpm=3)
    first = RateLimits([entry], max_wait_s=0, redis=Redis.from_url(redis_url))
    second = RateLimits([entry], max_wait_s=0, redis=Redis.from_url(redis_url))
    try:
        passed = 0
        for limits in (first, second, first, second, first, second):
            try:
                await limits.acquire(entry, 1)
                passed += 1
            except ModelBudgetExhausted:
                pass
    finally:
        await first.close()
        await second.close()
    assert passed == 3


async def test_a_shared_budget_that_cannot_be_reached_is_a_503_not_a_call_over_it() -> None:
    """With the limits' Redis down, a call fails closed (503 store-unavailable) rather than risk the budget."""
    entry = limited(rpm=3)
    limits = RateLimits([entry], max_wait_s=0, redis=Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1))
    try:
        with pytest.raises(StoreUnavailable, match="rate limits cannot be reached"):
            await limits.acquire(entry, 1)
    finally:
        await limits.close()


def test_the_api_answers_503_with_retry_after_when_the_budget_is_spent(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """With rpm 1 and no waiting, a second extraction in the minute is a 503 with Retry-After; one call made."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    settings = hosted_settings(
        tmp_path, models=[limited(rpm=1)], default_model="gpt", fallbacks={}, rate_limit_wait_s=0
    )
    with TestClient(create_app(settings)) as client:
        first = client.post("/v1/extractions", json={"article": {"text": "Prices rose 3% in June."}})
        second = client.post("/v1/extractions", json={"article": {"text": "Rents rose 7% in July."}})
    assert first.status_code == 200
    assert (second.status_code, second.json()["type"]) == (503, "/problems/model-budget-exhausted")
    assert int(second.headers["retry-after"]) > 0
    assert route.call_count == 1
    assert "rpm" not in json.loads(route.calls[0].request.content)


async def test_the_client_charges_tpm_from_the_reply_usage(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """Through the real litellm path, a tpm of 3,000 admits one call reserving ~1,030 tokens, and a second."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    entry = limited(tpm=3000)
    client = ModelClient(
        hosted_settings(tmp_path, models=[entry], default_model="gpt", fallbacks={}, rate_limit_wait_s=0)
    )
    await client.complete(entry, MESSAGES, {})
    await client.complete(entry, MESSAGES, {})
    with pytest.raises(ModelBudgetExhausted):
        await client.complete(entry, MESSAGES, {})
    assert route.call_count == 2


async def test_a_call_waiting_on_one_window_holds_no_slot_in_the_other() -> None:
    """A call refused for tpm takes no rpm slot: slots are taken together, only when the call can go at once."""
    entry = limited(rpm=5, tpm=1000)
    limits = RateLimits([entry], max_wait_s=0)
    await limits.acquire(entry, 900)
    with pytest.raises(ModelBudgetExhausted, match="tpm"):
        await limits.acquire(entry, 200)
    for _ in range(4):  # the refused call left all four remaining rpm slots
        await limits.acquire(entry, 1)
    with pytest.raises(ModelBudgetExhausted, match="rpm"):
        await limits.acquire(entry, 1)
