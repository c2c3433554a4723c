"""Daily quotas under concurrency, through the ASGI app: each request reserves its estimate before any model call.

Requests are sent at once with ``asyncio.gather`` through ``httpx.ASGITransport`` (the app runs in the
sending task, so cancelling the task is a client that disconnected); the model is the offline one, or
OpenAI mocked at the HTTP boundary with respx in its real payload shape. Embedded and on Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from service.api.app import create_app
from service.api.auth import key_hash
from service.settings import ApiKey, Settings
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import openai_error, scripted_openai_reply

KEY = "ce_racer-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SettingsFor = Callable[..., Settings]


def article(n: int) -> dict[str, Any]:
    """Return a small article of its own (no two share a cache entry), about 420 tokens to extract offline."""
    text = f"Prices rose {n + 2}% in June, the ONS said. Unemployment fell to {n % 7 + 3}.{n % 10}% in May."
    return {"article": {"id": f"a{n}", "text": text}}


@pytest.fixture(params=["embedded", "redis"])
def settings_for(request: pytest.FixtureRequest, tmp_path: Path) -> SettingsFor:
    """Return a maker of settings whose one key (``racer``) has the quotas given, embedded or on Redis."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None

    def make(*, hosted: bool = False, **quotas: Any) -> Settings:
        keys = [ApiKey(name="racer", hash=key_hash(KEY), scopes=["extract", "jobs"], **quotas)]
        base = hosted_settings(tmp_path) if hosted else Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "d")
        return base.model_copy(update={"api_keys": keys, "redis_url": redis_url and SecretStr(redis_url)})

    return make


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app (its lifespan too) and yield a client that calls it in the calling task."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def spent(replies: list[httpx.Response]) -> int:
    """Return the model tokens the answered replies used."""
    return sum(r.json()["usage"]["prompt_tokens"] + r.json()["usage"]["completion_tokens"] for r in answered(replies))


def answered(replies: list[httpx.Response]) -> list[httpx.Response]:
    """Return the 200s."""
    return [reply for reply in replies if reply.status_code == 200]


async def test_thirty_concurrent_requests_spend_no_more_than_the_day_s_tokens(settings_for: SettingsFor) -> None:
    """A key allowed 1,000 tokens a day sends 30 requests at once: some pass, the rest are 429, <= 1,000 spent."""
    async with served(settings_for(tokens_per_day=1000)) as client:
        replies = await asyncio.gather(
            *(client.post("/v1/extractions", json=article(n), headers=AUTH) for n in range(30))
        )
    refused = [reply for reply in replies if reply.status_code == 429]
    assert answered(replies)
    assert len(answered(replies)) + len(refused) == 30
    assert 0 < spent(replies) <= 1000
    assert {reply.json()["type"] for reply in refused} == {"/problems/quota-exceeded"}
    assert all(
        int(reply.headers["retry-after"]) > 0 and '"tokens";r=' in reply.headers["ratelimit"] for reply in refused
    )


async def test_a_key_makes_the_requests_that_fit_in_its_day_and_no_more(settings_for: SettingsFor) -> None:
    """One after another on 1,000 tokens: two small articles fit (about 420 each), the third's prompt does not."""
    async with served(settings_for(tokens_per_day=1000)) as client:
        replies = [await client.post("/v1/extractions", json=article(n), headers=AUTH) for n in range(4)]
    assert [reply.status_code for reply in replies] == [200, 200, 429, 429]
    assert spent(replies) <= 1000
    assert replies[1].headers["ratelimit"].startswith(f'"tokens";r={1000 - spent(replies)};')


async def test_concurrent_requests_spend_no_more_than_the_day_s_cost(
    settings_for: SettingsFor, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """A key allowed $0.0005 a day on gpt-4o-mini ($0.000042 a call here) sends 30 at once: <= $0.0005 spent."""
    http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    async with served(settings_for(hosted=True, cost_usd_per_day=0.0005)) as client:
        replies = await asyncio.gather(
            *(client.post("/v1/extractions", json=article(n), headers=AUTH) for n in range(30))
        )
    assert answered(replies)
    assert 429 in {reply.status_code for reply in replies}
    assert sum(reply.json()["usage"]["cost_usd"] for reply in answered(replies)) <= 0.0005


async def test_a_failed_request_holds_the_day_while_it_runs_and_gives_it_back(
    settings_for: SettingsFor, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """While a request waits on its model, one not fitting beside it is refused; once it fails, all is back."""
    release = asyncio.Event()
    calls = 0

    async def first_fails(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            await release.wait()
            return openai_error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key")
        return scripted_openai_reply(request)

    http_mock.post(OPENAI_URL).mock(side_effect=first_fails)
    async with served(settings_for(hosted=True, tokens_per_day=2600)) as client:  # one estimate (~2,470) fits
        failing = asyncio.create_task(client.post("/v1/extractions", json=article(0), headers=AUTH))
        await until(lambda: calls == 1)
        beside = await client.post("/v1/extractions", json=article(1), headers=AUTH)
        release.set()
        failed = await failing
        after = await client.post("/v1/extractions", json=article(2), headers=AUTH)
    assert beside.status_code == 429
    assert failed.status_code >= 500
    assert after.status_code == 200
    assert after.headers["ratelimit"].startswith(f'"tokens";r={2600 - 160};')  # only its own 120 + 40 counted


async def test_a_cancelled_request_gives_its_reservation_back(
    settings_for: SettingsFor, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """A client that goes away while its model is asked (its task cancelled) leaves nothing held of the day."""
    never = asyncio.Event()
    calls = 0

    async def first_hangs(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            await never.wait()
        return scripted_openai_reply(request)

    http_mock.post(OPENAI_URL).mock(side_effect=first_hangs)
    async with served(settings_for(hosted=True, tokens_per_day=2600)) as client:
        hanging = asyncio.create_task(client.post("/v1/extractions", json=article(0), headers=AUTH))
        await until(lambda: calls == 1)
        beside = await client.post("/v1/extractions", json=article(1), headers=AUTH)
        hanging.cancel()
        await asyncio.gather(hanging, return_exceptions=True)
        await asyncio.sleep(0.1)  # the settlement is shielded: it ends on its own
        after = await client.post("/v1/extractions", json=article(2), headers=AUTH)
    assert beside.status_code == 429
    assert after.status_code == 200
    assert after.headers["ratelimit"].startswith(f'"tokens";r={2600 - 160};')


async def test_a_job_s_articles_reserve_before_they_run(settings_for: SettingsFor) -> None:
    """Twelve articles run by six workers at once on a key allowed 1,000 tokens: <= 1,000 spent, the rest refused."""
    settings = settings_for(tokens_per_day=1000).model_copy(update={"job_workers": 6})
    async with served(settings) as client:
        submitted = await client.post("/v1/jobs", json={"requests": [article(n) for n in range(12)]}, headers=AUTH)
        job = submitted.json()
        deadline = time.monotonic() + 30
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            job = (await client.get(f"/v1/jobs/{job['id']}", headers=AUTH)).json()
    assert submitted.status_code == 202
    assert job["counts"]["succeeded"] >= 1
    assert job["counts"]["failed"] >= 1
    assert {error["type"] for error in job["errors"]} == {"/problems/quota-exceeded"}
    assert job["usage"]["prompt_tokens"] + job["usage"]["completion_tokens"] <= 1000


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait until ``condition`` holds (a test failure after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)
