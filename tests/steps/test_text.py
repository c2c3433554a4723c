"""Tests of ``service/steps/text.py``: normalisation with offsets back to the original, and sentence segmentation."""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any

import pytest

from service.steps import text as text_module
from service.steps.text import NormalizedText, Sentence, normalize_text, segment_sentences


def sentence_texts(text: str, language: str = "en") -> list[str]:
    """Return the texts of the sentences of ``text``."""
    return [sentence.text for sentence in segment_sentences(text, language)]


def original_span(normalized: NormalizedText, sentence: Sentence) -> tuple[int, int]:
    """Return a sentence's span in the original text."""
    return normalized.to_original(sentence.start, sentence.end)


def test_normalize_text_leaves_clean_text_and_offsets_alone() -> None:
    """Text already in NFC without control characters is kept as is, each character mapping to itself."""
    normalized = normalize_text("Crime fell 15.2%.\nIt did.")

    assert normalized.text == "Crime fell 15.2%.\nIt did."
    assert list(normalized.original_starts) == list(range(25))
    assert list(normalized.original_ends) == list(range(1, 26))


def test_normalize_text_composes_combining_marks_and_maps_to_the_whole_cluster() -> None:
    """A base letter plus combining accent becomes one NFC character whose span covers both originals."""
    raw = "cafe\u0301 open"

    normalized = normalize_text(raw)

    assert normalized.text == "café open"
    assert normalized.to_original(3, 4) == (3, 5)
    assert normalized.to_original(0, 4) == (0, 5)
    assert raw[slice(*normalized.to_original(5, 9))] == "open"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("Cafe\u0301 au lait, cre\u0300me bru\u0302le\u0301e.", id="latin-combining-accents"),
        pytest.param(unicodedata.normalize("NFD", "서울 시장이 말했다."), id="decomposed-hangul"),
    ],
)
def test_normalize_text_produces_nfc(raw: str) -> None:
    """The working text of control-free input is exactly its Unicode NFC form, as DESIGN §4 step 1 says."""
    assert normalize_text(raw).text == unicodedata.normalize("NFC", raw)


def test_normalize_text_removes_control_characters_but_keeps_newline_and_tab() -> None:
    """C0 control characters are dropped, newline and tab kept, and later offsets still point at the original."""
    raw = "A\x00B\x07C\tD\nE"

    normalized = normalize_text(raw)

    assert normalized.text == "ABC\tD\nE"
    assert list(normalized.original_starts) == [0, 2, 4, 5, 6, 7, 8]
    assert raw[slice(*normalized.to_original(2, 7))] == "C\tD\nE"


def test_normalize_text_folds_crlf_and_lone_cr_to_newline() -> None:
    """CR LF becomes one LF (mapped to the original LF) and a lone CR becomes LF."""
    raw = "one\r\ntwo\rthree"

    normalized = normalize_text(raw)

    assert normalized.text == "one\ntwo\nthree"
    assert normalized.to_original(3, 4) == (4, 5)
    assert normalized.to_original(7, 8) == (8, 9)
    assert raw[slice(*normalized.to_original(4, 13))] == "two\rthree"


def test_to_original_recovers_a_sentence_after_crlf_controls_and_accents() -> None:
    """A sentence found after normalisation changed the text before it maps back to its exact original span."""
    raw = "Cafe\u0301 news\r\n\x0bThe mayor said crime fell 15.2%.\r\nEnd."

    normalized = normalize_text(raw)
    sentences = segment_sentences(normalized.text)

    assert [s.text for s in sentences] == ["Café news", "The mayor said crime fell 15.2%.", "End."]
    assert [raw[slice(*original_span(normalized, s))] for s in sentences] == [
        "Cafe\u0301 news",
        "The mayor said crime fell 15.2%.",
        "End.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "The U.S. Senate met on Jan. 3. Gov. Ron DeSantis and Dr. Jane Smith spoke.",
            ["The U.S. Senate met on Jan. 3.", "Gov. Ron DeSantis and Dr. Jane Smith spoke."],
            id="abbreviations",
        ),
        pytest.param(
            "Officials in the U.S. said so. Others disagreed.",
            ["Officials in the U.S. said so.", "Others disagreed."],
            id="us-mid-sentence",
        ),
        pytest.param(
            "Violent crime is down 15.2% this year. The plan costs $3.2 billion. It passed.",
            ["Violent crime is down 15.2% this year.", "The plan costs $3.2 billion.", "It passed."],
            id="decimals-and-money",
        ),
        pytest.param(
            "He said, “We won the vote.” Then he left.",
            ["He said, “We won the vote.”", "Then he left."],
            id="curly-quoted-sentence",
        ),
        pytest.param(
            "“Crime is down,” Trump said. “And wait,” he added.",
            ["“Crime is down,” Trump said.", "“And wait,” he added."],
            id="quote-then-attribution",
        ),
        pytest.param(
            "First paragraph ends here.\n\nSecond paragraph starts here. It goes on.",
            ["First paragraph ends here.", "Second paragraph starts here.", "It goes on."],
            id="paragraph-break",
        ),
        pytest.param(
            "Prices rose 3% in May. Wages rose 2% in June. Rents peaked in Dec. Taxes did not.",
            ["Prices rose 3% in May.", "Wages rose 2% in June.", "Rents peaked in Dec.", "Taxes did not."],
            id="month-ends-a-sentence",
        ),
        pytest.param(
            "The vote is on Dec. 5 in Paris. Gen. Smith will attend.",
            ["The vote is on Dec. 5 in Paris.", "Gen. Smith will attend."],
            id="month-before-a-day",
        ),
    ],
)
def test_segment_sentences_splits_news_copy(text: str, expected: list[str]) -> None:
    """Sentences split at real ends, not at abbreviations, decimals, money or inside quotes."""
    assert sentence_texts(text) == expected


def test_segment_sentences_keeps_a_headline_without_full_stop_as_its_own_sentence() -> None:
    """A line break ends a paragraph, so a headline with no full stop is a sentence on its own."""
    text = "A potential role for Musk in a second Trump administration\nTrump largely monopolized the talk."

    sentences = segment_sentences(text)

    assert sentences == [
        Sentence(id=1, start=0, end=58, text="A potential role for Musk in a second Trump administration", paragraph=0),
        Sentence(id=2, start=59, end=94, text="Trump largely monopolized the talk.", paragraph=1),
    ]


def test_segment_sentences_numbers_ids_consecutively_across_paragraphs() -> None:
    """Ids run 1..n over the whole text, not per paragraph, and paragraphs are counted from 0."""
    text = "One. Two.\n\n\nThree! Four?\nFive"

    sentences = segment_sentences(text)

    assert [(s.id, s.paragraph, s.text) for s in sentences] == [
        (1, 0, "One."),
        (2, 0, "Two."),
        (3, 1, "Three!"),
        (4, 1, "Four?"),
        (5, 2, "Five"),
    ]


def test_segment_sentences_offsets_slice_to_the_sentence_without_surrounding_space() -> None:
    """``text[start:end]`` is each sentence, trimmed of the spaces and tabs around it."""
    text = "  \tLeading space. Trailing space.   \n   Indented line.  "

    sentences = segment_sentences(text)

    assert [text[s.start : s.end] for s in sentences] == ["Leading space.", "Trailing space.", "Indented line."]
    assert [s.text for s in sentences] == ["Leading space.", "Trailing space.", "Indented line."]


def test_segment_sentences_of_blank_text_is_empty() -> None:
    """Text of only white space has no sentences."""
    assert segment_sentences(" \n\n\t \n") == []


@pytest.mark.parametrize("language", ["en", "en-GB", "EN-us", "en-Latn-GB"])
def test_segment_sentences_accepts_bcp47_tags(language: str) -> None:
    """A regional or script-qualified tag segments like its primary language."""
    text = "Gov. Ron DeSantis spoke in the U.S. Senate. Crime fell 15.2% in Jan. last year."

    assert sentence_texts(text, language) == sentence_texts(text, "en")
    assert len(sentence_texts(text, language)) == 2


def test_sample_article_segments_into_sentences_that_round_trip(sample_article: str) -> None:
    """Every sentence of the sample article slices back out of the original text exactly, ids S1..Sn."""
    normalized = normalize_text(sample_article)
    sentences = segment_sentences(normalized.text)

    assert len(sentences) == 37
    assert [s.id for s in sentences] == list(range(1, len(sentences) + 1))
    for sentence in sentences:
        assert sample_article[slice(*original_span(normalized, sentence))] == sentence.text, f"S{sentence.id}"


def test_sample_article_headlines_and_abbreviations_are_segmented(sample_article: str) -> None:
    """The sample's subheadings are sentences of their own and "Gov." does not end a sentence."""
    texts = sentence_texts(normalize_text(sample_article).text)

    assert "A potential role for Musk in a second Trump administration" in texts
    assert "The contentious history between Trump and Musk" in texts
    assert texts[2] == (
        "The X platform faced similar technical difficulties and delays when Musk interviewed Florida "
        "Gov. Ron DeSantis on the site last year."
    )


def test_sample_article_with_crlf_line_ends_round_trips(sample_article: str) -> None:
    """With Windows line ends the same sentences are found and each still slices out of the raw text."""
    raw = sample_article.replace("\n", "\r\n")
    normalized = normalize_text(raw)
    sentences = segment_sentences(normalized.text)

    assert [s.text for s in sentences] == sentence_texts(sample_article)
    for sentence in sentences:
        assert raw[slice(*original_span(normalized, sentence))] == sentence.text, f"S{sentence.id}"


def test_a_paragraph_seen_before_is_segmented_once_and_a_long_one_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sentence spans are memoised per paragraph (a re-POSTed article is not segmented again), bounded by length."""
    segmented: list[str] = []
    boundaries = text_module.sentencex.get_sentence_boundaries

    def counting(language: str, text: str) -> Any:
        segmented.append(text)
        return boundaries(language, text)

    monkeypatch.setattr(text_module.sentencex, "get_sentence_boundaries", counting)
    day = uuid.uuid4().int % 28 + 1
    paragraph = f"Gov. Ron DeSantis spoke on Jan. {day}. He left early."
    long = "The count rose again. " * (text_module.REMEMBERED_PARAGRAPH_CHARS // 20)
    article = f"{paragraph}\n{long}"
    first = segment_sentences(article)
    assert segment_sentences(article) == first
    assert [s.text for s in first if s.paragraph == 0] == [f"Gov. Ron DeSantis spoke on Jan. {day}.", "He left early."]
    assert segmented.count(paragraph) == 1
    assert segmented.count(long) == 2
