"""Transcripts (debates, speeches, interviews): speakers' turns, stage directions, claimants.

A transcript's lines read ``SPEAKER: words``; a line without a label goes on with the turn before it.
The words of each turn are segmented on their own, each sentence carries its speaker, and the speaker
becomes the claimant of claims made in their own voice. Stage directions such as ``(APPLAUSE)`` or
``[CROSSTALK]`` are not speech and yield nothing.

With ``format: auto`` an article is read as a transcript when at least half of its non-blank lines (and at
least two) open with an upper-case label such as ``TRUMP:``, ``LESTER HOLT:`` or ``Q:``; ``format:
transcript`` also accepts mixed-case labels (``Trump:``). A label may stand alone on its line, the words
on the lines below it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Literal

from service.steps.grounding import GroundedClaim
from service.steps.speakers import ANY_LABEL, UPPER_LABEL
from service.steps.text import Paragraph, Sentence, line_spans

ArticleFormat = Literal["auto", "prose", "transcript", "html"]  # html is read as prose once its text is out

_STAGE_DIRECTION = re.compile(r"^[(\[][^()\[\]]*[)\]][.!]?$")
MIN_LABELLED_SHARE = 0.5


def looks_like_transcript(text: str) -> bool:
    """Say whether most lines open with an upper-case speaker label."""
    lines = [text[start:end].lstrip() for start, end in line_spans(text)]
    labelled = sum(1 for line in lines if UPPER_LABEL.match(line))
    return labelled >= 2 and labelled >= MIN_LABELLED_SHARE * len(lines)


def is_transcript(text: str, article_format: ArticleFormat) -> bool:
    """Resolve the article's format: as declared, or detected for ``auto``."""
    if article_format == "auto":
        return looks_like_transcript(text)
    return article_format == "transcript"


def turn_paragraphs(text: str, article_format: ArticleFormat = "transcript") -> list[Paragraph]:
    """Return each line's words (label left out) as a paragraph of its speaker; unlabelled lines continue.

    Labels are those that made the article a transcript: upper-case ones when it was detected (``auto``),
    so that "And here's the thing: …" goes on with the turn; any case when it was declared. A label alone
    on its line names the speaker of the lines that follow.
    """
    labels = UPPER_LABEL if article_format == "auto" else ANY_LABEL
    paragraphs: list[Paragraph] = []
    speaker: str | None = None
    for start, end in line_spans(text):
        indent = len(text[start:end]) - len(text[start:end].lstrip())
        label = labels.match(text, start + indent, end)
        if label is not None:
            speaker = label.group("label").strip()
            start = label.end()
        if text[start:end].strip():
            paragraphs.append(Paragraph(start, end, speaker))
    return paragraphs


def is_stage_direction(sentence: str) -> bool:
    """Say whether a sentence is only a stage direction such as ``(APPLAUSE)``."""
    return bool(_STAGE_DIRECTION.match(sentence.strip()))


def without_stage_directions(sentences: Sequence[Sentence]) -> list[Sentence]:
    """Drop stage directions and renumber the remaining sentences S1…Sn."""
    spoken = [sentence for sentence in sentences if not is_stage_direction(sentence.text)]
    return [dataclasses.replace(sentence, id=number) for number, sentence in enumerate(spoken, start=1)]


def attribute_to_speakers(claims: Sequence[GroundedClaim], sentences: Sequence[Sentence]) -> list[GroundedClaim]:
    """Make the speaker the claimant of every claim stated in their own voice (no claimant, or the author's)."""
    speakers = {sentence.id: sentence.speaker for sentence in sentences}
    attributed = []
    for grounded in claims:
        speaker = speakers.get(grounded.sentence_ids[0])
        claim = grounded.claim
        if speaker is not None and (claim.claimant is None or claim.attribution == "author"):
            claim = claim.model_copy(update={"claimant": speaker, "attribution": "quoted"})
        attributed.append(dataclasses.replace(grounded, claim=claim))
    return attributed
