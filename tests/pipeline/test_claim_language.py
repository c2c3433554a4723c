"""Prompts that know the language: the article's named to the model, claims asked in another, quotes verbatim."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import openai_chat_completion

SPANISH = "El paro bajó hasta el 11,8 %, afirmó la ministra Yolanda Díaz."


def translating_model(text: str, seen: list[str]) -> Any:
    """Return a respx side effect claiming S1 with ``text``, quoting S1 verbatim, and keeping the system prompt."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["messages"][0]["content"])
        claim = {
            "sentence_ids": [1], "quote": SPANISH, "text": text, "type": "quantity", "claimant": "Yolanda Díaz",
            "attribution": "reported", "checkworthiness": 0.9,
        }  # fmt: skip
        return httpx.Response(200, json=openai_chat_completion(json.dumps({"claims": [claim]}, ensure_ascii=False)))

    return answer


def extract(tmp_path: Path, options: dict[str, Any]) -> dict[str, Any]:
    """POST the Spanish sentence (no language given) with ``options``; return the reply."""
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        response = client.post("/v1/extractions", json={"article": {"text": SPANISH}, "options": options})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_prompt_names_the_detected_language_and_asks_for_claims_in_it(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """extract_claims@3 tells the model the article is in Spanish (detected) and asks for claims in Spanish."""
    seen: list[str] = []
    http_mock.post(OPENAI_URL).mock(side_effect=translating_model("El paro bajó hasta el 11,8 %.", seen))
    result = extract(tmp_path, {"prompt": "extract_claims@3"})
    assert "The article is in Spanish (es)." in seen[0]
    assert 'Write each claim\'s "text" and "claimant" in Spanish' in seen[0]
    assert [claim["text"] for claim in result["claims"]] == ["El paro bajó hasta el 11,8 %."]


def test_claims_asked_in_english_are_translated_with_quotes_verbatim_and_numbers_checked(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """claim_language en: the prompt asks for English; the English claim is kept, its quote the Spanish sentence."""
    seen: list[str] = []
    english = "Minister Yolanda Diaz said unemployment fell to 11.8%."
    http_mock.post(OPENAI_URL).mock(side_effect=translating_model(english, seen))
    result = extract(tmp_path, {"prompt": "extract_claims@3", "claim_language": "en"})
    assert 'Write each claim\'s "text" in English (en), translating faithfully' in seen[0]
    [claim] = result["claims"]
    assert (claim["text"], claim["source"]["quote"]) == (english, SPANISH)
    assert result["article"]["language"] == "es"
    assert "claims_translated" in [warning["code"] for warning in result["warnings"]]


def test_a_translated_claim_with_a_number_the_article_lacks_is_dropped(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """Names of a translated claim go unchecked, but its figures are: 12.8% is not in "11,8 %"."""
    http_mock.post(OPENAI_URL).mock(
        side_effect=translating_model("Unemployment fell to 12.8%, Minister Díaz said.", [])
    )
    result = extract(tmp_path, {"prompt": "extract_claims@3", "claim_language": "en"})
    assert result["claims"] == []
    assert "unfaithful_claim_dropped" in [warning["code"] for warning in result["warnings"]]


def test_a_prompt_that_cannot_translate_says_claim_language_was_ignored(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """extract_claims@1 knows no languages: claim_language is ignored, and a warning says so and what to use."""
    seen: list[str] = []
    http_mock.post(OPENAI_URL).mock(side_effect=translating_model("El paro bajó hasta el 11,8 %.", seen))
    result = extract(tmp_path, {"prompt": "extract_claims@1", "claim_language": "en"})
    [ignored] = [warning for warning in result["warnings"] if warning["code"] == "claim_language_ignored"]
    assert "extract_claims@3" in ignored["detail"]
    assert "Spanish" not in seen[0]
