"""Tests of ``service/pipeline/extraction.py``: one article end to end, its usage, its failures."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from schemas import Article, ExtractionRequest
from service.api.app import create_app
from service.errors import ExtractionFailed, UpstreamUnavailable
from service.pipeline.build import build_pipeline
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import openai_error, scripted_openai_reply, sentence_lines

GPT_PRICE_IN, GPT_PRICE_OUT = 0.15e-6, 0.6e-6  # gpt-4o-mini per token, from litellm's bundled map


def test_usage_sums_tokens_and_prices_them_and_cache_hits_are_free(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None, sample_article: str
) -> None:
    """Tokens are summed over chunk calls and priced from litellm's bundled map; a cached re-POST costs 0."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        first = client.post("/v1/extractions", json={"article": {"text": sample_article}}).json()["usage"]
        again = client.post("/v1/extractions", json={"article": {"text": sample_article}}).json()["usage"]
    calls = route.call_count
    assert first["model_calls"] == calls
    assert first["prompt_tokens"] == 120 * calls
    assert first["completion_tokens"] == 40 * calls
    assert first["cost_usd"] == pytest.approx(calls * (120 * GPT_PRICE_IN + 40 * GPT_PRICE_OUT))
    assert again | {"chunks": 0} == {
        "chunks": 0, "model_calls": 0, "cache_hits": first["chunks"], "repairs": 0, "retries": 0, "fallbacks": 0,
        "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0,
    }  # fmt: skip


async def test_an_extraction_failing_whole_says_why_and_what_it_spent(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """Every chunk failing raises ExtractionFailed: the first chunk's error, and the usage of every chunk."""
    route = http_mock.post(OPENAI_URL).mock(return_value=openai_error(503, "The server is overloaded", "server_error"))
    pipeline = build_pipeline(hosted_settings(tmp_path, chunk_tokens=60, retry_attempts=2))
    paragraphs = [
        f"Prices rose {n}% in May in district {n}, officials said on Tuesday after a long count." for n in range(6)
    ]
    with pytest.raises(ExtractionFailed) as failed:
        await pipeline.extract(ExtractionRequest(article=Article(text="\n".join(paragraphs))))
    chunks = failed.value.usage.chunks
    assert chunks >= 2
    assert isinstance(failed.value.cause, UpstreamUnavailable)
    assert failed.value.usage.model_dump() == {
        "chunks": chunks,
        "model_calls": 0,
        "cache_hits": 0,
        "repairs": 0,
        "retries": chunks,
        "fallbacks": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": 0.0,
    }
    assert route.call_count == 2 * chunks


def test_each_claim_names_the_model_that_produced_it_when_chunks_fall_back(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """A chunk the requested model answers and one its fallback answers: each claim and the provenance say which."""

    def gpt_fails_on_rents(request: httpx.Request) -> httpx.Response:
        if any("Rents" in text for _, text in sentence_lines(request)):
            return openai_error(400, "This request was refused.", "invalid_request_error")
        return scripted_openai_reply(request)

    http_mock.post(OPENAI_URL).mock(side_effect=gpt_fails_on_rents)
    settings = hosted_settings(tmp_path, chunk_tokens=60, fallbacks={"gpt": ["default"]})
    text = (
        "Prices rose 3% in May across the region, the statistics office said on its website on Tuesday after "
        "a long and careful count of the shops in every town of the province.\n"
        "Rents rose 7% in June in the capital, the housing ministry reported in its monthly bulletin, which "
        "covers every district of the city and most of its suburbs as well."
    )
    with TestClient(create_app(settings)) as client:
        result = client.post("/v1/extractions", json={"article": {"text": text}}).json()
    by_quote = {claim["source"]["quote"][:11]: (claim["model_alias"], claim["model"]) for claim in result["claims"]}
    assert by_quote == {"Prices rose": ("gpt", "openai/gpt-4o-mini"), "Rents rose ": ("default", "offline/rules")}
    provenance = result["provenance"]
    assert (provenance["requested_model"], provenance["fallback_used"]) == ("gpt", True)
    assert provenance["models"] == [
        {"alias": "gpt", "model": "openai/gpt-4o-mini", "chunks": 1, "fallback": False},
        {"alias": "default", "model": "offline/rules", "chunks": 1, "fallback": True},
    ]
