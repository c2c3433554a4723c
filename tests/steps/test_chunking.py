"""Tests of ``service/steps/chunking.py``: whole sentences under a budget, read-only context, content-defined edges."""

from __future__ import annotations

import random

import pytest

from service.steps.chunking import Chunk, chunk_sentences, estimate_tokens
from service.steps.text import Sentence, normalize_text, segment_sentences

BUDGET_TOKENS = 300
CONTEXT_SENTENCES = 2
EDITED_PARAGRAPH = 40
PARAGRAPHS = 120
WORDS = (
    "council", "budget", "school", "river", "police", "mayor", "housing", "tax", "road", "hospital",
    "union", "court", "vote", "park", "bridge", "water", "energy", "tram", "library", "farm",
)  # fmt: skip


def synthetic_paragraph(number: int, addition: str = "") -> str:
    """Return a deterministic paragraph of one or two short news-like sentences."""
    rng = random.Random(number)  # noqa: S311 -- seeded text for a test, not cryptography
    sentences = []
    for index in range(1 + number % 2):
        words = " ".join(rng.choice(WORDS) for _ in range(4 + rng.randrange(8)))
        sentences.append(f"Report {number}.{index} says the {words} rose {number * 3 + index} percent.")
    return " ".join([*sentences, addition]).strip()


def synthetic_article(edits: dict[int, str] | None = None) -> str:
    """Return a synthetic article of PARAGRAPHS paragraphs, with text appended to those named in ``edits``."""
    edits = edits or {}
    return "\n\n".join(synthetic_paragraph(number, edits.get(number, "")) for number in range(PARAGRAPHS))


def sentences_of(text: str) -> list[Sentence]:
    """Return the sentences of ``text``."""
    return segment_sentences(normalize_text(text).text)


def tokens_of(sentences: tuple[Sentence, ...]) -> int:
    """Return the estimated tokens of some sentences, as the chunker counts them."""
    return sum(estimate_tokens(sentence.text) for sentence in sentences)


def chunk_view(chunk: Chunk) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return what a chunk's prompt is rendered from: its sentence texts and its context texts."""
    return tuple(s.text for s in chunk.sentences), tuple(s.text for s in chunk.context)


@pytest.fixture
def article_sentences() -> list[Sentence]:
    """The sentences of the synthetic 40-paragraph article."""
    return sentences_of(synthetic_article())


def test_chunks_keep_every_sentence_whole_and_in_order(article_sentences: list[Sentence]) -> None:
    """Concatenating the chunks' sentences gives back every sentence, once, in order."""
    chunks = chunk_sentences(article_sentences, BUDGET_TOKENS, CONTEXT_SENTENCES)

    assert len(chunks) > 5
    assert [s for chunk in chunks for s in chunk.sentences] == article_sentences
    assert [chunk.index for chunk in chunks] == list(range(1, len(chunks) + 1))


def test_sample_article_chunks_keep_every_sentence(sample_article: str) -> None:
    """The real sample article, under a small budget, loses and splits no sentence."""
    sentences = sentences_of(sample_article)

    chunks = chunk_sentences(sentences, 150, 3)

    assert len(chunks) > 1
    assert [s for chunk in chunks for s in chunk.sentences] == sentences


def test_chunks_stay_within_budget(article_sentences: list[Sentence]) -> None:
    """Every chunk's article text is at most the token budget."""
    chunks = chunk_sentences(article_sentences, BUDGET_TOKENS, CONTEXT_SENTENCES)

    assert [tokens_of(c.sentences) for c in chunks if tokens_of(c.sentences) > BUDGET_TOKENS] == []


def test_a_sentence_over_budget_is_a_chunk_of_its_own() -> None:
    """A single sentence longer than the budget is kept whole, alone, and its neighbours stay within budget."""
    giant = "The council approved " + ", ".join(f"item {n}" for n in range(200)) + "."
    text = synthetic_article({5: giant})
    sentences = sentences_of(text)

    chunks = chunk_sentences(sentences, BUDGET_TOKENS, CONTEXT_SENTENCES)

    assert [s for chunk in chunks for s in chunk.sentences] == sentences
    oversized = [c for c in chunks if tokens_of(c.sentences) > BUDGET_TOKENS]
    assert [[s.text for s in c.sentences] for c in oversized] == [[giant]]


def test_context_is_the_sentences_right_before_each_chunk(article_sentences: list[Sentence]) -> None:
    """A chunk's context is the up-to-N sentences just before its first one; the first chunk has none."""
    chunks = chunk_sentences(article_sentences, BUDGET_TOKENS, CONTEXT_SENTENCES)

    assert chunks[0].context == ()
    for chunk in chunks:
        first = article_sentences.index(chunk.sentences[0])
        assert chunk.context == tuple(article_sentences[max(0, first - CONTEXT_SENTENCES) : first])
        assert {s.id for s in chunk.context}.isdisjoint({s.id for s in chunk.sentences})


def test_context_is_short_near_the_start_and_empty_when_zero_is_asked() -> None:
    """Context never reaches before the first sentence, and ``context_sentences=0`` gives no context."""
    sentences = sentences_of("One short line.\nTwo short line.\nThree short line.\n" + synthetic_article())

    with_context = chunk_sentences(sentences, 50, 5)
    without_context = chunk_sentences(sentences, 50, 0)

    assert len(with_context[1].context) == min(5, sentences.index(with_context[1].sentences[0]))
    assert [c.context for c in without_context] == [()] * len(without_context)


def test_editing_a_middle_paragraph_leaves_later_chunks_identical() -> None:
    """Growing one paragraph in the middle re-shapes only nearby chunks; chunks far after it are unchanged."""
    before = chunk_sentences(sentences_of(synthetic_article()), BUDGET_TOKENS, CONTEXT_SENTENCES)
    edit = {EDITED_PARAGRAPH: "The mayor added a long remark about potholes on every single road in town."}
    after = chunk_sentences(sentences_of(synthetic_article(edit)), BUDGET_TOKENS, CONTEXT_SENTENCES)

    far = EDITED_PARAGRAPH + 5
    tail_before = [chunk_view(c) for c in before if c.sentences[0].paragraph >= far]
    tail_after = [chunk_view(c) for c in after if c.sentences[0].paragraph >= far]
    assert len(tail_before) >= 5
    assert tail_after == tail_before
    assert [chunk_view(c) for c in after] != [chunk_view(c) for c in before]


def test_chunking_is_deterministic(article_sentences: list[Sentence]) -> None:
    """The same sentences always give the same chunks."""
    first = chunk_sentences(article_sentences, BUDGET_TOKENS, CONTEXT_SENTENCES)
    second = chunk_sentences(list(article_sentences), BUDGET_TOKENS, CONTEXT_SENTENCES)

    assert first == second


def test_no_sentences_make_no_chunks() -> None:
    """An empty sentence list gives an empty chunk list."""
    assert chunk_sentences([], BUDGET_TOKENS, CONTEXT_SENTENCES) == []


def test_chunk_start_and_end_span_its_sentences(article_sentences: list[Sentence]) -> None:
    """A chunk's start and end are its first sentence's start and its last sentence's end."""
    chunks = chunk_sentences(article_sentences, BUDGET_TOKENS, CONTEXT_SENTENCES)

    assert [(c.start, c.end) for c in chunks] == [(c.sentences[0].start, c.sentences[-1].end) for c in chunks]


@pytest.mark.parametrize(("text", "tokens"), [("", 1), ("abc", 1), ("abcd", 1), ("abcde", 2), ("x" * 400, 100)])
def test_estimate_tokens_counts_about_four_characters_a_token(text: str, tokens: int) -> None:
    """Token estimates round four characters a token up, and are at least one."""
    assert estimate_tokens(text) == tokens


def test_chunking_estimates_each_sentence_once_however_the_article_is_shaped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear work, counted not timed: 20,000 one-character lines cost one estimate of each sentence's text."""
    text = normalize_text("\n".join("x" for _ in range(20_000))).text
    sentences = segment_sentences(text)
    estimated: list[int] = []

    def counting_estimate(sentence_text: str) -> int:
        estimated.append(len(sentence_text))
        return estimate_tokens(sentence_text)

    monkeypatch.setattr("service.steps.chunking.estimate_tokens", counting_estimate)
    chunks = chunk_sentences(sentences, budget_tokens=1500, context_sentences=3)
    assert sum(len(chunk.sentences) for chunk in chunks) == len(sentences) == 20_000
    assert sum(estimated) == sum(len(sentence.text) for sentence in sentences)
