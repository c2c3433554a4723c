"""Tests of ``service/pipeline/batch_calls.py``: a batch-mode job's chunk calls as batch input lines."""

from __future__ import annotations

import json
from pathlib import Path

from schemas import ExtractionRequest
from service.llm.batch_api import custom_id_for
from service.pipeline.batch_calls import article_calls, job_calls
from service.pipeline.build import build_pipeline
from service.pipeline.chunk_answer import chunk_messages, reply_key
from service.stores.cache.reply_cache import CachedReply
from tests.conftest import hosted_settings

PARAGRAPH = (
    "Wages rose {n}% in town {n} last year, the regional statistics office said in its annual report on Monday, "
    "after a count of every employer in the district and a survey of two thousand households there."
)


def request(paragraphs: int, first: int = 0) -> str:
    """Return a request of ``paragraphs`` paragraphs, each a chunk of its own at a 50-token budget."""
    text = "\n".join(PARAGRAPH.format(n=first + n) for n in range(paragraphs))
    return json.dumps({"article": {"text": text}})


async def test_a_line_per_chunk_identical_calls_sent_once_and_cached_ones_left_out(tmp_path: Path) -> None:
    """Three chunks, a repeated article adds nothing, a chunk already in the reply cache is not sent."""
    pipeline = build_pipeline(hosted_settings(tmp_path, chunk_tokens=50, context_sentences=0))
    parsed = ExtractionRequest.model_validate_json(request(3))
    _, _, job, _, chunks = await pipeline.chunked(parsed)
    assert len(chunks) == 3
    gpt = job.models[0]
    mode = pipeline.client.mode_for(gpt)
    first = chunk_messages(job, chunks[0])
    await pipeline.cache.set(reply_key(job, gpt, first, mode), CachedReply.reply('{"claims": []}', gpt.model, 1, 1))
    lines = await job_calls(pipeline, [request(3), request(3), "not a request"])
    assert [line["custom_id"] for line in lines] == [
        custom_id_for("gpt", mode, chunk_messages(job, chunk)) for chunk in chunks[1:]
    ]
    await pipeline.close()


async def test_an_article_the_pipeline_refuses_has_no_calls(tmp_path: Path) -> None:
    """An article over the size limit is left to its worker to fail; it sends nothing."""
    pipeline = build_pipeline(hosted_settings(tmp_path, max_article_chars=50))
    assert await article_calls(pipeline, ExtractionRequest.model_validate_json(request(3))) == []
    await pipeline.close()


def _body(content: str, finish_reason: str = "stop") -> str:
    """Return a batch answer's chat completion body, as stored, whose reply is ``content``."""
    message = {"role": "assistant", "content": content}
    return json.dumps({"choices": [{"index": 0, "message": message, "finish_reason": finish_reason}], "usage": {}})


async def test_a_follow_up_batch_holds_the_repair_loops_reask_of_each_invalid_answer_in_budget(tmp_path: Path) -> None:
    """Chunk 1 invalid, chunk 2 valid, chunk 3 cut off: follow-up 1 re-asks chunk 1 only, follow-up 2 nothing."""
    from service.pipeline.repair import rejection, repaired

    pipeline = build_pipeline(hosted_settings(tmp_path, chunk_tokens=50, context_sentences=0, repair_attempts=1))
    parsed = ExtractionRequest.model_validate_json(request(3))
    _, _, job, _, chunks = await pipeline.chunked(parsed)
    gpt = job.models[0]
    mode = pipeline.client.mode_for(gpt)
    asked = [chunk_messages(job, chunk) for chunk in chunks]
    broken = '{"claims": "none"}'
    answers = {
        custom_id_for("gpt", mode, asked[0]): _body(broken),
        custom_id_for("gpt", mode, asked[1]): _body('{"claims": []}'),
        custom_id_for("gpt", mode, asked[2]): _body(broken, finish_reason="length"),
    }
    error = rejection(broken)
    assert error is not None
    reask = repaired(job.prompt, asked[0], broken, error)
    answers[custom_id_for("gpt", mode, reask)] = _body(broken)  # still invalid, but the budget is spent

    async def lookup(custom_id: str) -> str | None:
        return answers.get(custom_id)

    first = await job_calls(pipeline, [request(3)], 1, lookup)
    second = await job_calls(pipeline, [request(3)], 2, lookup)
    await pipeline.close()
    assert [line["custom_id"] for line in first] == [custom_id_for("gpt", mode, reask)]
    assert first[0]["body"]["messages"] == reask
    assert error in reask[-1]["content"]
    assert second == []  # repair_attempts 1: one follow-up batch at most


def test_needs_reask_says_whether_any_answer_is_outside_the_reply_schema(tmp_path: Path) -> None:
    """A valid reply or a cut-off one needs no re-ask; one reply not in the schema does."""
    from service.pipeline.batch_calls import needs_reask

    pipeline = build_pipeline(hosted_settings(tmp_path))
    gpt = pipeline.settings.model_entry("gpt")
    assert gpt is not None
    fine = {"a": _body('{"claims": []}'), "b": _body("{", finish_reason="length")}
    assert not needs_reask(gpt, "json_schema", fine)
    assert needs_reask(gpt, "json_schema", fine | {"c": _body('{"claims": 3}')})
