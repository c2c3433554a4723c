"""Check-worthiness evaluation on CLEF-style transcripts: reading, the pipeline run, the ranking measures."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import Article
from service.evaluation.checkworthiness import (
    Transcript,
    evaluate_checkworthiness,
    parse_transcript,
    read_transcripts,
    transcript_article,
    transcript_request,
)
from service.evaluation.metrics import average_precision, precision_at, r_precision
from service.evaluation.types_attribution import (
    LabelledSentence,
    evaluate_types,
    labelled_request,
    read_labelled_sentences,
)
from service.offline.checkworthiness import CheckworthinessModel, shipped_model
from tests.conftest import DATA_DIR

FIXTURES = DATA_DIR / "clef-fixture"
LABELLED = Path(__file__).parents[1] / "labelled" / "types-attribution.yaml"
CLEF_2018 = Path(__file__).parents[3] / "shared" / "data" / "clef2018-checkworthiness"


@pytest.fixture(scope="module")
def transcripts() -> list[Transcript]:
    """The two small fixture transcripts (one .tsv, one .txt with CR LF line ends)."""
    return read_transcripts(FIXTURES)


def test_average_precision_of_a_known_ranking() -> None:
    """Positives ranked 1st and 3rd give AP (1/1 + 2/3) / 2."""
    assert average_precision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) == pytest.approx((1 + 2 / 3) / 2)


def test_ties_keep_document_order() -> None:
    """Equal scores rank in document order, so a tie is deterministic."""
    assert average_precision([0.5, 0.5], [0, 1]) == pytest.approx(0.5)
    assert average_precision([0.5, 0.5], [1, 0]) == pytest.approx(1.0)


def test_r_precision_and_precision_at_k() -> None:
    """R-precision looks at the top R (R positives); P@k at the top k, short lists counted against k."""
    scores, labels = [0.9, 0.8, 0.7, 0.0], [1, 0, 1, 0]
    assert r_precision(scores, labels) == pytest.approx(0.5)
    assert precision_at(scores, labels, 3) == pytest.approx(2 / 3)
    assert precision_at(scores, labels, 10) == pytest.approx(0.2)


def test_no_positive_gives_zero_measures() -> None:
    """A transcript without a positive scores 0 rather than dividing by zero."""
    assert average_precision([0.3], [0]) == 0.0
    assert r_precision([0.3], [0]) == 0.0


def test_fixture_transcripts_are_read_with_carriage_returns_stripped(transcripts: list[Transcript]) -> None:
    """Both files are read, sorted by name, with their labels and without trailing carriage returns."""
    assert [t.name for t in transcripts] == ["debate-a", "debate-b"]
    assert [len(t.lines) for t in transcripts] == [15, 10]
    assert [sum(line.label for line in t.lines) for t in transcripts] == [4, 2]
    assert all(not line.text.endswith("\r") for t in transcripts for line in t.lines)


def test_malformed_line_is_refused_with_its_number() -> None:
    """A line without four tab-separated cells is reported with its line number."""
    with pytest.raises(ValueError, match="bad line 2"):
        parse_transcript("bad", "1\tA\tFine.\t0\n2\tA\tno label\n")


def test_article_has_one_speaker_line_per_row_and_spans_index_the_sentences(transcripts: list[Transcript]) -> None:
    """Each row becomes ``SPEAKER: sentence``; each span is exactly the sentence in the article."""
    transcript = transcripts[0]
    text, spans = transcript_article(transcript)
    assert text.splitlines()[0] == "MODERATOR: Good evening and welcome to the debate."
    assert [text[start:end] for start, end in spans] == [line.text for line in transcript.lines]


def test_request_declares_a_transcript_when_the_contract_has_formats(transcripts: list[Transcript]) -> None:
    """The request carries the transcript's name as id, the cache off, and ``format: transcript`` if known."""
    request = transcript_request(transcripts[0], "A: Hello there.")
    assert (request.article.id, request.options.cache) == ("debate-a", False)
    if "format" in Article.model_fields:
        assert request.article.model_dump()["format"] == "transcript"


async def test_pipeline_ranks_the_fixture_debates(transcripts: list[Transcript]) -> None:
    """Through the real pipeline the fixtures' check-worthy lines rank first and claims name the speakers."""
    report = await evaluate_checkworthiness(transcripts)
    first, second = report.transcripts
    assert (first.lines, first.positives, second.lines, second.positives) == (15, 4, 10, 2)
    assert report.mean("average_precision") >= 0.9
    assert first.precision == {10: 0.4, 20: 0.2, 50: 0.08}
    assert not first.in_sample
    assert first.claims >= 4
    assert report.claimant_accuracy >= 0.8


async def test_a_transcript_the_model_was_trained_on_is_flagged_in_sample(transcripts: list[Transcript]) -> None:
    """Coefficients listing a transcript's digest make its figures in-sample."""
    model = CheckworthinessModel(
        weights=shipped_model().weights,
        slope=shipped_model().slope,
        offset=shipped_model().offset,
        trained_on=(transcripts[1].digest,),
    )
    report = await evaluate_checkworthiness(transcripts, model)
    assert [score.in_sample for score in report.transcripts] == [False, True]


def test_labelled_sample_has_sixty_sentences_of_news_and_transcripts() -> None:
    """The labelled sample validates and has at least 60 sentences from both news and transcripts."""
    items = read_labelled_sentences(LABELLED)
    assert len(items) >= 60
    assert {item.origin for item in items} == {"news", "transcript"}
    assert all(item.speaker for item in items if item.origin == "transcript")
    assert len({item.type for item in items}) == 6


def test_labelled_transcript_line_is_sent_with_its_speaker() -> None:
    """A labelled transcript line is sent as ``SPEAKER: text``."""
    item = LabelledSentence(text="Taxes rose 5%.", type="quantity", attribution="quoted", speaker="LEE")
    assert labelled_request(item).article.text == "LEE: Taxes rose 5%."


async def test_types_report_counts_coverage_and_accuracies() -> None:
    """Type, attribution and claimant accuracy are counted over the sentences that yield a claim."""
    items = [
        LabelledSentence(text="Unemployment fell to 3.9% in March.", type="quantity", attribution="author"),
        LabelledSentence(
            text="Officials said the fire destroyed 200 homes.",
            type="quantity",
            attribution="reported",
            claimant="Officials",
        ),
        LabelledSentence(text="Is it true?", type="other", attribution="author"),
    ]
    report = await evaluate_types(items)
    assert report.summary() == {
        "sentences": 3,
        "claims_found": 2,
        "coverage": pytest.approx(2 / 3, abs=1e-4),
        "type_accuracy": 1.0,
        "attribution_accuracy": 1.0,
        "claimant_accuracy": 1.0,
        "claimants_labelled": 1,
    }


@pytest.mark.skipif(not CLEF_2018.is_dir(), reason="the CLEF-2018 debates are in ../shared, beside the repository")
async def test_clef_2018_debates_are_recognised_as_in_sample_and_ranked() -> None:
    """The shipped model was trained on the CLEF-2018 debates (flagged in-sample); MAP stays at its 0.116.

    The 2019-only model reached 0.141 here; the model of all 66 debates ranks these three worse (README) and
    the 2020 debates and ClaimBuster's sentences better.
    """
    report = await evaluate_checkworthiness(read_transcripts(CLEF_2018))
    assert len(report.transcripts) == 3
    assert all(score.in_sample for score in report.transcripts)
    assert report.mean("average_precision") >= 0.11  # random ranking: about 0.025
    assert report.claimant_accuracy >= 0.95
