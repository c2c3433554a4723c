"""Tests of ``service/pipeline/extraction.py``: one article end to end, its usage, its failures."""

from __future__ import annotations

import json
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
from tests.providers import openai_chat_completion, openai_error, scripted_openai_reply, sentence_lines

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


def test_a_reply_whose_every_claim_was_dropped_says_so_once_with_the_reasons_counted(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """Seven model claims, four quoting nothing of the text and three inventing figures: one summary warning."""
    text = "Prices rose 3% in May, the office said. Rents rose 7% in July."

    def claim(quote: str, said: str) -> dict[str, object]:
        return {"sentence_ids": [1], "quote": quote, "text": said, "type": "quantity", "claimant": None,
                "attribution": "reported", "checkworthiness": 0.8}  # fmt: skip

    ungrounded = [claim(f"wages fell {n}%", f"Wages fell {n}% in May.") for n in range(4)]
    unfaithful = [claim("Prices rose 3% in May", f"Prices rose {n}% in May.") for n in (30, 40, 50)]
    reply = openai_chat_completion(json.dumps({"claims": [*ungrounded[:2], *unfaithful, *ungrounded[2:]]}))
    route = http_mock.post(OPENAI_URL).mock(return_value=httpx.Response(200, json=reply))
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        result = client.post("/v1/extractions", json={"article": {"text": text}}).json()
    assert route.call_count == 1
    assert (result["status"], result["claims"]) == ("complete", [])
    codes = [warning["code"] for warning in result["warnings"]]
    assert codes == ["ungrounded_claim_dropped"] * 4 + ["unfaithful_claim_dropped"] * 3 + ["all_claims_dropped"]
    assert result["warnings"][-1] == {
        "chunk": None,
        "code": "all_claims_dropped",
        "detail": "all 7 claims the model returned were dropped: 4 ungrounded, 3 unfaithful",
    }


def test_no_summary_warning_when_a_claim_survives_or_the_model_found_none(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """One grounded claim beside a dropped one, or an honest empty list: no all_claims_dropped warning."""
    text = "Prices rose 3% in May, the office said."
    kept = {"sentence_ids": [1], "quote": "Prices rose 3% in May", "text": "Prices rose 3% in May.",
            "type": "quantity", "claimant": None, "attribution": "reported", "checkworthiness": 0.8}  # fmt: skip
    replies = [{"claims": [kept, kept | {"quote": "wages fell 2%"}]}, {"claims": []}]
    http_mock.post(OPENAI_URL).mock(
        side_effect=[httpx.Response(200, json=openai_chat_completion(json.dumps(body))) for body in replies]
    )
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        some = client.post("/v1/extractions", json={"article": {"text": text}}).json()
        none = client.post("/v1/extractions", json={"article": {"text": text}, "options": {"cache": False}}).json()
    assert [warning["code"] for warning in some["warnings"]] == ["ungrounded_claim_dropped"]
    assert len(some["claims"]) == 1
    assert (none["claims"], none["warnings"]) == ([], [])
