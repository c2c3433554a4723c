"""Sentence-aligned chunks under a token budget, each with read-only context before it.

Chunks are made of whole paragraphs where they fit and whole sentences where a paragraph alone is too
long; a sentence is never split. Boundaries are content-defined: a chunk may close after a paragraph whose
own text hashes to an "anchor" once the chunk is three-quarters full, or must close when the next paragraph would
overflow the budget. Since both rules look only at nearby text, an edit re-shapes the chunk it falls in
(and at most the chunks up to the next anchor); every chunk beyond renders the same prompt as before and
hits the cache.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby

from service.steps.text import Sentence

CHARS_PER_TOKEN = 4
ANCHOR_MODULUS = 2
MIN_FILL = 0.75
DEFAULT_SPLIT_CONTEXT = 3


@dataclass(frozen=True, slots=True)
class Chunk:
    """Sentences the model extracts from, plus the sentences before them as read-only context."""

    index: int
    sentences: tuple[Sentence, ...]
    context: tuple[Sentence, ...]

    @property
    def start(self) -> int:
        """Return the working-text offset where the chunk begins."""
        return self.sentences[0].start

    @property
    def end(self) -> int:
        """Return the working-text offset where the chunk ends."""
        return self.sentences[-1].end


def estimate_tokens(text: str) -> int:
    """Estimate tokens cheaply (about four characters a token for English prose)."""
    return max(1, -(-len(text) // CHARS_PER_TOKEN))


@dataclass(slots=True)
class _Run:
    """Sentences gathered so far, with their token estimate kept as a running total (never re-summed)."""

    sentences: list[Sentence] = field(default_factory=list)
    tokens: int = 0

    def add(self, sentences: Sequence[Sentence], tokens: int) -> None:
        """Append sentences whose estimate is ``tokens``."""
        self.sentences.extend(sentences)
        self.tokens += tokens


def _split_long_paragraph(paragraph: list[Sentence], budget: int) -> list[_Run]:
    """Cut a paragraph into runs of whole sentences, each within the budget where possible."""
    runs = [_Run()]
    for sentence in paragraph:
        tokens = estimate_tokens(sentence.text)
        if runs[-1].sentences and runs[-1].tokens + tokens > budget:
            runs.append(_Run())
        runs[-1].add([sentence], tokens)
    return runs


def _units(sentences: Sequence[Sentence], budget: int) -> list[_Run]:
    """Group sentences into paragraphs, splitting any paragraph longer than the budget."""
    units: list[_Run] = []
    for _, paragraph in groupby(sentences, key=lambda sentence: sentence.paragraph):
        units.extend(_split_long_paragraph(list(paragraph), budget))
    return units


def _is_anchor(unit: _Run) -> bool:
    """Say whether a unit's own text makes it a place where a chunk may close."""
    return zlib.crc32(unit.sentences[-1].text.encode("utf-8")) % ANCHOR_MODULUS == 0


def _group_units(units: list[_Run], budget: int) -> list[_Run]:
    """Pack units into chunk bodies by the overflow and anchor rules, in time linear in the sentences."""
    bodies: list[_Run] = []
    current = _Run()
    for unit in units:
        if current.sentences and current.tokens + unit.tokens > budget:
            bodies.append(current)
            current = _Run()
        current.add(unit.sentences, unit.tokens)
        if current.tokens >= budget * MIN_FILL and _is_anchor(unit):
            bodies.append(current)
            current = _Run()
    if current.sentences:
        bodies.append(current)
    return _fold_in_short_tail(bodies, budget)


def _fold_in_short_tail(bodies: list[_Run], budget: int) -> list[_Run]:
    """Join a last chunk too short to be worth its own call (a sign-off line) to the one before, if it fits."""
    if (
        len(bodies) > 1
        and bodies[-1].tokens < budget * (1 - MIN_FILL)
        and bodies[-2].tokens + bodies[-1].tokens <= budget
    ):
        bodies[-2].add(bodies[-1].sentences, bodies[-1].tokens)
        return bodies[:-1]
    return bodies


def chunk_sentences(sentences: Sequence[Sentence], budget_tokens: int, context_sentences: int) -> list[Chunk]:
    """Chunk whole sentences under ``budget_tokens``, each chunk with up to ``context_sentences`` before it."""
    position = {sentence.id: index for index, sentence in enumerate(sentences)}
    chunks = []
    for index, body in enumerate(_group_units(_units(sentences, budget_tokens), budget_tokens), start=1):
        first = position[body.sentences[0].id]
        context = tuple(sentences[max(0, first - context_sentences) : first])
        chunks.append(Chunk(index=index, sentences=tuple(body.sentences), context=context))
    return chunks


def split_chunk(chunk: Chunk) -> tuple[Chunk, Chunk]:
    """Halve a chunk of two or more sentences; the second half takes the end of the first as its context."""
    middle = len(chunk.sentences) // 2
    first, second = chunk.sentences[:middle], chunk.sentences[middle:]
    context_size = len(chunk.context) or min(len(first), DEFAULT_SPLIT_CONTEXT)
    return (
        Chunk(index=chunk.index, sentences=first, context=chunk.context),
        Chunk(index=chunk.index, sentences=second, context=(*chunk.context, *first)[-context_size:]),
    )
