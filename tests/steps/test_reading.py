"""Tests of ``service/steps/reading.py``: an article's sentences, read by its format."""

from __future__ import annotations

from schemas import Article
from service.steps.reading import read_sentences

PROSE = "Prices rose 3% in May. Wages rose 2%.\nThe council met on Tuesday."
TRANSCRIPT = "HOLT: Good evening.\nTRUMP: We are losing jobs. (APPLAUSE)\nCLINTON: Jobs rose 2% last year."


def test_prose_is_read_by_lines_and_sentences_without_speakers() -> None:
    """Prose gives sentences numbered S1…Sn across its lines, with paragraph indexes and no speaker."""
    sentences = read_sentences(PROSE, Article(text=PROSE))
    assert [(s.id, s.text, s.paragraph, s.speaker) for s in sentences] == [
        (1, "Prices rose 3% in May.", 0, None),
        (2, "Wages rose 2%.", 0, None),
        (3, "The council met on Tuesday.", 1, None),
    ]
    assert all(PROSE[s.start : s.end] == s.text for s in sentences)


def test_a_transcript_is_read_by_turns_without_labels_or_stage_directions() -> None:
    """A detected transcript gives each sentence its speaker, leaves labels and (APPLAUSE) out, and renumbers."""
    sentences = read_sentences(TRANSCRIPT, Article(text=TRANSCRIPT))
    assert [(s.id, s.text, s.speaker) for s in sentences] == [
        (1, "Good evening.", "HOLT"),
        (2, "We are losing jobs.", "TRUMP"),
        (3, "Jobs rose 2% last year.", "CLINTON"),
    ]


def test_a_declared_format_wins_over_what_the_text_looks_like() -> None:
    """``format: prose`` reads even a labelled text by lines, labels and all."""
    sentences = read_sentences(TRANSCRIPT, Article(text=TRANSCRIPT, format="prose"))
    assert sentences[0].text == "HOLT: Good evening."
    assert {s.speaker for s in sentences} == {None}
