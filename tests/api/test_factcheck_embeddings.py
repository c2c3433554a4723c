"""The ``factcheck_embedder`` setting through the real API: a configured embedding model, and the offline one.

The embedding model is mocked at the HTTP boundary (OpenAI's embeddings endpoint, its real reply shape,
through litellm); the offline model runs for real on a few texts (about 25 ms each).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import ModelEntry, Settings
from tests.providers import openai_embeddings

EMBEDDINGS_URL = "https://api.openai.com/v1/embeddings"
EMBEDDER = ModelEntry(
    model_name="embedder",
    litellm_params={"model": "openai/text-embedding-3-small", "api_key": "os.environ/OPENAI_API_KEY"},
)
MOON = {
    "@type": "ClaimReview",
    "url": "https://fc.example/moon",
    "claimReviewed": "The 1969 moon landing was filmed in a studio",
    "reviewRating": {"@type": "Rating", "alternateName": "False"},
}
CRIME = {
    "@type": "ClaimReview",
    "url": "https://fc.example/crime",
    "claimReviewed": "The FBI says violent crime fell 15.2% in the first quarter of 2024",
    "reviewRating": {"@type": "Rating", "alternateName": "True"},
}
STAGED = "Apollo astronauts never went up: NASA shot the footage on a soundstage"  # no word of MOON's
TOPICS = ("moon", "apollo", "nasa", "studio", "soundstage", "footage", "crime", "fbi")  # what the mock model "knows"
PAIRS = Path(__file__).parents[1] / "data" / "factchecks" / "cross_language_pairs.json"


def topic_vector(text: str) -> list[float]:
    """Return a stand-in embedding: one dimension a topic, 1 where the text names it (moon topics share one)."""
    lowered = text.lower()
    moon = any(word in lowered for word in TOPICS[:6])
    crime = any(word in lowered for word in TOPICS[6:])
    return [1.0 if moon else 0.0, 1.0 if crime else 0.0, 0.1]


def embeddings_reply(request: httpx.Request) -> httpx.Response:
    """Answer an OpenAI embeddings request with one topic vector per input, in order."""
    return httpx.Response(
        200, json=openai_embeddings([topic_vector(text) for text in json.loads(request.content)["input"]])
    )


def served(settings: Settings) -> TestClient:
    """Return a test client of the app for ``settings`` (entered by the caller)."""
    return TestClient(create_app(settings))


def settings_for(tmp_path: Path, embedder: str) -> Settings:
    """Return settings with the embedding model configured and ``factcheck_embedder`` set to ``embedder``."""
    return Settings(
        cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", models=[*Settings().models, EMBEDDER],
        factcheck_embedder=embedder,
    )  # fmt: skip


def search(client: TestClient, query: str) -> list[dict[str, Any]]:
    """Return the matches ``GET /v1/factchecks/search`` answers for ``query``."""
    reply = client.get("/v1/factchecks/search", params={"q": query, "limit": 5})
    assert reply.status_code == 200, reply.text
    matches: list[dict[str, Any]] = reply.json()["matches"]
    return matches


def stored_embedders(tmp_path: Path) -> set[str | None]:
    """Return the embedder tags of the vectors the embedded archive stores."""
    with sqlite3.connect(tmp_path / "data" / "factchecks.db") as connection:
        return {row[0] for row in connection.execute("SELECT embedder FROM factchecks")}


@pytest.fixture
def embedding_model(http_mock: respx.MockRouter, provider_keys: None) -> respx.Route:
    """The mocked embedding model's route."""
    return http_mock.post(EMBEDDINGS_URL).mock(side_effect=embeddings_reply)


def test_a_configured_embedding_model_finds_what_shares_no_word(tmp_path: Path, embedding_model: respx.Route) -> None:
    """With the alias set, imports embed each fact-check through litellm and a search finds one by meaning."""
    with served(settings_for(tmp_path, "embedder")) as client:
        imported = client.post("/v1/factchecks", json=[MOON, CRIME])
        assert imported.status_code == 200, imported.text
        sent = json.loads(embedding_model.calls.last.request.content)
        assert sent["model"] == "text-embedding-3-small"
        assert sent["input"] == [MOON["claimReviewed"], CRIME["claimReviewed"]]
        assert search(client, STAGED)[0]["url"] == MOON["url"]
    assert stored_embedders(tmp_path) == {"openai/text-embedding-3-small"}


def test_without_an_embedder_the_same_search_finds_nothing(tmp_path: Path, embedding_model: respx.Route) -> None:
    """The control: ``none`` matches lexically, calls no embedding model, and finds no fact-check for it."""
    with served(settings_for(tmp_path, "none")) as client:
        assert client.post("/v1/factchecks", json=[MOON, CRIME]).status_code == 200
        assert search(client, STAGED) == []
    assert embedding_model.call_count == 0
    assert stored_embedders(tmp_path) == {None}


def test_a_new_embedder_embeds_the_stored_fact_checks_once(tmp_path: Path, embedding_model: respx.Route) -> None:
    """Fact-checks imported lexically are embedded at the next start with the model, and not at the one after."""
    with served(settings_for(tmp_path, "none")) as client:
        assert client.post("/v1/factchecks", json=[MOON, CRIME]).status_code == 200
    with served(settings_for(tmp_path, "embedder")) as client:
        passages = [json.loads(call.request.content)["input"] for call in embedding_model.calls]
        assert sorted(text for batch in passages for text in batch) == sorted(
            [MOON["claimReviewed"], CRIME["claimReviewed"]]
        )
        assert search(client, STAGED)[0]["url"] == MOON["url"]
    assert stored_embedders(tmp_path) == {"openai/text-embedding-3-small"}
    before = embedding_model.call_count
    with served(settings_for(tmp_path, "embedder")) as client:
        assert embedding_model.call_count == before  # the stored vectors are read back
        assert search(client, STAGED)[0]["url"] == MOON["url"]
    assert [json.loads(call.request.content)["input"] for call in embedding_model.calls[before:]] == [[STAGED]]


@pytest.mark.usefixtures("provider_keys")
def test_a_failing_embedding_model_leaves_the_search_lexical(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """When the embedding model fails at search time, the search answers lexically rather than failing."""
    route = http_mock.post(EMBEDDINGS_URL).mock(side_effect=embeddings_reply)
    with served(settings_for(tmp_path, "embedder")) as client:
        assert client.post("/v1/factchecks", json=[MOON, CRIME]).status_code == 200
        route.mock(return_value=httpx.Response(400, json={"error": {"message": "bad input", "type": "invalid"}}))
        assert search(client, "violent crime fell 15.2%")[0]["url"] == CRIME["url"]
        assert search(client, STAGED) == []


def test_an_unknown_embedder_is_refused_by_the_settings() -> None:
    """``factcheck_embedder`` must be auto, offline, none or a configured model's alias."""
    with pytest.raises(ValueError, match="factcheck_embedder 'nope' is none of auto, offline, none"):
        Settings(factcheck_embedder="nope")


@pytest.mark.multilingual
def test_a_spanish_claim_finds_its_english_fact_check_offline(tmp_path: Path) -> None:
    """With the offline model, a Spanish claim's first match is the English review of it; lexically it is not."""
    pairs = json.loads(PAIRS.read_text(encoding="utf-8"))
    reviews = pairs["fact_checks"]
    claim = pairs["claims"]["es"][3]  # "Comer zanahorias mejora la visión nocturna."
    for embedder, found in (("offline", True), ("none", False)):
        settings = Settings(cache_dir=tmp_path / embedder, data_dir=tmp_path / embedder, factcheck_embedder=embedder)
        with served(settings) as client:
            csv = "claim_reviewed,url,title,language\n" + "".join(
                f'"{r["claim_reviewed"]}",{r["url"]},"{r["title"]}",en\n' for r in reviews
            )
            assert client.post("/v1/factchecks", content=csv, headers={"content-type": "text/csv"}).status_code == 200
            matches = search(client, claim)
        assert (bool(matches) and matches[0]["url"] == reviews[3]["url"]) is found, matches
