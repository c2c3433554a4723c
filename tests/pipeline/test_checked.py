"""Tests of ``service/pipeline/checked.py``: a cache hit returns what a miss returns, and checks nothing again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from schemas import Notice
from service.api.app import create_app
from service.pipeline import chunk_answer
from service.pipeline.checked import CHECKED, Checked, CheckedReplies, checked_key
from service.steps.chunking import Chunk
from service.steps.grounding import Producer
from service.steps.text import Sentence
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import claims_for_numbers, openai_chat_completion, sentence_lines

pytestmark = pytest.mark.usefixtures("provider_keys")
SPENT_NOW = {"model_calls", "cache_hits", "prompt_tokens", "completion_tokens", "cost_usd"}  # a hit spends nothing


def _mixed_reply(request: httpx.Request) -> httpx.Response:
    """Answer with good claims and three a check drops: ungrounded, unfaithful, and citing outside the chunk."""
    first_id, first_text = sentence_lines(request)[0]
    bad = [
        {"sentence_ids": [first_id], "quote": "words the article never had", "text": first_text},
        {"sentence_ids": [first_id], "quote": first_text, "text": "Anthony Fauci said 4,321 people fell ill.",
         "claimant": "Anthony Fauci"},
        {"sentence_ids": [999], "quote": first_text, "text": first_text},
    ]  # fmt: skip
    common = {"type": "other", "claimant": None, "attribution": "author", "checkworthiness": 0.7}
    claims = [*claims_for_numbers(request), *({**common, **claim} for claim in bad)]
    return httpx.Response(200, json=openai_chat_completion(json.dumps({"claims": claims})))


def _post(client: TestClient, text: str, **options: Any) -> dict[str, Any]:
    """POST an article (with a title) and return the reply's JSON."""
    body = {"article": {"text": text, "title": "Trump and Musk talk on X"}, "options": options}
    reply = client.post("/v1/extractions", json=body)
    assert reply.status_code == 200, reply.text
    document: dict[str, Any] = reply.json()
    return document


def assert_hit_equals_miss(hit: dict[str, Any], miss: dict[str, Any]) -> None:
    """Every field of a hit's reply equals the miss's, but what usage counts as spent now."""
    assert hit["usage"]["model_calls"] == 0
    assert hit["usage"]["cache_hits"] == hit["usage"]["chunks"] > 1
    assert miss["usage"]["model_calls"] == miss["usage"]["chunks"]
    assert {key: value for key, value in hit.items() if key != "usage"} == {
        key: value for key, value in miss.items() if key != "usage"
    }
    assert {key: value for key, value in hit["usage"].items() if key not in SPENT_NOW} == {
        key: value for key, value in miss["usage"].items() if key not in SPENT_NOW
    }


def test_a_cache_hit_returns_field_for_field_what_the_miss_returned(
    tmp_path: Path, http_mock: respx.MockRouter, sample_article: str
) -> None:
    """Claims, spans, ids, every drop notice, provenance: a re-POST answered by the cache equals the first answer."""
    http_mock.post(OPENAI_URL).mock(side_effect=_mixed_reply)
    with TestClient(create_app(hosted_settings(tmp_path, chunk_tokens=200))) as client:
        miss = _post(client, sample_article)
        hit = _post(client, sample_article)
    codes = {warning["code"] for warning in miss["warnings"]}
    assert {"ungrounded_claim_dropped", "unfaithful_claim_dropped", "claim_outside_chunk_dropped"} <= codes
    assert_hit_equals_miss(hit, miss)


def test_a_hit_checked_in_a_fresh_process_equals_the_miss(
    tmp_path: Path, http_mock: respx.MockRouter, sample_article: str
) -> None:
    """With nothing remembered of the check (a restart), the hit checks the stored reply to the same result."""
    http_mock.post(OPENAI_URL).mock(side_effect=_mixed_reply)
    with TestClient(create_app(hosted_settings(tmp_path, chunk_tokens=200))) as client:
        miss = _post(client, sample_article)
    CHECKED.clear()
    with TestClient(create_app(hosted_settings(tmp_path, chunk_tokens=200))) as client:
        hit = _post(client, sample_article)
    assert_hit_equals_miss(hit, miss)


def test_a_reply_cached_for_one_placement_is_grounded_anew_at_another(
    tmp_path: Path, http_mock: respx.MockRouter, sample_article: str
) -> None:
    """The same chunks with CRLF line ends hit the cache (same prompts), but their spans are the new text's."""
    http_mock.post(OPENAI_URL).mock(side_effect=_mixed_reply)
    crlf = sample_article.replace("\n", "\r\n")
    with TestClient(create_app(hosted_settings(tmp_path, chunk_tokens=200))) as client:
        _post(client, sample_article)
        hit = _post(client, crlf)
        miss = _post(client, crlf, cache=False)
    assert_hit_equals_miss(hit, miss)
    assert all(crlf[c["source"]["start"] : c["source"]["end"]] == c["source"]["quote"] for c in hit["claims"])


def test_a_cache_hit_is_neither_parsed_nor_grounded_nor_checked_again(
    tmp_path: Path, http_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, sample_article: str
) -> None:
    """What was checked when the reply was first answered is remembered: the hit runs none of the checks."""
    http_mock.post(OPENAI_URL).mock(side_effect=_mixed_reply)

    def must_not_run(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a cache hit checked its reply again")

    with TestClient(create_app(hosted_settings(tmp_path, chunk_tokens=200))) as client:
        miss = _post(client, sample_article)
        for name in ("parse_model_reply", "ground_claims", "check_faithfulness", "chunk_support"):
            monkeypatch.setattr(chunk_answer, name, must_not_run)
        hit = _post(client, sample_article)
    assert_hit_equals_miss(hit, miss)


def _chunk(offset: int = 0, index: int = 1) -> Chunk:
    """Return a one-sentence chunk, with context, at ``offset``."""
    context = Sentence(id=1, start=offset, end=offset + 9, text="Earlier.", paragraph=0)
    sentence = Sentence(id=2, start=offset + 10, end=offset + 30, text="Prices rose 3% in May.", paragraph=0)
    return Chunk(index=index, sentences=(sentence,), context=(context,))


def _key(**changes: Any) -> str:
    """Return a checked key, with ``changes`` to its parts."""
    parts: dict[str, Any] = {
        "reply_key": "k" * 64, "content": '{"claims": []}', "producer": Producer("gpt", "openai/gpt-4o-mini"),
        "chunk": _chunk(), "article_sha256": "a" * 64, "title": None, "faithfulness": "drop",
    }  # fmt: skip
    return checked_key(**(parts | changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"reply_key": "j" * 64},
        {"content": '{"claims": [ ]}'},
        {"producer": Producer("other", "openai/gpt-4o-mini")},
        {"chunk": _chunk(offset=1)},
        {"chunk": _chunk(index=2)},
        {"article_sha256": "b" * 64},
        {"title": "A title"},
        {"faithfulness": "warn"},
    ],
)
def test_everything_that_shapes_a_check_changes_its_key(changes: dict[str, Any]) -> None:
    """The reply, the model, the chunk's place and index, the article, the title and the mode each change the key."""
    assert _key(**changes) != _key()
    assert _key() == _key()


def test_the_memory_is_bounded_by_the_size_of_the_replies_it_holds() -> None:
    """Past its budget the least recently used outcome goes; a reply bigger than the budget is not kept."""
    memory = CheckedReplies(budget_chars=100)
    notice = Notice(chunk=1, code="ungrounded_claim_dropped", detail="x")
    for name in ("a", "b", "c"):
        memory.put(name, Checked((), (notice,), weight=40))
    assert memory.get("a") is None
    assert memory.get("b") is not None
    assert memory.get("c") is not None
    memory.put("huge", Checked((), (), weight=101))
    assert memory.get("huge") is None
    memory.clear()
    assert memory.get("c") is None
