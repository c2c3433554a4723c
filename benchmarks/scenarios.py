"""Each figure of the benchmark, measured over real HTTP against the running service and fake provider.

Every function takes the running processes, sends a bounded number of requests and returns a plain dict
of what it measured (milliseconds, ratios, counts), which ``benchmarks.report`` turns into table rows.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from benchmarks.articles import GeneratedArticle, article_of_bytes, article_of_chunks, article_of_words
from benchmarks.client import Connection, Reply, get_json, run_concurrently
from benchmarks.processes import Process, cpu_seconds, memory_kib, reset_peak_rss
from benchmarks.stats import ms, percentile
from benchmarks.tokens import count_text, encoding_name, sentence_pipeline_tokens
from service.prompts.sentence_lines import sentence_line

EXTRACTIONS = "/v1/extractions"


@dataclass(frozen=True)
class Plan:
    """How much of each figure to measure; ``QUICK`` proves the harness, ``FULL`` gives the numbers."""

    latency_ms: float
    overhead_requests: int
    fanout_repeats: int
    cache_requests: int
    throughput_requests: int
    throughput_concurrency: int
    incremental_edits: int  # 0: every paragraph of the article, one at a time
    load_requests: int
    load_article_bytes: int
    offline_seconds: float
    cli_repeats: int
    worst_shape_chars: int
    scale_articles: int  # through 1, 2 and 4 worker processes each
    rpm_articles: int  # through 3 workers sharing rpm 120: past 120, the limit must hold them back
    breakdown_requests: int  # per layer, one at a time, against the same provider
    faithfulness_articles: int  # fresh ~1,000-word articles whose chunks the gate is timed on

    @property
    def latency_s(self) -> float:
        """Return the provider's latency in seconds."""
        return self.latency_ms / 1000


FULL = Plan(300, 50, 3, 200, 1000, 8, 0, 100, 20_000, 2.0, 3, 200_000, 240, 300, 30, 20)
QUICK = Plan(50, 8, 1, 20, 40, 4, 3, 10, 20_000, 0.5, 1, 40_000, 24, 40, 5, 2)


SAMPLE_ARTICLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "article-trump-musk-x-stream.txt"
SAMPLE_TITLE = "Trump and Musk hold live-streamed conversation on X"


def sample_article(copies: int) -> GeneratedArticle:
    """Return the sample news article repeated ``copies`` times, one chunk a copy (the issue's cached rows)."""
    text = SAMPLE_ARTICLE.read_text(encoding="utf-8").strip()
    return GeneratedArticle(SAMPLE_TITLE, "\n".join([text] * copies))


def request_body(article: GeneratedArticle, **options: Any) -> dict[str, Any]:
    """Return an extraction request for ``article``."""
    body: dict[str, Any] = {"article": {"title": article.title, "text": article.text}}
    if options:
        body["options"] = options
    return body


async def provider_calls(provider: Process) -> int:
    """Return how many completions the fake provider has answered."""
    return int((await get_json(provider.port, "/stats"))["calls"])


async def _extract(connection: Connection, article: GeneratedArticle) -> tuple[Reply, dict[str, Any]]:
    """POST an article and check the reply is a complete extraction."""
    reply = await connection.post_json(EXTRACTIONS, request_body(article))
    document = reply.json()
    if reply.status != 200 or document.get("status") != "complete":
        raise RuntimeError(f"extraction failed: {reply.status} {reply.body[:500]!r}")
    return reply, document


async def measure_first_extraction(plan: Plan, service: Process) -> dict[str, Any]:
    """Time the first extraction after ``/readyz`` (one chunk), which pays for any lazy import."""
    connection = Connection(service.port)
    try:
        reply, _ = await _extract(connection, article_of_words(9_000, 250))
    finally:
        await connection.close()
    return {
        "first_extraction_ms": ms(reply.seconds),
        "first_extraction_over_latency_ms": ms(reply.seconds - plan.latency_s),
    }


async def measure_overhead(plan: Plan, service: Process, provider: Process) -> dict[str, Any]:
    """Time distinct one-chunk articles, one at a time, and a direct provider call for the loopback floor."""
    connection = Connection(service.port)
    try:
        for seed in range(3):  # warm up connections and code paths
            await _extract(connection, article_of_words(9_100 + seed, 250))
        before = await provider_calls(provider)
        cpu_before = cpu_seconds(service.pid)
        seconds = []
        for index in range(plan.overhead_requests):
            reply, document = await _extract(connection, article_of_words(10_000 + index, 250))
            assert document["usage"]["chunks"] == 1, "the overhead article must be one chunk"
            seconds.append(reply.seconds)
        cpu = cpu_seconds(service.pid) - cpu_before
        calls = await provider_calls(provider) - before
    finally:
        await connection.close()
    direct = await _direct_provider_seconds(plan, provider)
    p50, p95 = percentile(seconds, 50), percentile(seconds, 95)
    return {
        "requests": plan.overhead_requests,
        "provider_calls": calls,
        "e2e_p50_ms": ms(p50),
        "e2e_p95_ms": ms(p95),
        "overhead_p50_ms": ms(p50 - plan.latency_s),
        "overhead_p95_ms": ms(p95 - plan.latency_s),
        "direct_provider_overhead_p50_ms": ms(percentile(direct, 50) - plan.latency_s),
        "e2e_over_latency_p50": round(p50 / plan.latency_s, 3),
        "service_cpu_ms_per_request": ms(cpu / plan.overhead_requests),
    }


async def _direct_provider_seconds(plan: Plan, provider: Process) -> list[float]:
    """Time chat completions sent straight to the provider (a script calling the model, minus the SDK)."""
    article = article_of_words(10_000, 250)
    lines = "\n".join(sentence_line(n, text) for n, text in enumerate(article.text.split(". "), start=1))
    body = {"model": "fake", "messages": [{"role": "user", "content": f"Sentences:\n{lines}"}]}
    connection = Connection(provider.port)
    try:
        return [
            (await connection.post_json("/v1/chat/completions", body)).seconds
            for _ in range(min(plan.overhead_requests, 20))
        ]
    finally:
        await connection.close()


async def measure_fanout(plan: Plan, service: Process, provider: Process, chunks: int = 10) -> dict[str, Any]:
    """Time fresh ``chunks``-chunk articles end to end, as a ratio to one chunk's model latency."""
    connection = Connection(service.port)
    seconds, calls = [], []
    try:
        for repeat in range(plan.fanout_repeats):
            article = article_of_chunks(20_000 + repeat * 7, chunks)
            reply, document = await _extract(connection, article)
            assert document["usage"]["chunks"] == chunks, document["usage"]
            seconds.append(reply.seconds)
            calls.append(document["usage"]["model_calls"])
    finally:
        await connection.close()
    middle = median(seconds)
    return {
        "chunks": chunks,
        "repeats": plan.fanout_repeats,
        "model_calls": calls,
        "e2e_median_ms": ms(middle),
        "ratio": round(middle / plan.latency_s, 3),
    }


async def _repost(
    plan: Plan, service: Process, provider: Process, article: GeneratedArticle
) -> tuple[dict[str, Any], dict[str, Any], list[float], float, int]:
    """POST ``article`` once, then ``cache_requests`` times more: first reply, last reply, seconds, CPU, calls."""
    connection = Connection(service.port)
    try:
        _, first = await _extract(connection, article)
        before = await provider_calls(provider)
        cpu_before = cpu_seconds(service.pid)
        seconds = []
        for _ in range(plan.cache_requests):
            reply, document = await _extract(connection, article)
            seconds.append(reply.seconds)
        cpu = cpu_seconds(service.pid) - cpu_before
        calls = await provider_calls(provider) - before
    finally:
        await connection.close()
    return first, document, seconds, cpu, calls


async def measure_cache(plan: Plan, service: Process, provider: Process, reply_path: Path) -> dict[str, Any]:
    """POST a ~1,000-word article, then re-POST it: latency, provider calls; save the reply for the bare app."""
    article = article_of_words(30_000, 1_000)
    first, document, seconds, cpu, calls = await _repost(plan, service, provider, article)
    await asyncio.to_thread(reply_path.write_text, json.dumps(document), encoding="utf-8")
    return {
        "article_words": article.words,
        "chunks": first["usage"]["chunks"],
        "requests": plan.cache_requests,
        "p50_ms": ms(percentile(seconds, 50)),
        "p95_ms": ms(percentile(seconds, 95)),
        "provider_calls": calls,
        "cache_hits_last": document["usage"]["cache_hits"],
        "claims": len(document["claims"]),
        "service_cpu_ms_per_request": ms(cpu / plan.cache_requests),
        "body": request_body(article),
    }


async def measure_cached_sample(plan: Plan, service: Process, provider: Process, copies: int) -> dict[str, Any]:
    """POST the sample article ``copies`` times over (one chunk a copy), then re-POST it: p50/p95, CPU, calls."""
    article = sample_article(copies)
    first, document, seconds, cpu, calls = await _repost(plan, service, provider, article)
    return {
        "copies": copies,
        "chunks": first["usage"]["chunks"],
        "claims": len(document["claims"]),
        "requests": plan.cache_requests,
        "p50_ms": ms(percentile(seconds, 50)),
        "p95_ms": ms(percentile(seconds, 95)),
        "provider_calls": calls,
        "cache_hits_last": document["usage"]["cache_hits"],
        "service_cpu_ms_per_request": ms(cpu / plan.cache_requests),
    }


async def measure_throughput(plan: Plan, port: int, body: dict[str, Any]) -> dict[str, Any]:
    """POST the same body ``throughput_requests`` times over ``throughput_concurrency`` connections."""
    payload = json.dumps(body).encode("utf-8")
    await run_concurrently(port, [payload] * plan.throughput_concurrency, plan.throughput_concurrency)  # warm up
    started = time.perf_counter()
    replies = await run_concurrently(port, [payload] * plan.throughput_requests, plan.throughput_concurrency)
    elapsed = time.perf_counter() - started
    errors = sum(1 for reply in replies if not isinstance(reply, Reply) or reply.status != 200)
    return {
        "requests": plan.throughput_requests,
        "concurrency": plan.throughput_concurrency,
        "errors": errors,
        "requests_per_s": round(plan.throughput_requests / elapsed, 1),
    }


def edit_paragraph(paragraph: str) -> str:
    """Edit a paragraph as a copy editor would: change its first figure, or add a word when it has none."""
    match = re.search(r"\d", paragraph)
    if match is None:
        return "Meanwhile, " + paragraph[:1].lower() + paragraph[1:]
    digit = str((int(match.group()) + 1) % 10)
    return paragraph[: match.start()] + digit + paragraph[match.end() :]


async def measure_incremental(plan: Plan, service: Process, provider: Process) -> dict[str, Any]:
    """Cache a 10-chunk article, then re-POST it with one paragraph edited, for each paragraph in turn."""
    article = article_of_chunks(40_000, 10)
    connection = Connection(service.port)
    try:
        await _extract(connection, article)
        _, document = await _extract(connection, article)
    finally:
        await connection.close()
    paragraphs = article.text.split("\n")
    count = plan.incremental_edits or len(paragraphs)
    indices = sorted({round(i * (len(paragraphs) - 1) / max(1, count - 1)) for i in range(count)})
    bodies = []
    for index in indices:
        edited = [*paragraphs[:index], edit_paragraph(paragraphs[index]), *paragraphs[index + 1 :]]
        edited_article = GeneratedArticle(article.title, "\n".join(edited))
        bodies.append(json.dumps(request_body(edited_article)).encode("utf-8"))
    before = await provider_calls(provider)
    replies = await run_concurrently(service.port, bodies, 10)
    total = await provider_calls(provider) - before
    calls = [reply.json()["usage"]["model_calls"] for reply in replies if isinstance(reply, Reply)]
    if len(calls) != len(bodies):
        raise RuntimeError("an edited article failed")
    return {
        "chunks": 10,
        "unchanged_repost_model_calls": document["usage"]["model_calls"],
        "edits": len(calls),
        "calls_per_edit": calls,
        "provider_calls_total": total,
        "exactly_one": sum(1 for c in calls if c == 1),
        "median_calls": median(calls),
        "max_calls": max(calls),
        "mean_calls": round(sum(calls) / len(calls), 3),
    }


async def measure_tokens(service: Process, provider: Process, words: int, seed: int) -> dict[str, Any]:
    """Count prompt tokens the provider received for a fresh article, beside a sentence-by-sentence pipeline."""
    article = article_of_words(seed, words)
    connection = Connection(service.port)
    try:
        before = await get_json(provider.port, "/stats")
        _, document = await _extract(connection, article)
        after = await get_json(provider.port, "/stats")
    finally:
        await connection.close()
    sent = after["prompt_tokens"] - before["prompt_tokens"]
    article_tokens = count_text(article.text)
    baseline, sentences = sentence_pipeline_tokens(article.text, article.title)
    return {
        "tokenizer": encoding_name(),
        "article_words": article.words,
        "article_tokens": article_tokens,
        "chunks": document["usage"]["chunks"],
        "prompt_tokens_sent": sent,
        "ratio": round(sent / article_tokens, 3),
        "sentence_pipeline_calls": sentences,
        "sentence_pipeline_prompt_tokens": baseline,
        "sentence_pipeline_ratio": round(baseline / article_tokens, 3),
    }


async def measure_load(plan: Plan, service: Process, provider: Process) -> dict[str, Any]:
    """Send ``load_requests`` distinct ~20 KB articles at once; errors, latency and the service's peak RSS."""
    articles = [article_of_bytes(50_000 + i, plan.load_article_bytes) for i in range(plan.load_requests)]
    bodies = [json.dumps(request_body(article)).encode("utf-8") for article in articles]
    rss_before = memory_kib(service.pid)["VmRSS"]
    peak_reset = reset_peak_rss(service.pid)
    sampled = [rss_before]
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            sampled.append(memory_kib(service.pid)["VmRSS"])
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    before = await provider_calls(provider)
    started = time.perf_counter()
    replies = await run_concurrently(service.port, bodies, plan.load_requests, limit_s=300)
    elapsed = time.perf_counter() - started
    done.set()
    await sampler
    calls = await provider_calls(provider) - before
    memory = memory_kib(service.pid)
    peak_kib = max(max(sampled), memory["VmHWM"] if peak_reset else 0)
    ok = [r for r in replies if isinstance(r, Reply) and r.status == 200 and r.json().get("status") == "complete"]
    seconds = [r.seconds for r in ok]
    return {
        "requests": plan.load_requests,
        "article_bytes_mean": round(sum(len(a.text.encode("utf-8")) for a in articles) / len(articles)),
        "errors": len(replies) - len(ok),
        "error_samples": [repr(r)[:200] for r in replies if not (isinstance(r, Reply) and r.status == 200)][:3],
        "provider_calls": calls,
        "p50_ms": ms(percentile(seconds, 50)),
        "p99_ms": ms(percentile(seconds, 99)),
        "max_ms": ms(max(seconds, default=0.0)),
        "wall_s": round(elapsed, 2),
        "rss_before_mb": round(rss_before / 1024, 1),
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "peak_rss_source": "VmHWM after clear_refs, and 20 ms samples" if peak_reset else "20 ms samples of VmRSS",
    }
