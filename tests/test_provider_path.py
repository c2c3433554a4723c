"""A hosted model through the real litellm → httpx path, mocked at the HTTP boundary with respx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from respx.models import AllMockedAssertionError

from service.api.app import create_app
from service.errors import UpstreamUnavailable
from service.llm.client import ModelClient
from service.settings import Settings
from tests.conftest import OPENAI_URL
from tests.providers import (
    claims_for_numbers,
    openai_chat_completion,
    openai_error,
    scripted_openai_reply,
    sentence_lines,
)

TEST_KEY = "sk-test-0123456789abcdefghij"


@pytest.fixture
def openai_client(openai_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A test client whose default alias `gpt` is OpenAI, with a test key in the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    with TestClient(create_app(openai_settings)) as test_client:
        yield test_client


def extract(client: TestClient, text: str, **options: Any) -> httpx.Response:
    """POST an article to the service."""
    return client.post("/v1/extractions", json={"article": {"id": "a1", "text": text}, "options": options})


def test_openai_reply_goes_through_litellm_http_path(
    openai_client: TestClient, http_mock: respx.MockRouter, sample_article: str
) -> None:
    """A mocked OpenAI chat completion is asked with the prompt and JSON schema, and its claims are grounded."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    result = extract(openai_client, sample_article).json()
    assert route.call_count == result["usage"]["chunks"] == result["usage"]["model_calls"]
    bodies = [json.loads(call.request.content) for call in route.calls]
    sent = next(body for body in bodies if "[S1] Former President Donald Trump" in body["messages"][1]["content"])
    assert sent["model"] == "gpt-4o-mini"
    assert sent["temperature"] == 0
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["required"] == ["claims"]
    assert route.calls[0].request.headers["authorization"] == f"Bearer {TEST_KEY}"
    quotes = [claim["source"]["quote"] for claim in result["claims"]]
    assert any("1,324,994" in quote for quote in quotes)
    for claim in result["claims"]:
        assert sample_article[claim["source"]["start"] : claim["source"]["end"]] == claim["source"]["quote"]
    assert result["provenance"]["models"] == [
        {"alias": "gpt", "model": "openai/gpt-4o-mini", "chunks": route.call_count, "fallback": False}
    ]
    assert result["usage"]["prompt_tokens"] == 120 * route.call_count
    assert result["usage"]["cost_usd"] > 0


def test_sentence_ids_are_local_to_each_chunk(
    openai_settings: Settings, http_mock: respx.MockRouter, sample_article: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every chunk's prompt numbers its sentences from S1; claims come back with global sentence ids."""
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    with TestClient(create_app(openai_settings.model_copy(update={"chunk_tokens": 500}))) as client:
        result = extract(client, sample_article).json()
    assert route.call_count >= 3
    assert all(sentence_lines(call.request)[0][0] == 1 for call in route.calls)
    assert max(claim["source"]["sentence_ids"][0] for claim in result["claims"]) > len(
        sentence_lines(route.calls[0].request)
    )


def test_hallucinated_quote_is_dropped_with_a_warning(openai_client: TestClient, http_mock: respx.MockRouter) -> None:
    """A claim whose quote is not in the article is dropped and reported; the grounded one is kept."""
    invented = {
        "sentence_ids": [1], "quote": "unemployment fell to 2%", "text": "Unemployment fell to 2%.",
        "type": "quantity", "claimant": None, "attribution": "author", "checkworthiness": 0.9,
    }  # fmt: skip

    def reply(request: httpx.Request) -> httpx.Response:
        content = json.dumps({"claims": [*claims_for_numbers(request), invented]})
        return httpx.Response(200, json=openai_chat_completion(content))

    http_mock.post(OPENAI_URL).mock(side_effect=reply)
    result = extract(openai_client, "Prices rose 3% in May. The mayor smiled.").json()
    assert [claim["source"]["quote"] for claim in result["claims"]] == ["Prices rose 3% in May."]
    assert result["warnings"] == [
        {
            "chunk": 1,
            "code": "ungrounded_claim_dropped",
            "detail": "quote 'unemployment fell to 2%' is not in the cited sentences",
        }
    ]


def test_transient_503_is_retried_then_succeeds(openai_client: TestClient, http_mock: respx.MockRouter) -> None:
    """A 503 is retried once with backoff, then the 200 is used; the retry is counted."""
    ok = json.dumps({"claims": []})
    route = http_mock.post(OPENAI_URL).mock(
        side_effect=[
            openai_error(503, "overloaded", "server_error"),
            httpx.Response(200, json=openai_chat_completion(ok)),
        ]
    )
    result = extract(openai_client, "Prices rose 3% in May.").json()
    assert route.call_count == 2
    assert result["usage"]["retries"] == 1
    assert result["usage"]["model_calls"] == 1
    assert result["status"] == "complete"


def test_unauthorised_is_not_retried_and_never_shows_the_key(
    openai_client: TestClient, http_mock: respx.MockRouter
) -> None:
    """A 401 fails at once as a clear problem that names the alias and never shows the key."""
    route = http_mock.post(OPENAI_URL).mock(
        return_value=openai_error(
            401, f"Incorrect API key provided: {TEST_KEY}.", "invalid_request_error", "invalid_api_key"
        )
    )
    response = extract(openai_client, "Prices rose 3% in May.")
    assert route.call_count == 1
    assert response.status_code == 502
    body = response.json()
    assert body["detail"] == "upstream authentication failed for model 'gpt'"
    assert TEST_KEY not in response.text
    assert TEST_KEY[:12] not in response.text


def test_invalid_reply_is_repaired_with_the_validation_error(
    openai_client: TestClient, http_mock: respx.MockRouter
) -> None:
    """A reply failing the schema is re-asked once, and the re-ask carries the validation error."""
    bad = json.dumps({"claims": [{"sentence_ids": [1], "quote": "Prices rose 3%", "text": "x", "type": "opinion"}]})
    good = json.dumps({"claims": []})
    route = http_mock.post(OPENAI_URL).mock(
        side_effect=[
            httpx.Response(200, json=openai_chat_completion(bad)),
            httpx.Response(200, json=openai_chat_completion(good)),
        ]
    )
    result = extract(openai_client, "Prices rose 3% in May.").json()
    assert route.call_count == 2
    assert result["usage"]["repairs"] == 1
    messages = json.loads(route.calls[1].request.content)["messages"]
    assert messages[-2] == {"role": "assistant", "content": bad}
    assert "claims.0.type" in messages[-1]["content"]
    assert "claims.0.checkworthiness: Field required" in messages[-1]["content"]


def test_failing_model_falls_back_to_the_next_alias(
    openai_settings: Settings, http_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When `gpt` keeps failing, its chunk goes to the configured fallback and the reply says so."""
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    settings = openai_settings.model_copy(update={"fallbacks": {"gpt": ["default"]}, "retry_attempts": 2})
    route = http_mock.post(OPENAI_URL).mock(return_value=openai_error(500, "boom", "server_error"))
    with TestClient(create_app(settings)) as fallback_client:
        result = extract(fallback_client, "The conversation garnered an audience of 1,324,994 people.").json()
    assert route.call_count == 2
    assert result["status"] == "complete"
    assert result["usage"]["fallbacks"] == 1
    assert result["usage"]["retries"] == 1
    assert [warning["code"] for warning in result["warnings"]] == ["fallback_used"]
    assert "1,324,994" in result["claims"][0]["source"]["quote"]


def test_every_chunk_failing_is_a_5xx_problem(openai_client: TestClient, http_mock: respx.MockRouter) -> None:
    """With no fallback, a provider that stays down gives a 503 problem, not a 500."""
    http_mock.post(OPENAI_URL).mock(return_value=openai_error(503, "overloaded", "server_error"))
    response = extract(openai_client, "Prices rose 3% in May.")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["model"] == "gpt"


async def test_unmocked_provider_request_is_refused_by_respx(
    openai_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no route for the provider, respx itself refuses the request: nothing reaches the network."""
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    client = ModelClient(openai_settings.model_copy(update={"retry_attempts": 1}))
    entry = openai_settings.models[0]
    with pytest.raises(UpstreamUnavailable) as raised:
        await client.complete(entry, [{"role": "user", "content": "hi"}], {})
    assert any(isinstance(cause, AllMockedAssertionError) for cause in exception_chain(raised.value))


def exception_chain(error: BaseException) -> list[BaseException]:
    """Return an exception and every cause or context behind it."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain
