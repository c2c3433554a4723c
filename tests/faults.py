"""Provider faults in their real payload shapes, and a client of the app to meet them with."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from tests.conftest import ANTHROPIC_URL, OPENAI_URL
from tests.providers import (
    anthropic_error,
    anthropic_message,
    openai_chat_completion,
    openai_error,
)

ONE_CLAIM_TEXT = "The audience reached 1,324,994 people on Monday."


EMPTY_REPLY = json.dumps({"claims": []})


@contextmanager
def service(settings: Settings) -> Iterator[TestClient]:
    """Run the app for ``settings``."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def extract(client: TestClient, text: str = ONE_CLAIM_TEXT, **options: Any) -> httpx.Response:
    """POST an article."""
    return client.post("/v1/extractions", json={"article": {"id": "a1", "text": text}, "options": options})


def ok_openai(content: str = EMPTY_REPLY) -> httpx.Response:
    """A 200 OpenAI chat completion."""
    return httpx.Response(200, json=openai_chat_completion(content))


def ok_anthropic(content: str = EMPTY_REPLY) -> httpx.Response:
    """A 200 Anthropic message."""
    return httpx.Response(200, json=anthropic_message(content))


PROVIDERS: dict[str, tuple[str, str, Callable[[str], httpx.Response]]] = {
    "openai": ("gpt", OPENAI_URL, ok_openai),
    "anthropic": ("claude", ANTHROPIC_URL, ok_anthropic),
}


RATE_LIMITED = {
    "openai": lambda: openai_error(429, "Rate limit reached for gpt-4o-mini", "requests", "rate_limit_exceeded"),
    "anthropic": lambda: anthropic_error(429, "rate_limit_error", "Number of requests has exceeded your rate limit"),
}


OVERLOADED = {
    "openai": lambda: openai_error(503, "The server is overloaded", "server_error"),
    "anthropic": lambda: anthropic_error(529, "overloaded_error", "Overloaded"),
}


def gap_between_two_calls(
    http_mock: respx.MockRouter,
    provider: str,
    retry_after: str,
    settings: Settings,
    fault: dict[str, Callable[[], httpx.Response]] = RATE_LIMITED,
) -> tuple[float, dict[str, Any], int]:
    """Answer ``fault`` (default a 429) with ``retry_after``, then a 200; return the gap, the reply, the calls."""
    alias, url, ok = PROVIDERS[provider]
    limited = fault[provider]()
    limited.headers["retry-after"] = retry_after
    answers = iter([limited, ok(EMPTY_REPLY)])
    called_at: list[float] = []

    def timed(request: httpx.Request) -> httpx.Response:
        called_at.append(time.monotonic())
        return next(answers)

    route = http_mock.post(url).mock(side_effect=timed)
    with service(settings) as client:
        result = extract(client, model=alias).json()
    return called_at[1] - called_at[0], result, route.call_count


def openai_cut_off() -> httpx.Response:
    """An OpenAI completion stopped by max_tokens mid-JSON."""
    body = openai_chat_completion('{"claims": [{"sentence_ids": [1], "qu')
    body["choices"][0]["finish_reason"] = "length"
    return httpx.Response(200, json=body)


def anthropic_cut_off() -> httpx.Response:
    """An Anthropic message stopped by max_tokens mid-JSON."""
    return httpx.Response(200, json=anthropic_message('{"claims": [{"sentence_', stop_reason="max_tokens"))


SPLIT_TEXT = "Prices rose 3% in April. Wages rose 2% in April. Rents rose 7% in June. Taxes rose 1% in June."
