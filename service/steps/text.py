"""Normalisation and sentence segmentation, keeping a map back to the original character offsets.

The article is normalised (Unicode NFC, control characters out, CR LF folded to LF) into a working text
that the model sees; every character of it remembers where it came from, so a span found in the working
text maps back to an exact ``[start, end)`` of what the client sent. Sentences come from ``sentencex``
(a maintained, rule-based segmenter that knows abbreviations such as "U.S.", "Gov." and "Jan." and
decimals such as "15.2%", and the sentence ends of CJK, Arabic, Urdu and Devanagari; mended by
``service.steps.scripts``, which also cuts the scripts sentencex has no rules for: Thai, Lao, Khmer,
Myanmar), run one paragraph at a time: in news copy a line break ends a paragraph, and a headline line
has no full stop to end it.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import sentencex

from service.steps.scripts import cut_after_acronyms, mended, rule_spans

PARAGRAPHS_REMEMBERED = 512  # paragraphs whose sentence spans are memoised: ~0.4 MB at most
REMEMBERED_PARAGRAPH_CHARS = 1_500  # longer ones (rare in news copy, and in the worst shapes) are segmented each time
_KEPT_CONTROLS = frozenset("\n\t")
_CONTROLS_BUT_TAB_AND_LF = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # Unicode category Cc, CR included


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """Working text plus, per working character, the original ``[start, end)`` it came from."""

    text: str
    original_starts: Sequence[int]
    original_ends: Sequence[int]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a non-empty working-text span to its span in the original text."""
        return self.original_starts[start], self.original_ends[end - 1]


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A run of working text segmented on its own; in a transcript, one speaker's words."""

    start: int
    end: int
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of the working text: global 1-based id, working offsets, paragraph index, speaker if any."""

    id: int
    start: int
    end: int
    text: str
    paragraph: int
    speaker: str | None = None


def _kept_characters(raw: str) -> list[tuple[int, str]]:
    """Return ``(index, char)`` for each character kept: control characters out, CR LF and lone CR as LF."""
    kept = []
    for index, char in enumerate(raw):
        if char == "\r":
            if raw[index + 1 : index + 2] != "\n":
                kept.append((index, "\n"))
        elif char in _KEPT_CONTROLS or unicodedata.category(char) != "Cc":
            kept.append((index, char))
    return kept


def _composes_with(cluster: str, char: str) -> bool:
    """Say whether NFC would join ``char`` to the cluster before it (combining marks, Hangul jamo …)."""
    if unicodedata.combining(char):
        return True
    return unicodedata.normalize("NFC", cluster + char) != unicodedata.normalize("NFC", cluster) + char


def _clusters(kept: list[tuple[int, str]]) -> list[tuple[int, int, str]]:
    """Group kept characters into runs NFC treats as one unit: ``(first index, last index + 1, text)``."""
    clusters: list[tuple[int, int, str]] = []
    for index, char in kept:
        if clusters and _composes_with(clusters[-1][2], char):
            first, _, text = clusters[-1]
            clusters[-1] = (first, index + 1, text + char)
        else:
            clusters.append((index, index + 1, char))
    return clusters


def normalize_text(raw: str) -> NormalizedText:
    """Normalise ``raw`` to NFC without control characters, keeping offsets back into ``raw``."""
    if not _CONTROLS_BUT_TAB_AND_LF.search(raw) and unicodedata.is_normalized("NFC", raw):
        return NormalizedText(raw, range(len(raw)), range(1, len(raw) + 1))  # ranges: no memory per character
    kept = _kept_characters(raw)
    pieces: list[str] = []
    starts = array("I")  # 4 bytes a character, not a Python int's 28 and a pointer
    ends = array("I")
    for first, after, text in _clusters(kept):
        normalized = unicodedata.normalize("NFC", text)
        pieces.append(normalized)
        starts.extend([first] * len(normalized))
        ends.extend([after] * len(normalized))
    return NormalizedText("".join(pieces), starts, ends)


def line_spans(text: str) -> list[tuple[int, int]]:
    """Return the [start, end) of every non-blank line of ``text``."""
    spans = []
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            spans.append((offset, offset + len(line)))
        offset += len(line) + 1
    return spans


def prose_paragraphs(text: str) -> list[Paragraph]:
    """Return the paragraphs of news copy: one per non-blank line."""
    return [Paragraph(start, end) for start, end in line_spans(text)]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` of ``text`` so that it neither starts nor ends with white space."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _segmenter_language(language: str) -> str:
    """Return the primary subtag of a BCP 47 tag, which is what the segmenter keys on."""
    return language.split("-", 1)[0].lower() or "en"


# "in May. Wages rose" and "in Dec. Prices fell": the segmenter takes a month for an abbreviation that
# never ends a sentence; a month followed by a capitalised word (not a day, "Dec. 5") ends one.
_MONTH_THEN_SENTENCE = re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.(?=\s+[A-Z])")


def _sentence_spans(language: str, text: str) -> tuple[tuple[int, int], ...]:
    """Return the trimmed, non-empty sentence spans of one paragraph, months ending sentences where due.

    Memoised for paragraphs of up to ``REMEMBERED_PARAGRAPH_CHARS`` (bounded, least recently used dropped
    first): a paragraph seen in an earlier request, a re-POSTed article's above all, is not segmented again.
    """
    if len(text) <= REMEMBERED_PARAGRAPH_CHARS:
        return _remembered_spans(language, text)
    return _segment_paragraph(language, text)


def _segment_paragraph(language: str, text: str) -> tuple[tuple[int, int], ...]:
    """Segment one paragraph by its script's rules, else by sentencex (mended, cut after acronyms); cut after months."""
    ruled = rule_spans(language, text)
    boundaries = (
        ruled if ruled is not None else cut_after_acronyms(text, mended(text, _sentencex_spans(language, text)))
    )
    spans = []
    for start, end in boundaries:
        cuts = [match.end() for match in _MONTH_THEN_SENTENCE.finditer(text, start, end)] if language == "en" else []
        for piece_start, piece_end in zip([start, *cuts], [*cuts, end], strict=True):
            trimmed = _trimmed(text, piece_start, piece_end)
            if trimmed[0] < trimmed[1]:
                spans.append(trimmed)
    return tuple(spans)


def _sentencex_spans(language: str, text: str) -> list[tuple[int, int]]:
    """Return sentencex's sentence spans of one paragraph."""
    return [
        (boundary["start_index"], boundary["end_index"])
        for boundary in sentencex.get_sentence_boundaries(language, text)
    ]


_remembered_spans = lru_cache(maxsize=PARAGRAPHS_REMEMBERED)(_segment_paragraph)


def segment_sentences(text: str, language: str = "en", paragraphs: Sequence[Paragraph] | None = None) -> list[Sentence]:
    """Split working text into sentences with exact offsets; ids run S1…Sn over the whole text.

    ``paragraphs`` default to the lines of ``text``; a transcript passes its speakers' turns instead.
    """
    sentences: list[Sentence] = []
    segmenter_language = _segmenter_language(language)
    for paragraph, span in enumerate(prose_paragraphs(text) if paragraphs is None else paragraphs):
        para_start = span.start
        paragraph_text = text[span.start : span.end]
        for start, end in _sentence_spans(segmenter_language, paragraph_text):
            sentences.append(
                Sentence(
                    id=len(sentences) + 1,
                    start=para_start + start,
                    end=para_start + end,
                    text=paragraph_text[start:end],
                    paragraph=paragraph,
                    speaker=span.speaker,
                )
            )
    return sentences
