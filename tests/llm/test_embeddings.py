"""Tests of ``service/llm/embeddings.py``: litellm's ``aembedding`` on its real HTTP path, mocked with respx."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from service.errors import UpstreamAuthError, UpstreamError
from service.llm.embeddings import embed_texts
from service.settings import ModelEntry
from tests.providers import openai_embeddings, openai_error

EMBEDDINGS_URL = "https://api.openai.com/v1/embeddings"
ENTRY = ModelEntry(
    model_name="embedder",
    litellm_params={"model": "openai/text-embedding-3-small", "api_key": "os.environ/OPENAI_API_KEY"},
)

pytestmark = pytest.mark.usefixtures("provider_keys")


async def test_vectors_come_back_in_the_texts_order(http_mock: respx.MockRouter) -> None:
    """The provider's rows, sent out of order, are returned in the order of the texts, one each."""
    body = openai_embeddings([[0.0, 1.0], [1.0, 0.0]])
    body["data"].reverse()
    route = http_mock.post(EMBEDDINGS_URL).mock(return_value=httpx.Response(200, json=body))
    vectors = await embed_texts(ENTRY, ["first", "second"])
    assert vectors == [[0.0, 1.0], [1.0, 0.0]]
    sent = json.loads(route.calls.last.request.content)
    assert sent["input"] == ["first", "second"]
    assert sent["model"] == "text-embedding-3-small"
    assert route.calls.last.request.headers["authorization"].endswith("0123456789abcdefghij")


async def test_a_transient_error_is_retried(http_mock: respx.MockRouter) -> None:
    """A 503 is retried, and the next reply is used."""
    route = http_mock.post(EMBEDDINGS_URL).mock(
        side_effect=[
            openai_error(503, "overloaded", "server_error"),
            httpx.Response(200, json=openai_embeddings([[0.5, 0.5]])),
        ]
    )
    assert await embed_texts(ENTRY, ["one"]) == [[0.5, 0.5]]
    assert route.call_count == 2


async def test_a_refused_key_is_the_services_upstream_error(http_mock: respx.MockRouter) -> None:
    """A 401 becomes the service's own upstream error, not litellm's exception."""
    http_mock.post(EMBEDDINGS_URL).mock(return_value=openai_error(401, "bad key", "invalid_request_error"))
    with pytest.raises(UpstreamError):
        await embed_texts(ENTRY, ["one"])


async def test_no_texts_make_no_call() -> None:
    """Embedding nothing returns nothing without a request (an unmocked request would fail the test)."""
    assert await embed_texts(ENTRY, []) == []


async def test_a_missing_key_is_said_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unset key variable is an auth error naming it, with no request made."""
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(UpstreamAuthError, match="OPENAI_API_KEY"):
        await embed_texts(ENTRY, ["one"])
