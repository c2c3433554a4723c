"""Tests of ``service/stores/limits/quotas.py`` and ``key_budget.py``: reservations of a key's day, settled after.

Embedded (the limits library's memory storage) and on a real Redis (the tests' own database).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from schemas import Usage
from service.errors import ArticleTooLarge, QuotaExceeded, QuotaHeld
from service.settings import ApiKey
from service.stores.limits.estimate import Estimate
from service.stores.limits.key_budget import KeyBudget, budget_for
from service.stores.limits.quotas import HELD_RETRY_S, KeyQuotas, Reservation
from service.stores.redis_connection import LIMITS_TIMEOUT_S, open_redis

KEY = ApiKey(name="racer", hash="sha256:" + "0" * 64, scopes=["extract"], tokens_per_day=1000)
PRICED = ApiKey(name="payer", hash="sha256:" + "1" * 64, scopes=["extract"], cost_usd_per_day=0.001)


@pytest.fixture(params=["embedded", "redis"])
async def quotas(request: pytest.FixtureRequest) -> AsyncIterator[KeyQuotas]:
    """Key quotas in memory, or on the tests' Redis database."""
    if request.param == "embedded":
        found = KeyQuotas()
    else:
        found = KeyQuotas(open_redis(request.getfixturevalue("redis_url"), timeout_s=LIMITS_TIMEOUT_S))
    yield found
    await found.close()


async def left(quotas: KeyQuotas, key: ApiKey = KEY) -> int:
    """Return what is left of the key's first day quota."""
    return next(s.remaining for s in await quotas.standing(key) if s.policy.name != "requests")


async def test_concurrent_reservations_are_ordered_by_the_store(quotas: KeyQuotas) -> None:
    """Twenty at once, each 100 prompt + 150 completion, on 1,000 a day: four fit (a fifth finds 0 left)."""
    estimate = Estimate(prompt_tokens=100, completion_tokens=150)
    outcomes = await asyncio.gather(*(quotas.reserve(KEY, estimate) for _ in range(20)), return_exceptions=True)
    held = [outcome for outcome in outcomes if isinstance(outcome, Reservation)]
    assert len(held) == 4
    assert all(isinstance(outcome, QuotaExceeded) for outcome in outcomes if outcome not in held)
    assert await left(quotas) == 0
    for reservation in held:
        await quotas.settle(reservation, tokens=50, cost_usd=None)
    assert await left(quotas) == 1000 - 4 * 50


async def test_the_day_s_last_request_may_hold_more_than_is_left_when_its_prompt_fits(quotas: KeyQuotas) -> None:
    """700 spent: a request whose prompt (200) fits in the 300 left is admitted though its completion budget is not."""
    await quotas.settle(Reservation(KEY), tokens=700, cost_usd=None)
    last = await quotas.reserve(KEY, Estimate(prompt_tokens=200, completion_tokens=2048))
    with pytest.raises(QuotaExceeded, match="held by requests in flight"):
        await quotas.reserve(KEY, Estimate(prompt_tokens=1, completion_tokens=1))
    await quotas.settle(last, tokens=260, cost_usd=None)
    assert await left(quotas) == 40


async def test_a_refusal_for_what_requests_in_flight_hold_says_try_again_soon(quotas: KeyQuotas) -> None:
    """Room held by a running request: a 429 to retry in seconds; once it settles, the next request is admitted."""
    running = await quotas.reserve(KEY, Estimate(prompt_tokens=300, completion_tokens=2048))
    with pytest.raises(QuotaExceeded, match="held by requests in flight") as refused:
        await quotas.reserve(KEY, Estimate(prompt_tokens=300, completion_tokens=2048))
    assert refused.value.retry_after == HELD_RETRY_S
    await quotas.settle(running, tokens=420, cost_usd=None)
    await quotas.reserve(KEY, Estimate(prompt_tokens=300, completion_tokens=2048))


async def test_the_door_tells_a_request_to_retry_soon_while_the_day_is_only_held(quotas: KeyQuotas) -> None:
    """``admit`` (before the body is read): room held by a running request is a retry in seconds, not a day."""
    running = await quotas.reserve(KEY, Estimate(prompt_tokens=200, completion_tokens=800))
    with pytest.raises(QuotaHeld) as refused:
        await quotas.admit(KEY, spends=True)
    assert refused.value.retry_after == HELD_RETRY_S
    await quotas.settle(running, tokens=300, cost_usd=None)
    await quotas.admit(KEY, spends=True)


async def test_a_patient_budget_waits_for_what_requests_in_flight_hold(
    quotas: KeyQuotas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job article's budget is not refused while the day is only held: it reserves once the holder settles."""
    monkeypatch.setattr("service.stores.limits.quotas.HELD_RETRY_S", 0.05)
    running = await quotas.reserve(KEY, Estimate(prompt_tokens=300, completion_tokens=2048))
    patient = KeyBudget(quotas, KEY, patient=True)
    waiting = asyncio.create_task(patient.reserve(Estimate(prompt_tokens=300, completion_tokens=2048)))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await quotas.settle(running, tokens=420, cost_usd=None)
    await asyncio.wait_for(waiting, timeout=5)
    with pytest.raises(QuotaHeld):
        await KeyBudget(quotas, KEY).reserve(Estimate(prompt_tokens=300, completion_tokens=2048))


async def test_a_refusal_for_a_day_used_up_says_when_the_day_resets(quotas: KeyQuotas) -> None:
    """A day spent by settled requests (nothing in flight): a 429 whose Retry-After is the day's reset, not seconds."""
    await quotas.settle(Reservation(KEY), tokens=950, cost_usd=None)
    with pytest.raises(QuotaExceeded, match="used up") as refused:
        await quotas.reserve(KEY, Estimate(prompt_tokens=100, completion_tokens=2048))
    assert refused.value.retry_after is not None
    assert refused.value.retry_after > 86_000


async def test_a_prompt_larger_than_the_whole_day_is_refused_saying_so(quotas: KeyQuotas) -> None:
    """Prompts alone needing 1,500 tokens of a 1,000-token day can never fit: a 413 with no Retry-After, not a 429."""
    with pytest.raises(ArticleTooLarge, match="alone need about 1500 tokens, more than the API key 'racer' may spend"):
        await quotas.reserve(KEY, Estimate(prompt_tokens=1500, completion_tokens=10))
    assert await left(quotas) == 1000


async def test_a_settlement_after_the_day_ended_charges_only_what_passed_the_hold(quotas: KeyQuotas) -> None:
    """A reservation taken in a day that has since ended gives nothing back to the new day (never below zero)."""
    await quotas.settle(Reservation(KEY), tokens=100, cost_usd=None)  # the new day's first use
    old = Reservation(KEY, held={"tokens": 900}, taken_at=time.time() - 86_400 - 60)
    await quotas.settle(old, tokens=300, cost_usd=None)
    assert await left(quotas) == 900
    overrun = Reservation(KEY, held={"tokens": 100}, taken_at=time.time() - 86_400 - 60)
    await quotas.settle(overrun, tokens=250, cost_usd=None)
    assert await left(quotas) == 750


async def test_cost_is_reserved_in_micro_dollars_and_an_unpriced_estimate_reserves_none(quotas: KeyQuotas) -> None:
    """$0.0003 + $0.0006 held of $0.001; a second ($0.0002 prompt) does not fit; unpriced holds nothing."""
    first = await quotas.reserve(PRICED, Estimate(10, 10, prompt_cost_usd=0.0003, completion_cost_usd=0.0006))
    assert await left(quotas, PRICED) == 100
    with pytest.raises(QuotaExceeded, match="cost-microusd"):
        await quotas.reserve(PRICED, Estimate(10, 10, prompt_cost_usd=0.0002, completion_cost_usd=0.0))
    unpriced = await quotas.reserve(PRICED, Estimate(10, 10))
    assert unpriced.held == {}
    await quotas.settle(first, tokens=20, cost_usd=0.00012)
    assert await left(quotas, PRICED) == 1000 - 120


async def test_a_budget_gives_back_its_hold_for_the_usage_and_a_key_without_day_quotas_has_none(
    quotas: KeyQuotas,
) -> None:
    """A budget holds 200 while its request runs, then only the 50 used; a key counting no day quota gets no budget."""
    budget = KeyBudget(quotas, KEY)
    await budget.reserve(Estimate(prompt_tokens=100, completion_tokens=100))
    assert await left(quotas) == 800
    await budget.settle(Usage(prompt_tokens=30, completion_tokens=20))
    assert await left(quotas) == 950
    assert budget_for(quotas, KEY.model_copy(update={"tokens_per_day": None})) is None
    assert budget_for(quotas, None) is None


async def test_an_unreachable_quota_store_lets_the_request_run_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """Redis down: nothing is reserved and nothing charged, both logged; the request is not refused."""
    quotas = KeyQuotas(open_redis("redis://127.0.0.1:1/0", timeout_s=0.2))
    budget = KeyBudget(quotas, KEY)
    with caplog.at_level(logging.WARNING, logger="claims.quotas"):
        await budget.reserve(Estimate(prompt_tokens=100, completion_tokens=100))
        await budget.settle(Usage(prompt_tokens=30, completion_tokens=20))
    await quotas.close()
    messages = [record.getMessage() for record in caplog.records]
    assert any("nothing reserved" in message for message in messages)
    assert any("could not charge key 'racer' 50 tokens" in message for message in messages)
