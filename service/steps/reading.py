"""An article's sentences, read by its format: prose by lines, a transcript by its speakers' turns."""

from __future__ import annotations

from schemas import Article
from service.steps.text import Sentence, segment_sentences
from service.steps.transcript import is_transcript, turn_paragraphs, without_stage_directions


def read_sentences(text: str, article: Article) -> list[Sentence]:
    """Segment the working text into sentences: by lines for prose, by speakers' turns for a transcript."""
    if not is_transcript(text, article.format):
        return segment_sentences(text, article.language or "en")
    turns = turn_paragraphs(text, article.format)
    return without_stage_directions(segment_sentences(text, article.language or "en", turns))
