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
