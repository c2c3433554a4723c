"""Tests of ``service/pipeline/repair.py``: re-asking with the validation error, and reading replies leniently."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from tests.conftest import OPENAI_URL, hosted_settings
from tests.faults import (
    EMPTY_REPLY,
    PROVIDERS,
    extract,
    ok_openai,
    service,
)
from tests.providers import (
    claims_for_numbers,
)

pytestmark = pytest.mark.usefixtures("provider_keys")


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "wrapped",
    ["```json\n{reply}\n```", "Here are the claims:\n{reply}\nLet me know if you need more.", "{reply} -- done"],
    ids=["code-fence", "prose-around", "trailing-text"],
)
def test_json_in_fences_or_prose_is_read_leniently(
    provider: str, wrapped: str, tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """A valid reply wrapped in a fence or prose is used as is: one call, no repair."""
    alias, url, ok = PROVIDERS[provider]

    def reply(request: httpx.Request) -> httpx.Response:
        return ok(wrapped.replace("{reply}", json.dumps({"claims": claims_for_numbers(request)})))

    route = http_mock.post(url).mock(side_effect=reply)
    with service(hosted_settings(tmp_path)) as client:
        result = extract(client, model=alias).json()
    assert route.call_count == 1
    assert result["usage"]["repairs"] == 0
    assert len(result["claims"]) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_reply_that_is_not_json_is_repaired(provider: str, tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """Prose with no JSON is re-asked once, carrying the error, and the repaired reply is used."""
    alias, url, ok = PROVIDERS[provider]
    route = http_mock.post(url).mock(side_effect=[ok("I found one claim about the audience."), ok(EMPTY_REPLY)])
    with service(hosted_settings(tmp_path)) as client:
        result = extract(client, model=alias).json()
    assert route.call_count == 2
    assert result["usage"]["repairs"] == 1
    assert "the reply contains no JSON object" in route.calls[1].request.content.decode()


def test_reply_failing_the_schema_after_repair_goes_to_the_fallback(
    tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """A model that fails the schema twice hands the chunk to the fallback."""
    bad = json.dumps({"claims": [{"sentence_ids": [1], "quote": "x"}]})
    route = http_mock.post(OPENAI_URL).mock(return_value=ok_openai(bad))
    with service(hosted_settings(tmp_path, fallbacks={"gpt": ["default"]})) as client:
        result = extract(client).json()
    assert route.call_count == 2
    assert result["usage"]["repairs"] == 1
    assert result["usage"]["fallbacks"] == 1
    assert result["status"] == "complete"
    assert "claims.0.text: Field required" in result["warnings"][0]["detail"]
