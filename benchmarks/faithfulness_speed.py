"""What the faithfulness gate costs a chunk, in microseconds, on one core (no HTTP, no model, no cache).

The chunks are the service's own (``normalize_text``, ``read_sentences``, ``chunk_sentences`` with the
default settings) of fresh generated articles; each gets the claims the fake provider would give it (a
``quantity`` claim for each sentence with a figure, a ``quoted`` one with a claimant for each quotation),
grounded as the pipeline grounds them. The gate is ``chunk_support`` (read what the model was shown)
plus ``check_faithfulness`` (each claim's names and numbers against it):

* first reading: every text of the chunk is new to the process (the memoised readings are dropped first),
  as for a chunk never seen before;
* read again: the same chunk once more, its support remembered (as for a chunk asked again past the cache);
* reworded: the same claims with their texts reworded as a hosted model writes them ("Officials said that
  …", a bracket for context), so the check that a claim says what its quote says reads each one (a claim
  that copies its quote needs no reading); first reading;
* grounding beside it, for scale: ``ground_claims`` of the same claims.

Times are this thread's CPU time (``time.thread_time``), medians over the chunks, so other work on a shared
machine does not inflate them. Run: ``python -m benchmarks.faithfulness_speed`` (prints the figure as JSON).
"""

from __future__ import annotations

import json
import sys
import time
from statistics import median
from typing import Any

from benchmarks.articles import article_of_words
from benchmarks.fake_provider import claims_for
from schemas import Article, ModelClaim
from service.prompts.sentence_lines import sentence_line
from service.settings import Settings
from service.steps import faithfulness
from service.steps.chunking import Chunk, chunk_sentences
from service.steps.faithfulness import Support, check_faithfulness
from service.steps.grounding import GroundedClaim, Producer, ground_claims
from service.steps.reading import read_sentences
from service.steps.text import NormalizedText, normalize_text

PRODUCER = Producer(alias="default", model="openai/fake")


def chunk_support(chunk: Chunk, title: str | None) -> Support:
    """Return what the model was shown for a chunk, with the service's own function where it has one."""
    own = getattr(faithfulness, "chunk_support", None)  # revisions before the gate was memoised lack it
    if own is not None:
        return own(chunk, title)  # type: ignore[no-any-return]
    shown = [*chunk.context, *chunk.sentences]
    speakers = {sentence.speaker for sentence in shown if sentence.speaker}
    return Support.of([*(sentence.text for sentence in shown), *speakers, title or ""])


def _forget() -> None:
    """Drop what the gate remembers of texts already read (nothing, in revisions that remember nothing)."""
    forget = getattr(faithfulness, "forget", None)
    if forget is not None:
        forget()


def _claims(chunk: Chunk) -> list[ModelClaim]:
    """Return the fake provider's claims for a chunk, validated as the pipeline validates a reply."""
    lines = "\n".join(sentence_line(number, s.text) for number, s in enumerate(chunk.sentences, start=1))
    return [ModelClaim.model_validate(claim) for claim in claims_for([{"role": "user", "content": lines}])]


def _chunks(seed: int, words: int) -> list[tuple[Chunk, NormalizedText, str, str, list[ModelClaim]]]:
    """Return the chunks of a fresh article, each with its text, title and fake claims."""
    article = article_of_words(seed, words)
    settings = Settings()
    normalized = normalize_text(article.text)
    sentences = read_sentences(normalized.text, Article(text=article.text, title=article.title))
    chunks = chunk_sentences(sentences, settings.chunk_tokens, settings.context_sentences)
    return [(chunk, normalized, article.text, article.title, _claims(chunk)) for chunk in chunks]


def _gate(chunk: Chunk, title: str, grounded: list[GroundedClaim]) -> float:
    """Return the CPU seconds the gate takes for one chunk (this thread's: other work on the machine aside)."""
    started = time.thread_time()
    check_faithfulness(grounded, chunk_support(chunk, title), "drop", chunk.index)
    return time.thread_time() - started


def _reworded(claims: list[ModelClaim]) -> list[ModelClaim]:
    """Return the claims with their texts reworded as a hosted model writes them: a frame, a bracket."""
    return [
        claim.model_copy(
            update={"text": f"Officials said that [in the report] {claim.text[:1].lower()}{claim.text[1:]}"}
        )
        for claim in claims
    ]


def measure_faithfulness(articles: int = 20, words: int = 1_000) -> dict[str, Any]:
    """Return the gate's cost a chunk (first reading, read again, reworded), and grounding's beside it, in µs."""
    first, again, reworded, grounding, claims = [], [], [], [], []
    for seed in range(articles):
        for chunk, normalized, original, title, model_claims in _chunks(70_000 + seed, words):
            started = time.thread_time()
            grounded, _ = ground_claims(model_claims, chunk, normalized, original, PRODUCER)
            grounding.append(time.thread_time() - started)
            _forget()
            first.append(_gate(chunk, title, grounded))
            again.append(_gate(chunk, title, grounded))
            claims.append(len(grounded))
            rewritten, _ = ground_claims(_reworded(model_claims), chunk, normalized, original, PRODUCER)
            _forget()
            reworded.append(_gate(chunk, title, rewritten))
    return {
        "chunks": len(first),
        "claims_per_chunk": round(sum(claims) / len(claims), 1),
        "first_reading_us_per_chunk": round(median(first) * 1e6, 1),
        "first_reading_p95_us": round(sorted(first)[int(len(first) * 0.95)] * 1e6, 1),
        "read_again_us_per_chunk": round(median(again) * 1e6, 1),
        "reworded_us_per_chunk": round(median(reworded) * 1e6, 1),
        "grounding_us_per_chunk": round(median(grounding) * 1e6, 1),
    }


if __name__ == "__main__":
    print(json.dumps(measure_faithfulness(*(int(argument) for argument in sys.argv[1:2]))))
