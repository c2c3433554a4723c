"""Tests of ``service/steps/grounding.py``: quotes pinned to exact spans of the original text, or dropped."""

from __future__ import annotations

import pytest

from schemas import ModelClaim, Notice
from service.steps.chunking import Chunk
from service.steps.grounding import GroundedClaim, Producer, ground_claim, ground_claims
from service.steps.text import NormalizedText, Sentence, normalize_text, segment_sentences

ARTICLE = (
    "Trump and Musk talk on X\n"
    "The stream began late, which Musk blamed on a “massive DDOS attack.”\n"
    "“Here’s what’s happening: crime all over the world is down,” Trump said. "
    "The FBI’s report indicates violent crime is down 15.2% — the largest drop in years.\n"
    "It was a long night."
)
PRODUCER = Producer(alias="gpt", model="openai/gpt-4o-mini")


class ChunkedArticle:
    """An article as the grounder sees it: original text, its normalisation and one chunk of it."""

    def __init__(self, original: str, chunk_sentence_ids: range, context_sentence_ids: range) -> None:
        self.original = original
        self.normalized: NormalizedText = normalize_text(original)
        sentences = segment_sentences(self.normalized.text)
        self.chunk = Chunk(
            index=2,
            sentences=tuple(sentences[i - 1] for i in chunk_sentence_ids),
            context=tuple(sentences[i - 1] for i in context_sentence_ids),
        )

    def ground(self, claim: ModelClaim) -> GroundedClaim | Notice:
        """Ground one claim in this article's chunk."""
        return ground_claim(claim, self.chunk, self.normalized, self.original, PRODUCER)


def model_claim(sentence_ids: list[int], quote: str, checkworthiness: float = 0.8) -> ModelClaim:
    """Return a model claim citing chunk-local ``sentence_ids`` with ``quote``."""
    return ModelClaim(
        sentence_ids=sentence_ids,
        quote=quote,
        text="Violent crime fell 15.2% according to the FBI.",
        type="quantity",
        claimant="FBI",
        attribution="reported",
        checkworthiness=checkworthiness,
    )


@pytest.fixture
def article() -> ChunkedArticle:
    """The test article with chunk S3–S5 (local S1–S3) and S1–S2 as its read-only context."""
    return ChunkedArticle(ARTICLE, chunk_sentence_ids=range(3, 6), context_sentence_ids=range(1, 3))


def test_exact_quote_is_grounded_at_its_original_span(article: ChunkedArticle) -> None:
    """A verbatim quote is kept with global sentence ids and ``original[start:end] == quote``."""
    quote = "violent crime is down 15.2%"
    claim = model_claim([2], quote)

    grounded = article.ground(claim)

    start = ARTICLE.index(quote)
    assert grounded == GroundedClaim(
        claim=claim, chunk=2, sentence_ids=(4,), start=start, end=start + len(quote), quote=quote, producer=PRODUCER
    )


@pytest.mark.parametrize(
    ("copied", "original"),
    [
        pytest.param(
            "\"Here's what's happening",
            "“Here’s what’s happening",
            id="straight-quotes",
        ),
        pytest.param("down 15.2% - the largest", "down 15.2% — the largest", id="hyphen-for-em-dash"),
        pytest.param("violent   crime is\ndown", "violent crime is down", id="extra-whitespace"),
        pytest.param("VIOLENT CRIME IS DOWN", "violent crime is down", id="case"),
        pytest.param('  crime all over the world is down,"  ', "crime all over the world is down,”", id="padded"),
    ],
)
def test_copying_noise_still_grounds_to_the_original_characters(
    article: ChunkedArticle, copied: str, original: str
) -> None:
    """Quote marks, dashes, white space and case may differ; the returned quote is the article's own text."""
    grounded = article.ground(model_claim([1, 2], copied))

    assert isinstance(grounded, GroundedClaim)
    assert grounded.quote == original
    assert ARTICLE[grounded.start : grounded.end] == original


def test_hallucinated_quote_is_dropped_with_a_warning(article: ChunkedArticle) -> None:
    """A quote that is not in the cited sentences becomes an ``ungrounded_claim_dropped`` warning."""
    notice = article.ground(model_claim([2], "violent crime is up 40%"))

    assert notice == Notice(
        chunk=2,
        code="ungrounded_claim_dropped",
        detail="quote 'violent crime is up 40%' is not in the cited sentences",
    )


def test_quote_in_an_uncited_chunk_sentence_is_not_grounded(article: ChunkedArticle) -> None:
    """The quote must be in the sentences the claim cites, not merely somewhere in the chunk."""
    notice = article.ground(model_claim([1], "violent crime is down 15.2%"))

    assert isinstance(notice, Notice)
    assert notice.code == "ungrounded_claim_dropped"


@pytest.mark.parametrize("sentence_ids", [[4], [0], [2, 4], [-1]])
def test_citing_a_sentence_outside_the_chunk_drops_the_claim(article: ChunkedArticle, sentence_ids: list[int]) -> None:
    """A cited id that is not a local sentence of the chunk gives ``claim_outside_chunk_dropped``."""
    notice = article.ground(model_claim(sentence_ids, "violent crime is down 15.2%"))

    assert isinstance(notice, Notice)
    assert (notice.chunk, notice.code) == (2, "claim_outside_chunk_dropped")
    assert "this chunk has S1-S3" in notice.detail


def test_quote_only_in_the_context_is_not_grounded(article: ChunkedArticle) -> None:
    """Context sentences are read-only: a quote found only there is dropped, whichever chunk sentence is cited."""
    quote = "massive DDOS attack"

    outcomes = [article.ground(model_claim(ids, quote)) for ids in ([1], [2], [3], [1, 2, 3])]

    assert [o.code for o in outcomes if isinstance(o, Notice)] == ["ungrounded_claim_dropped"] * 4


def test_quote_spanning_two_cited_sentences_is_grounded(article: ChunkedArticle) -> None:
    """A claim citing two sentences may quote across the boundary between them."""
    quote = "Trump said. The FBI’s report"

    grounded = article.ground(model_claim([2, 1], quote))

    assert isinstance(grounded, GroundedClaim)
    assert grounded.sentence_ids == (3, 4)
    assert (grounded.quote, ARTICLE[grounded.start : grounded.end]) == (quote, quote)


def test_quote_in_a_sentence_between_two_cited_ones_is_not_grounded(article: ChunkedArticle) -> None:
    """Citing S1 and S3 does not cover S2: a quote found only there, or reaching across it, is dropped."""
    outcomes = [
        article.ground(model_claim([1, 3], quote))
        for quote in ("violent crime is down 15.2%", "Trump said. The FBI’s report", "the largest drop in years")
    ]

    assert [o.code if isinstance(o, Notice) else o.quote for o in outcomes] == [
        "ungrounded_claim_dropped",
        "ungrounded_claim_dropped",
        "ungrounded_claim_dropped",
    ]
    in_s3 = article.ground(model_claim([1, 3], "It was a long night."))
    assert isinstance(in_s3, GroundedClaim)
    assert in_s3.sentence_ids == (3, 5)


def test_a_speaker_label_copied_into_the_quote_is_left_out() -> None:
    """A model that copies a transcript line's ``SPEAKER:`` label into its quote is grounded on the words alone."""
    original = "Trump: We added 2,000 jobs in 2023.\nClinton: Wages rose 4% in 2015.\n"
    normalized = normalize_text(original)
    sentences = [
        Sentence(id=1, start=7, end=35, text="We added 2,000 jobs in 2023.", paragraph=0, speaker="Trump"),
        Sentence(id=2, start=45, end=67, text="Wages rose 4% in 2015.", paragraph=1, speaker="Clinton"),
    ]
    chunk = Chunk(index=1, sentences=tuple(sentences), context=())

    grounded = ground_claim(model_claim([1], "TRUMP: We added 2,000 jobs"), chunk, normalized, original, PRODUCER)
    wrong_speaker = ground_claim(model_claim([2], "Trump: Wages rose 4%"), chunk, normalized, original, PRODUCER)

    assert isinstance(grounded, GroundedClaim)
    assert grounded.quote == original[grounded.start : grounded.end] == "We added 2,000 jobs"
    assert isinstance(wrong_speaker, Notice)


def test_offsets_are_in_the_original_text_after_crlf_and_combining_accents() -> None:
    """When normalisation shortened the text before the quote, offsets still index the original."""
    original = "Cafe\u0301 owners\r\nThe cafe\u0301 said “crime is down 15.2%” on Monday.\r\nEnd\x00 of story."
    article = ChunkedArticle(original, chunk_sentence_ids=range(2, 4), context_sentence_ids=range(1, 2))

    grounded = article.ground(model_claim([1], 'café said "crime is down 15.2%"'))

    assert isinstance(grounded, GroundedClaim)
    assert grounded.quote == "cafe\u0301 said “crime is down 15.2%”"
    assert original[grounded.start : grounded.end] == grounded.quote
    assert (grounded.start, grounded.end) == (18, 18 + len(grounded.quote))
    assert article.normalized.text.index("café said") == 16


def test_quote_with_a_control_character_inside_keeps_the_original_characters() -> None:
    """A control character removed by normalisation inside the quote is part of the returned original span."""
    original = "Intro.\nThe budget\x07 rose 3.2 billion dollars."
    article = ChunkedArticle(original, chunk_sentence_ids=range(2, 3), context_sentence_ids=range(1, 2))

    grounded = article.ground(model_claim([1], "budget rose 3.2 billion"))

    assert isinstance(grounded, GroundedClaim)
    assert grounded.quote == "budget\x07 rose 3.2 billion"
    assert original[grounded.start : grounded.end] == grounded.quote


def test_ground_claims_keeps_grounded_and_warns_for_each_dropped(article: ChunkedArticle) -> None:
    """``ground_claims`` returns the grounded claims in reply order and one warning per dropped claim."""
    claims = [
        model_claim([2], "violent crime is down 15.2%"),
        model_claim([9], "violent crime is down 15.2%"),
        model_claim([1], "crime all over the world is down"),
        model_claim([3], "a short night"),
    ]

    kept, warnings = ground_claims(claims, article.chunk, article.normalized, article.original, PRODUCER)

    assert [g.quote for g in kept] == ["violent crime is down 15.2%", "crime all over the world is down"]
    assert [w.code for w in warnings] == ["claim_outside_chunk_dropped", "ungrounded_claim_dropped"]


def test_grounding_the_sample_article_round_trips_every_sentence(sample_article: str) -> None:
    """Quoting any whole sentence of the real article grounds to exactly that sentence's original text."""
    article = ChunkedArticle(sample_article, chunk_sentence_ids=range(1, 38), context_sentence_ids=range(0))

    for local_id, sentence in enumerate(article.chunk.sentences, start=1):
        grounded = article.ground(model_claim([local_id], sentence.text))
        assert isinstance(grounded, GroundedClaim), sentence.text
        assert grounded.quote == sample_article[grounded.start : grounded.end] == sentence.text
