"""Where an uncached one-chunk request's overhead goes: each layer timed alone against the same fake provider.

Run in a process of its own (``python -m benchmarks.breakdown PORT LATENCY_MS REQUESTS CONFIG``), against the
provider the service uses, each layer with its own distinct one-chunk articles (~250 words), one at a time:

* ``raw``: the chat-completions request the service would send, POSTed with a bare ``httpx.AsyncClient``
  (the floor: loopback, the provider's own work, an HTTP client);
* ``sdk``: the same through the OpenAI SDK (``AsyncOpenAI.chat.completions.create``, retries off), the
  client litellm drives for ``openai/`` models;
* ``litellm``: the same through ``litellm.acompletion``, configured as the service configures it
  (``service.llm.client.configure_litellm``): a bare litellm call, the floor of what litellm costs us;
* ``pipeline``: ``Pipeline.extract`` in-process (the claims.yaml the service runs with): prompts, the
  cache's lookup and write, the model call, grounding, the gate, de-duplication, the reply.

Each figure is wall time minus the provider's latency (p50), and this process's CPU time per call. The
layers are the differences: the SDK = sdk − raw, litellm = litellm − sdk, our pipeline = pipeline − litellm,
and HTTP and middleware = the service's end-to-end overhead − pipeline (``benchmarks.scenarios``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from statistics import median
from typing import Any

from benchmarks.articles import GeneratedArticle, article_of_words
from benchmarks.stats import ms, percentile

LAYERS = ("raw", "sdk", "litellm", "pipeline")
WARM_UP = 3


def _messages(article: GeneratedArticle) -> list[dict[str, str]]:
    """Return the messages the service would send for a one-chunk article (its own prompt rendering)."""
    from service.prompts.rendering import ContextLine, PromptSentence, render_prompt
    from service.settings import Settings
    from service.steps.chunking import chunk_sentences
    from service.steps.text import normalize_text, segment_sentences

    settings = Settings()
    sentences = segment_sentences(normalize_text(article.text).text)
    chunk = chunk_sentences(sentences, settings.chunk_tokens, settings.context_sentences)[0]
    prompt = _prompt(settings.prompt)
    numbered = [PromptSentence(id=n, text=s.text, speaker=s.speaker) for n, s in enumerate(chunk.sentences, 1)]
    context = [ContextLine(text=s.text, speaker=s.speaker) for s in chunk.context]
    return render_prompt(prompt, sentences=numbered, context=context, title=article.title)


@cache
def _prompt(name: str) -> Any:
    """Load the bundled prompts once; return the default one."""
    from service.prompts.registry import PromptRegistry, default_prompts_dir

    return PromptRegistry.load(default_prompts_dir()).get(name)


async def _timed(call: Callable[[int], Awaitable[Any]], seeds: list[int]) -> tuple[list[float], float]:
    """Call once per seed, one at a time; return the wall seconds of each and the CPU seconds per call."""
    for seed in seeds[:WARM_UP]:
        await call(seed)
    walls = []
    cpu_before = time.process_time()
    for seed in seeds[WARM_UP:]:
        started = time.perf_counter()
        await call(seed)
        walls.append(time.perf_counter() - started)
    return walls, (time.process_time() - cpu_before) / len(walls)


async def measure(port: int, latency_s: float, requests: int, config: Path) -> dict[str, Any]:
    """Time each layer alone; return each one's overhead p50 and CPU per call, in milliseconds."""
    import httpx
    import openai

    from schemas import Article, ExtractionRequest
    from service.llm.client import configure_litellm
    from service.pipeline.build import build_pipeline
    from service.settings import get_settings

    base = f"http://127.0.0.1:{port}/v1"
    litellm = configure_litellm()
    pipeline = build_pipeline(get_settings(config))
    articles = {seed: article_of_words(seed, 250) for seed in range(90_000, 90_000 + 4 * (requests + WARM_UP))}
    messages = {seed: _messages(article) for seed, article in articles.items()}
    seeds = iter(sorted(messages))
    raw_client = httpx.AsyncClient(base_url=base)
    sdk = openai.AsyncOpenAI(base_url=base, api_key="none", max_retries=0)

    async def raw(seed: int) -> Any:
        body = {"model": "fake", "messages": messages[seed]}
        return (await raw_client.post("/chat/completions", content=json.dumps(body))).json()

    async def through_sdk(seed: int) -> Any:
        return await sdk.chat.completions.create(model="fake", messages=messages[seed])  # type: ignore[arg-type]

    async def through_litellm(seed: int) -> Any:
        arguments = {"model": "openai/fake", "api_base": base, "api_key": "none", "num_retries": 0, "max_retries": 0}
        return await litellm.acompletion(messages=messages[seed], **arguments)

    async def through_pipeline(seed: int) -> Any:
        article = articles[seed]
        request = ExtractionRequest(article=Article(text=article.text, title=article.title), options={"cache": False})
        return await pipeline.extract(request)  # a miss even where a reply is cached: asked, checked, stored

    figures: dict[str, Any] = {}
    try:
        for name, call in zip(LAYERS, (raw, through_sdk, through_litellm, through_pipeline), strict=True):
            walls, cpu = await _timed(call, [next(seeds) for _ in range(requests + WARM_UP)])
            figures[name] = {
                "overhead_p50_ms": ms(percentile(walls, 50) - latency_s),
                "overhead_median_ms": ms(median(walls) - latency_s),
                "cpu_ms_per_call": ms(cpu),
            }
    finally:
        await raw_client.aclose()
        await sdk.close()
        await pipeline.close()
    return figures


if __name__ == "__main__":
    port_arg, latency_arg, requests_arg, config_arg = sys.argv[1:5]
    result = asyncio.run(measure(int(port_arg), float(latency_arg) / 1000, int(requests_arg), Path(config_arg)))
    print("BREAKDOWN " + json.dumps(result))
