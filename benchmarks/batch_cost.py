"""What a 1,000-article job costs realtime and in batch mode, at a real model's prices from litellm's map.

No network: each article (``benchmarks.articles``, ~1,000 words, seeds 0-999) is read and chunked by the
service's own pipeline, each chunk's prompt rendered as the service sends it (``Pipeline.chunked`` and
``chunk_messages``, the model's structured-output JSON schema included), and the prompt tokens counted with
``benchmarks.tokens`` (tiktoken ``o200k_base``, GPT-4o's, as OpenAI bills chat messages). The completion is
what the fake provider answers for that chunk (a claim per sentence with a figure or a quote), counted the
same way. Realtime is priced with ``litellm.cost_per_token``; batch mode with the map's
``input_cost_per_token_batches`` / ``output_cost_per_token_batches`` (``service.llm.batch_api.batch_prices``).
Run: ``python -m benchmarks.batch_cost [--articles 1000] [--model openai/gpt-4o-mini]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.articles import article_of_words
from benchmarks.fake_provider import claims_for
from benchmarks.tokens import count_messages, count_text
from schemas import ExtractionRequest
from service.llm.batch_api import batch_line, batch_prices
from service.llm.client import configure_litellm
from service.pipeline.build import build_pipeline
from service.pipeline.chunk_answer import chunk_messages
from service.settings import ModelEntry, Settings

RESULTS = Path(__file__).resolve().parent / "results"


async def job_tokens(model: str, articles: int, words: int, workdir: Path) -> dict[str, int]:
    """Return the chunk calls, prompt and completion tokens the service would spend on the job's articles."""
    entry = ModelEntry(model_name="priced", litellm_params={"model": model, "api_key": "os.environ/NONE"})
    settings = Settings(cache_dir=workdir / "cache", data_dir=workdir / "data", models=[entry], default_model="priced")
    pipeline = build_pipeline(settings)
    calls = prompt = completion = 0
    try:
        for seed in range(articles):
            generated = article_of_words(seed, words)
            request = ExtractionRequest.model_validate({"article": {"title": generated.title, "text": generated.text}})
            _, _, job, _, chunks = await pipeline.chunked(request)
            mode = pipeline.client.mode_for(entry)
            for chunk in chunks:
                messages = chunk_messages(job, chunk)
                body = batch_line(entry, mode, messages, dict(job.prompt.spec.params))["body"]
                schema = body.get("response_format", {}).get("json_schema")
                calls += 1
                prompt += count_messages(messages) + (count_text(json.dumps(schema)) if schema else 0)
                completion += count_text(json.dumps({"claims": claims_for(messages)}, ensure_ascii=False))
    finally:
        await pipeline.close()
    return {"articles": articles, "chunk_calls": calls, "prompt_tokens": prompt, "completion_tokens": completion}


def priced(model: str, tokens: dict[str, int]) -> dict[str, Any]:
    """Return the job's cost realtime and in batch mode (None where the map has no price)."""
    litellm = configure_litellm()
    realtime_prompt, realtime_completion = litellm.cost_per_token(model=model, prompt_tokens=1, completion_tokens=1)
    entry = ModelEntry(model_name="priced", litellm_params={"model": model})
    batch = batch_prices(entry)
    realtime = tokens["prompt_tokens"] * realtime_prompt + tokens["completion_tokens"] * realtime_completion
    in_batch = None if batch is None else tokens["prompt_tokens"] * batch[0] + tokens["completion_tokens"] * batch[1]
    return {
        "model": model, **tokens, "realtime_usd": round(realtime, 4),
        "batch_usd": None if in_batch is None else round(in_batch, 4),
        "batch_over_realtime": None if in_batch is None else round(in_batch / realtime, 3),
        "prices_per_million": {
            "realtime": [round(realtime_prompt * 1e6, 4), round(realtime_completion * 1e6, 4)],
            "batch": None if batch is None else [round(batch[0] * 1e6, 4), round(batch[1] * 1e6, 4)],
        },
    }  # fmt: skip


def table_row(figures: dict[str, Any]) -> str:
    """Return the markdown row of the figures."""
    batch = "unknown (no batch price)" if figures["batch_usd"] is None else f"${figures['batch_usd']:.2f}"
    ratio = "" if figures["batch_over_realtime"] is None else f" ({figures['batch_over_realtime']:.2f}×)"
    return (
        f"| cost of a {figures['articles']:,}-article job, {figures['model']} | {figures['chunk_calls']:,} chunk "
        f"calls, {figures['prompt_tokens']:,} prompt + {figures['completion_tokens']:,} completion tokens | "
        f"realtime ${figures['realtime_usd']:.2f}; batch mode {batch}{ratio} |"
    )


def main() -> None:
    """Count, price, print the row and write ``benchmarks/results/batch-cost.{json,md}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--words", type=int, default=1000, help="words an article, about")
    parser.add_argument("--model", default="openai/gpt-4o-mini", help="a model in litellm's price map")
    parser.add_argument("--out", type=Path, default=RESULTS / "batch-cost")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="claims-cost-") as folder:
        tokens = asyncio.run(job_tokens(args.model, args.articles, args.words, Path(folder)))
    figures = priced(args.model, tokens) | {"words_an_article": args.words}
    row = table_row(figures)
    args.out.with_suffix(".json").write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    header = "| figure | what the service would send | cost |\n| --- | --- | --- |\n"
    args.out.with_suffix(".md").write_text(header + row + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=1))
    print(header + row)


if __name__ == "__main__":
    main()
