"""Tests of ``service/pipeline/spending.py``: an extraction's estimate, and its budget reserved and settled."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import respx

from schemas import ExtractionRequest, Usage
from service.errors import QuotaExceeded
from service.pipeline.build import build_pipeline
from service.pipeline.chunk_answer import ChunkJob, chunk_messages
from service.pipeline.spending import estimate_spend, settle_whatever_happens, settlements_finished
from service.prompts.registry import PromptRegistry, default_prompts_dir
from service.settings import ModelEntry, Settings
from service.steps.chunking import Chunk, chunk_sentences
from service.steps.reading import read_sentences
from service.steps.text import normalize_text
from service.stores.limits.estimate import Estimate
from service.stores.limits.rate_limits import prompt_token_estimate
from tests.conftest import OPENAI_URL, hosted_settings

GPT_PRICE_IN, GPT_PRICE_OUT = 0.15e-6, 0.6e-6  # gpt-4o-mini per token, from litellm's bundled map
UNPRICED = ModelEntry(model_name="local", litellm_params={"model": "openai/qwen2.5-7b-instruct", "api_key": "none"})


def job_and_chunks(settings: Settings, text: str, models: list[ModelEntry]) -> tuple[ChunkJob, list[Chunk]]:
    """Return the chunk job and chunks the pipeline would make of ``text``."""
    normalized = normalize_text(text)
    request = ExtractionRequest.model_validate({"article": {"text": text}})
    sentences = read_sentences(normalized.text, request.article)
    chunks = chunk_sentences(sentences, settings.chunk_tokens, settings.context_sentences)
    prompt = PromptRegistry.load(default_prompts_dir()).get(settings.prompt)
    job = ChunkJob(
        prompt=prompt, models=models, title=None, normalized=normalized, original=text, read_cache=True,
        repair_attempts=1, faithfulness=settings.faithfulness,
    )  # fmt: skip
    return job, chunks


def test_the_estimate_is_every_chunk_s_prompt_plus_the_completion_it_allows(
    tmp_path: Path, sample_article: str
) -> None:
    """Prompt tokens as the tpm limits reckon them, 2,048 completion tokens a chunk (max_tokens), priced for gpt."""
    settings = hosted_settings(tmp_path, chunk_tokens=300)
    job, chunks = job_and_chunks(settings, sample_article, [settings.models[0]])
    estimate = estimate_spend(job, chunks)
    prompts = sum(prompt_token_estimate(chunk_messages(job, chunk)) for chunk in chunks)
    assert len(chunks) > 1
    assert (estimate.prompt_tokens, estimate.completion_tokens) == (prompts, 2048 * len(chunks))
    assert estimate.prompt_cost_usd == pytest.approx(prompts * GPT_PRICE_IN)
    assert estimate.completion_cost_usd == pytest.approx(2048 * len(chunks) * GPT_PRICE_OUT)


def test_the_dearest_priced_model_of_the_chain_prices_it_and_none_priced_leaves_it_unknown(
    tmp_path: Path, sample_article: str
) -> None:
    """A fallback may answer: claude (dearer) prices a gpt chain falling back to it; an unpriced model alone: None."""
    settings = hosted_settings(tmp_path)
    gpt, claude = settings.models[0], settings.models[1]
    job, chunks = job_and_chunks(settings, sample_article, [gpt, UNPRICED, claude])
    alone, _ = job_and_chunks(settings, sample_article, [UNPRICED])
    estimate = estimate_spend(job, chunks)
    assert estimate.completion_cost_usd == pytest.approx(estimate.completion_tokens * 5e-6)  # claude-haiku-4-5
    assert estimate_spend(alone, chunks).prompt_cost_usd is None


async def test_a_refused_reservation_calls_no_model(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """A budget refusing the estimate stops the extraction before any model call: the provider is never asked."""
    route = http_mock.post(OPENAI_URL)
    seen: list[Estimate] = []

    class Refusing:
        async def reserve(self, estimate: Estimate) -> None:
            seen.append(estimate)
            raise QuotaExceeded("over", retry_after=60, rate_headers={})

        async def settle(self, usage: Usage) -> None:
            raise AssertionError("nothing was reserved")

    pipeline = build_pipeline(hosted_settings(tmp_path))
    with pytest.raises(QuotaExceeded):
        await pipeline.extract(ExtractionRequest.model_validate({"article": {"text": "Prices rose 3%."}}), Refusing())
    await pipeline.close()
    assert route.call_count == 0
    assert [estimate.completion_tokens for estimate in seen] == [2048]


async def test_a_settlement_ends_even_when_its_request_is_cancelled_meanwhile() -> None:
    """The caller cancelled during the settlement: the settlement still charges what was used."""
    settled: list[Usage] = []
    started = asyncio.Event()

    class Slow:
        async def reserve(self, estimate: Estimate) -> None:
            """Hold nothing."""

        async def settle(self, usage: Usage) -> None:
            started.set()
            await asyncio.sleep(0.05)
            settled.append(usage)

    caller = asyncio.create_task(settle_whatever_happens(Slow(), Usage(prompt_tokens=7)))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.sleep(0.1)
    assert [usage.prompt_tokens for usage in settled] == [7]


async def test_shutdown_waits_for_the_settlements_under_way() -> None:
    """A settlement still running when the process stops is waited for before the quotas close (not cut off)."""
    settled: list[Usage] = []

    class SlowBudget:
        async def reserve(self, estimate: Estimate) -> None:
            """Hold nothing."""

        async def settle(self, usage: Usage) -> None:
            """Settle after a while, as a quota store a network away does."""
            await asyncio.sleep(0.2)
            settled.append(usage)

    cancelled = asyncio.create_task(settle_whatever_happens(SlowBudget(), Usage(cost_usd=0.0)))
    await asyncio.sleep(0.01)
    cancelled.cancel()  # the article was stopped: its settlement goes on, shielded
    await settlements_finished()
    assert len(settled) == 1
