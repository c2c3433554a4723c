"""Tests of ``service/llm/client.py``: transport retries, Retry-After and limits, on litellm's real HTTP path."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.llm.client import ModelClient, prices_per_token
from service.settings import ModelEntry
from tests.conftest import OPENAI_URL, hosted_settings
from tests.faults import (
    EMPTY_REPLY,
    OVERLOADED,
    PROVIDERS,
    RATE_LIMITED,
    extract,
    gap_between_two_calls,
    service,
)
from tests.providers import (
    anthropic_error,
    openai_chat_completion,
    openai_error,
    scripted_openai_reply,
)

pytestmark = pytest.mark.usefixtures("provider_keys")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rate_limit_waits_as_told_then_succeeds(provider: str, tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """A 429 with Retry-After is retried after the advised wait, then the 200 is used."""
    gap, result, calls = gap_between_two_calls(
        http_mock, provider, "0.3", hosted_settings(tmp_path, retry_max_wait_s=2.0)
    )
    assert calls == 2
    assert result["usage"]["retries"] == 1
    assert result["status"] == "complete"
    assert 0.3 <= gap < 1.5


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retry_after_beyond_the_cap_waits_only_the_cap(
    provider: str, tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """A Retry-After longer than retry_max_wait_s is bounded by it."""
    settings = hosted_settings(tmp_path, retry_max_wait_s=0.05)
    gap, result, calls = gap_between_two_calls(http_mock, provider, "3600", settings)
    assert calls == 2
    assert result["status"] == "complete"
    assert gap < 1.0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_persistent_rate_limit_is_a_429_problem_with_retry_after(
    provider: str, tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """When every attempt is rate limited, the client gets 429 with the provider's Retry-After."""
    alias, url, _ = PROVIDERS[provider]
    limited = RATE_LIMITED[provider]()
    limited.headers["retry-after"] = "7"
    route = http_mock.post(url).mock(return_value=limited)
    with service(hosted_settings(tmp_path, retry_attempts=3, retry_max_wait_s=0.01)) as client:
        response = extract(client, model=alias)
    assert route.call_count == 3
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["type"] == "/problems/upstream-rate-limited"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_overloaded_with_retry_after_waits_as_told(provider: str, tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """A 503/529 carrying Retry-After is retried after the advised wait, not the (shorter) backoff."""
    gap, result, calls = gap_between_two_calls(
        http_mock, provider, "1.5", hosted_settings(tmp_path, retry_max_wait_s=3.0), fault=OVERLOADED
    )
    assert calls == 2
    assert result["status"] == "complete"
    assert 1.5 <= gap < 2.5  # the first backoff would be 0.5-1.0 s


@pytest.mark.parametrize("provider", PROVIDERS)
def test_persistent_overload_is_a_503_problem_with_retry_after(
    provider: str, tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """When every attempt meets an overloaded provider that says when to come back, the 503 says it too."""
    alias, url, _ = PROVIDERS[provider]
    overloaded = OVERLOADED[provider]()
    overloaded.headers["retry-after"] = "9"
    http_mock.post(url).mock(return_value=overloaded)
    with service(hosted_settings(tmp_path, retry_attempts=2, retry_max_wait_s=0.01)) as client:
        response = extract(client, model=alias)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "9"
    assert response.json()["type"] == "/problems/upstream-unavailable"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_with_backoff(
    provider: str, status: int, tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """5xx answers are retried; the call that finally succeeds is used and the retries counted."""
    alias, url, ok = PROVIDERS[provider]
    failing = httpx.Response(status, json={"error": {"message": "upstream trouble", "type": "server_error"}})
    route = http_mock.post(url).mock(side_effect=[failing, failing, ok(EMPTY_REPLY)])
    with service(hosted_settings(tmp_path)) as client:
        result = extract(client, model=alias).json()
    assert route.call_count == 3
    assert result["usage"]["retries"] == 2
    assert result["status"] == "complete"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "fault", [httpx.ConnectError("connection refused"), httpx.ReadTimeout("read timed out")], ids=["connect", "timeout"]
)
def test_connection_errors_and_timeouts_are_retried(
    provider: str, fault: Exception, tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """A refused connection or a read timeout is retried like a 5xx.

    litellm's own HTTP client (used for Anthropic) reconnects once by itself after a refused connection,
    so there a refused connection must happen twice before our retry loop sees it.
    """
    alias, url, ok = PROVIDERS[provider]
    reconnects = provider == "anthropic" and isinstance(fault, httpx.ConnectError)
    failures = [fault, fault] if reconnects else [fault]
    route = http_mock.post(url).mock(side_effect=[*failures, ok(EMPTY_REPLY)])
    with service(hosted_settings(tmp_path)) as client:
        result = extract(client, model=alias).json()
    assert route.call_count == len(failures) + 1
    assert result["usage"]["retries"] == 1


def test_retries_are_bounded_by_total_time(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """With a total-time budget smaller than the backoff, retrying stops early instead of after all attempts."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=lambda request: OVERLOADED["openai"]())
    settings = hosted_settings(tmp_path, retry_attempts=10, retry_max_wait_s=0.3, retry_total_s=0.5)
    with service(settings) as client:
        response = extract(client)
    assert response.status_code == 503
    assert 2 <= route.call_count < 10


@pytest.mark.parametrize(
    ("provider", "status", "response"),
    [
        ("openai", 400, lambda: openai_error(400, "Invalid value for 'temperature'", "invalid_request_error")),
        ("openai", 403, lambda: openai_error(403, "Country not supported", "permission_error")),
        ("openai", 404, lambda: openai_error(404, "The model does not exist", "invalid_request_error")),
        ("anthropic", 400, lambda: anthropic_error(400, "invalid_request_error", "max_tokens: must be positive")),
        ("anthropic", 401, lambda: anthropic_error(401, "authentication_error", "invalid x-api-key")),
        ("anthropic", 404, lambda: anthropic_error(404, "not_found_error", "model: claude-nope")),
    ],
)
def test_client_errors_are_not_retried(
    provider: str, status: int, response: Callable[[], httpx.Response], tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """400/401/403/404 fail at once (one call), as a 502 problem naming the alias."""
    alias, url, _ = PROVIDERS[provider]
    route = http_mock.post(url).mock(return_value=response())
    with service(hosted_settings(tmp_path)) as client:
        reply = extract(client, model=alias)
    assert route.call_count == 1
    assert reply.status_code == 502
    assert reply.json()["model"] == alias
    assert reply.json()["type"] in {"/problems/upstream-rejected", "/problems/upstream-auth"}


def test_a_reply_with_no_choices_is_a_provider_error_that_falls_back(
    tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """A 200 whose ``choices`` is empty is an upstream error: the fallback answers, or the reply is a 502 problem."""
    empty = openai_chat_completion(EMPTY_REPLY) | {"choices": []}
    http_mock.post(OPENAI_URL).mock(side_effect=lambda request: httpx.Response(200, json=empty))
    with service(hosted_settings(tmp_path, fallbacks={"gpt": ["default"]})) as client:
        result = extract(client).json()
    assert result["status"] == "complete"
    assert result["warnings"][0]["detail"] == "model 'gpt' replied with no choices; trying 'default'"
    with service(hosted_settings(tmp_path)) as client:
        response = extract(client)
    assert response.status_code == 502
    assert response.json()["type"] == "/problems/upstream-error"


GPT_PRICE_IN, GPT_PRICE_OUT = 0.15e-6, 0.6e-6  # gpt-4o-mini per token, from litellm's bundled map


def test_in_flight_calls_never_exceed_the_model_limit(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None, sample_article: str
) -> None:
    """With max_concurrency 2, no more than two calls to the model are ever in flight at once."""
    in_flight = 0
    peak = 0

    async def slow_model(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return scripted_openai_reply(request)

    route = http_mock.post(OPENAI_URL).mock(side_effect=slow_model)
    settings = hosted_settings(tmp_path, chunk_tokens=60, max_concurrency=8)
    limited = [
        entry.model_copy(update={"max_concurrency": 2}) if entry.model_name == "gpt" else entry
        for entry in settings.models
    ]
    with TestClient(create_app(settings.model_copy(update={"models": limited}))) as client:
        result = client.post("/v1/extractions", json={"article": {"text": sample_article}}).json()
    assert result["usage"]["chunks"] >= 6
    assert route.call_count == result["usage"]["chunks"]
    assert peak == 2


async def test_requests_per_minute_hold_back_the_next_call(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """With rpm 2, a third call within the minute waits; `rpm` itself is never sent to the provider."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    entry = ModelEntry(
        model_name="gpt",
        litellm_params={"model": "openai/gpt-4o-mini", "api_key": "os.environ/OPENAI_API_KEY", "rpm": 2},
    )
    client = ModelClient(hosted_settings(tmp_path, models=[entry], fallbacks={}))
    messages = [{"role": "user", "content": "[S1] Prices rose 3% in June."}]
    for _ in range(2):
        await client.complete(entry, messages, {})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.complete(entry, messages, {}), timeout=0.5)
    assert route.call_count == 2
    assert "rpm" not in json.loads(route.calls[0].request.content)


def test_per_model_timeout_reaches_the_http_request(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """``litellm_params.timeout`` of a model bounds its HTTP calls; other models keep request_timeout_s."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    settings = hosted_settings(tmp_path, request_timeout_s=60)
    timed = [
        entry.model_copy(update={"litellm_params": entry.litellm_params | {"timeout": 7}})
        if entry.model_name == "gpt"
        else entry
        for entry in settings.models
    ]
    with TestClient(create_app(settings.model_copy(update={"models": timed}))) as client:
        client.post("/v1/extractions", json={"article": {"text": "Rents rose 7% in July."}})
    assert route.calls[0].request.extensions["timeout"]["read"] == 7


def test_prices_per_token_come_from_litellm_s_map_and_an_unpriced_model_has_none() -> None:
    """gpt-4o-mini is priced in litellm's bundled map, the offline model is free, a local model is unpriced."""
    settings = hosted_settings(Path("."))
    gpt, offline = settings.models[0], settings.models[2]
    local = ModelEntry(model_name="local", litellm_params={"model": "openai/qwen2.5-7b-instruct", "api_key": "none"})
    assert prices_per_token(gpt) == pytest.approx((0.15e-6, 0.6e-6))
    assert prices_per_token(offline) == (0.0, 0.0)
    assert prices_per_token(local) is None
