"""Tests of ``service/factchecks/embedders.py``: the LiteLLM embedder through respx, the offline one for real."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
import respx

from schemas.factchecks import FactCheck
from service.factchecks.embedders import API_BATCH, LiteLLMEmbedder, OfflineEmbedder
from service.factchecks.matching import FactCheckMatcher
from service.multilingual.encoder import DIMENSIONS
from service.settings import ModelEntry
from tests.providers import openai_embeddings

EMBEDDINGS_URL = "https://api.openai.com/v1/embeddings"
ENTRY = ModelEntry(
    model_name="embedder",
    litellm_params={"model": "openai/text-embedding-3-small", "api_key": "os.environ/OPENAI_API_KEY"},
)

pytestmark = pytest.mark.usefixtures("provider_keys")


def reply_with_vectors(request: httpx.Request) -> httpx.Response:
    """Answer an embeddings request with one vector per input: (length of the text, 0, 3)."""
    texts = json.loads(request.content)["input"]
    return httpx.Response(200, json=openai_embeddings([[float(len(text)), 0.0, 3.0] for text in texts]))


async def test_the_litellm_embedder_returns_unit_rows(http_mock: respx.MockRouter) -> None:
    """Vectors come back one a text, scaled to length one, and the embedder is named after its model."""
    http_mock.post(EMBEDDINGS_URL).mock(side_effect=reply_with_vectors)
    embedder = LiteLLMEmbedder(ENTRY)
    rows = await embedder.queries(["four", "abc"])
    assert embedder.name == "openai/text-embedding-3-small"
    assert rows.shape == (2, 3)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0)
    assert np.allclose(rows[0], [0.8, 0.0, 0.6])


async def test_many_passages_go_in_batches(http_mock: respx.MockRouter) -> None:
    """More texts than one request carries are sent in batches of ``API_BATCH``, the rows kept in order."""
    route = http_mock.post(EMBEDDINGS_URL).mock(side_effect=reply_with_vectors)
    texts = ["x" * (1 + index % 7) for index in range(API_BATCH + 3)]
    rows = await LiteLLMEmbedder(ENTRY).passages(texts)
    assert route.call_count == 2
    assert rows.shape == (API_BATCH + 3, 3)
    expected = np.asarray([[len(text), 0.0, 3.0] for text in texts]) / np.linalg.norm(
        [[len(text), 0.0, 3.0] for text in texts], axis=1, keepdims=True
    )
    assert np.allclose(rows, expected)


async def test_a_matcher_with_the_litellm_embedder_asks_for_vectors(http_mock: respx.MockRouter) -> None:
    """``vectors_for`` sends each fact-check's claim and title to the embedding model."""
    route = http_mock.post(EMBEDDINGS_URL).mock(side_effect=reply_with_vectors)
    fact_check = FactCheck(url="https://example.org/a", claim_reviewed="A claim.", title="A title")
    vectors = await FactCheckMatcher(LiteLLMEmbedder(ENTRY)).vectors_for([fact_check])
    assert vectors is not None
    assert vectors.shape == (1, 3)
    assert json.loads(route.calls.last.request.content)["input"] == ["A claim. A title"]


async def test_without_an_embedder_there_are_no_vectors() -> None:
    """A lexical-only matcher computes no vectors."""
    assert await FactCheckMatcher().vectors_for([FactCheck(url="u", claim_reviewed="c")]) is None


async def test_the_offline_embedder_gives_unit_vectors_off_the_loop() -> None:
    """The multilingual extra's encoder embeds passages as 384-dimensional unit rows."""
    embedder = OfflineEmbedder.installed()
    assert embedder is not None, "the test extra installs the multilingual extra"
    rows = await embedder.passages(["The Eiffel Tower was sold.", "La tour Eiffel a été vendue."])
    assert rows.shape == (2, DIMENSIONS)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)
    assert float(rows[0] @ rows[1]) > 0.8
