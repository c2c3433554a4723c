"""Tests of ``service/llm/usage.py``: what a provider says a call used, impossible figures taken as unknown."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from service.llm.usage import MAX_COST_USD_A_CALL, MAX_TOKENS_A_CALL, known_cost, known_tokens
from service.observability import metrics
from tests.conftest import OPENAI_URL, hosted_settings
from tests.faults import extract, service
from tests.providers import openai_chat_completion, scripted_openai_reply

pytestmark = pytest.mark.usefixtures("provider_keys")


def _with_usage(**usage: Any) -> Any:
    """Answer like OpenAI (claims for the numbered sentences), its ``usage`` block carrying ``usage``."""

    def reply(request: httpx.Request) -> httpx.Response:
        body = json.loads(scripted_openai_reply(request).content)
        body["usage"].update(usage)
        return httpx.Response(200, content=json.dumps(body), headers={"content-type": "application/json"})

    return reply


def _usage_unknown_count() -> float:
    """Return how many replies of alias ``gpt`` were counted with impossible usage."""
    value = metrics.MODEL_CALLS.labels("gpt", "openai/gpt-4o-mini", "usage_unknown")._value.get()
    return float(value)


@pytest.mark.parametrize(
    ("usage", "named"),
    [
        ({"prompt_tokens": -1_000_000_000}, "prompt_tokens -1000000000"),
        ({"completion_tokens": -5}, "completion_tokens -5"),
        ({"prompt_tokens": 10**12}, "prompt_tokens 1000000000000"),
        ({"completion_tokens": 50_000_000}, "completion_tokens 50000000"),
    ],
)
def test_impossible_usage_is_unknown_usage_with_a_warning_not_a_500(
    tmp_path: Path, http_mock: respx.MockRouter, usage: dict[str, Any], named: str
) -> None:
    """A real OpenAI completion whose usage is negative or absurd answers 200: usage zero, cost null, one warning."""
    http_mock.post(OPENAI_URL).mock(side_effect=_with_usage(**usage))
    before = _usage_unknown_count()
    with service(hosted_settings(tmp_path)) as client:
        response = extract(client)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "complete"
    assert [claim["text"] for claim in result["claims"]] == ["The audience reached 1,324,994 people on Monday."]
    field = named.split()[0]
    assert result["usage"][field] == 0  # the impossible figure is not added to what the reply says was spent
    assert result["usage"]["cost_usd"] is None  # priced from tokens that cannot be right: unknown
    assert result["warnings"] == [
        {
            "chunk": 1,
            "code": "usage_unknown",
            "detail": f"model 'gpt' reported impossible usage ({named}, cost unknown); counted as unknown",
        },
        {
            "chunk": None,
            "code": "cost_unknown",
            "detail": "a model reported usage that cannot be true (usage_unknown), so cost_usd is null",
        },
    ]
    assert _usage_unknown_count() == before + 1


def test_plausible_usage_is_taken_as_reported(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """Usage within bounds is reported as the provider gave it, with no warning and no fault counted."""
    http_mock.post(OPENAI_URL).mock(side_effect=_with_usage(prompt_tokens=9_999_999, completion_tokens=0))
    before = _usage_unknown_count()
    with service(hosted_settings(tmp_path)) as client:
        result = extract(client).json()
    assert (result["usage"]["prompt_tokens"], result["usage"]["completion_tokens"]) == (9_999_999, 0)
    assert result["usage"]["cost_usd"] == pytest.approx(9_999_999 * 0.15e-6)
    assert not [warning for warning in result["warnings"] if warning["code"] == "usage_unknown"]
    assert _usage_unknown_count() == before


def test_usage_litellm_cannot_read_is_a_provider_failure_not_a_500(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """Usage that is not a whole number (a string, NaN) makes litellm refuse the reply: a provider problem, no 500."""
    body = openai_chat_completion(json.dumps({"claims": []}))
    body["usage"]["prompt_tokens"] = "lots"
    http_mock.post(OPENAI_URL).mock(return_value=httpx.Response(200, json=body))
    with service(hosted_settings(tmp_path, fallbacks={"gpt": ["default"]})) as client:
        result = extract(client).json()
    assert result["status"] == "complete"  # the fallback answered
    assert result["warnings"][0]["code"] == "fallback_used"


@pytest.mark.parametrize(
    ("reported", "known"),
    [(120, 120), (0, 0), (None, 0), (-1, None), (-1e9, None), (MAX_TOKENS_A_CALL + 1, None), (math.nan, None),
     (math.inf, None), ("12", None), (12.5, None), (True, None), (MAX_TOKENS_A_CALL, MAX_TOKENS_A_CALL)],
)  # fmt: skip
def test_known_tokens_accepts_only_whole_plausible_counts(reported: object, known: int | None) -> None:
    """A token count is known when it is a whole number from 0 to the bound; missing is 0; anything else unknown."""
    assert known_tokens(reported) == known


@pytest.mark.parametrize(
    ("reported", "known"),
    [(0.0012, 0.0012), (0, 0.0), (None, None), (-0.01, None), (math.nan, None), (math.inf, None),
     (MAX_COST_USD_A_CALL * 2, None), ("0.1", None)],
)  # fmt: skip
def test_known_cost_accepts_only_finite_plausible_amounts(reported: object, known: float | None) -> None:
    """A cost is known when it is a finite number from 0 to the bound; anything else (and no price) is None."""
    assert known_cost(reported) == known
