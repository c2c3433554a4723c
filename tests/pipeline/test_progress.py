"""Tests of ``service/pipeline/progress.py``: what an extraction tells its listener, and when.

OpenAI is mocked at the HTTP boundary with respx (the real litellm -> httpx path); the budget is a recorder
of our own ``Budget`` interface, so the order of reserve, started, the chunks and settle can be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import respx

from schemas import Article, ExtractionRequest, Usage
from schemas.streaming import ChunkClaims
from service.errors import QuotaExceeded
from service.pipeline.build import build_pipeline
from service.stores.limits.estimate import Estimate
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import scripted_openai_reply

PARAGRAPHS = "\n".join(
    f"Prices rose {n}% in May in district {n}, officials said on Tuesday after a long count." for n in range(6)
)


class Recorder:
    """A listener and a budget both, writing down what it hears in order."""

    def __init__(self, refuse: bool = False) -> None:
        self.heard: list[Any] = []
        self.refuse = refuse

    def started(self, chunks: int) -> None:
        """Note that the models are about to be asked."""
        self.heard.append(("started", chunks))

    def answered(self, chunk: ChunkClaims) -> None:
        """Note a chunk's claims."""
        self.heard.append(chunk)

    async def reserve(self, estimate: Estimate) -> None:
        """Note the reservation, or refuse it."""
        if self.refuse:
            raise QuotaExceeded("the day is used up", retry_after=60, rate_headers={})
        self.heard.append("reserve")

    async def settle(self, usage: Usage) -> None:
        """Note the settlement."""
        self.heard.append(("settle", usage.model_calls))


async def test_the_listener_hears_started_once_the_estimate_is_held_then_each_chunk(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """Reserve, started (with the count), a ChunkClaims per chunk, settle; the chunks' claims are the reply's."""
    http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    pipeline = build_pipeline(hosted_settings(tmp_path, chunk_tokens=60, context_sentences=0))
    recorder = Recorder()
    result = await pipeline.extract(
        ExtractionRequest(article=Article(id="d", text=PARAGRAPHS)), recorder, progress=recorder
    )
    chunks = result.usage.chunks
    heard = recorder.heard
    assert chunks >= 2
    assert heard[:2] == ["reserve", ("started", chunks)]
    assert heard[-1] == ("settle", chunks)
    reports = heard[2:-1]
    assert all(isinstance(report, ChunkClaims) for report in reports)
    assert sorted(report.chunk for report in reports) == list(range(1, chunks + 1))
    assert {report.chunks for report in reports} == {chunks}
    assert sorted(c.id for r in reports for c in r.claims) == sorted(claim.id for claim in result.claims)


async def test_a_refused_reservation_is_raised_before_the_listener_hears_anything(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """A budget that refuses: QuotaExceeded, no started, no chunk, and no model asked."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    pipeline = build_pipeline(hosted_settings(tmp_path, chunk_tokens=60))
    recorder = Recorder(refuse=True)
    with pytest.raises(QuotaExceeded):
        await pipeline.extract(ExtractionRequest(article=Article(text=PARAGRAPHS)), recorder, progress=recorder)
    assert recorder.heard == []
    assert route.call_count == 0
